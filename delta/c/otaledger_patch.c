/*
 * otaledger_patch.c: streaming applier of otaledger deltas (docs/delta.md).
 *
 * Portable C99: no malloc, no static mutable data, no recursion. All state
 * lives in the caller's work buffer, laid out as
 *
 *   [struct state | format 2 only: struct v2_tables (5,380 bytes) |
 *    literal probabilities (256 << lit_ctx_bits) x u16 | window (1 << window_log)]
 *
 * Format 1 decodes the command stream byte by byte (apply_commands pulls from
 * body_next); format 2 decodes the command integers and difference bytes
 * directly with their own models (apply_commands_v2) and pulls only the extra
 * bytes from the LZ77 decoder (lzr_next).
 *
 * The payload is decoded one body byte at a time: the command interpreter
 * (apply_commands) pulls bytes from body_next(), which either copies them from
 * the raw payload or runs the lzr decoder (LZ77 tokens coded with an adaptive
 * binary range coder). Errors inside the bit decoder are sticky (st->err) and
 * checked once per token, which keeps the hot path free of branches.
 */
#include "delta/c/otaledger_patch.h"

#include <string.h>

#define CHUNK 256u /* size of the input, old-image and output buffers */

/* ---------------------------------------------------------------- SHA-256 */

typedef struct sha256_ctx {
  uint32_t h[8];
  uint32_t w[64]; /* message schedule, kept here rather than on the stack */
  uint64_t total;
  uint8_t block[64];
  uint32_t fill;
} sha256_ctx;

static const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32u - (n))))

static void sha256_init(sha256_ctx* c) {
  static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
  memcpy(c->h, iv, sizeof iv);
  c->total = 0;
  c->fill = 0;
}

static void sha256_block(sha256_ctx* c, const uint8_t* p) {
  uint32_t a, b, cc, d, e, f, g, h, t1, t2;
  unsigned i;
  uint32_t* w = c->w;
  for (i = 0; i < 16; ++i)
    w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
           ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
  for (i = 16; i < 64; ++i) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
  e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
  for (i = 0; i < 64; ++i) {
    t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
    t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g, g = f, f = e, e = d + t1;
    d = cc, cc = b, b = a, a = t1 + t2;
  }
  c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
  c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

static void sha256_update(sha256_ctx* c, const uint8_t* p, size_t n) {
  c->total += n;
  while (n > 0) {
    size_t take = 64u - c->fill;
    if (take > n) take = n;
    memcpy(c->block + c->fill, p, take);
    c->fill += (uint32_t)take, p += take, n -= take;
    if (c->fill == 64u) {
      sha256_block(c, c->block);
      c->fill = 0;
    }
  }
}

/* Finishes the hash and compares it with `expected`; returns 1 when equal. */
static int sha256_final_equals(sha256_ctx* c, const uint8_t expected[32]) {
  uint64_t bits = c->total * 8u;
  unsigned i, diff = 0;
  c->block[c->fill++] = 0x80u;
  if (c->fill > 56u) {
    memset(c->block + c->fill, 0, 64u - c->fill);
    sha256_block(c, c->block);
    c->fill = 0;
  }
  memset(c->block + c->fill, 0, 56u - c->fill);
  for (i = 0; i < 8; ++i)
    c->block[56 + i] = (uint8_t)(bits >> (56u - 8u * i));
  sha256_block(c, c->block);
  for (i = 0; i < 32; ++i)
    diff |= (unsigned)(expected[i] ^ (uint8_t)(c->h[i / 4] >> (24u - 8u * (i % 4))));
  return diff == 0;
}

/* --------------------------------------------------------------- CRC-32C */

static uint32_t crc32c_update(uint32_t crc, const uint8_t* p, size_t n) {
  unsigned k;
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/* ---------------------------------------------------------------- header */

static uint16_t get16(const uint8_t* p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t get32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t* p) {
  return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

int otaledger_patch_parse_header(const uint8_t* b, otaledger_patch_header* h) {
  if (!b || !h) return OTALEDGER_PATCH_E_ARGUMENT;
  if (memcmp(b, OTALEDGER_PATCH_MAGIC, 8) != 0) return OTALEDGER_PATCH_E_NOT_A_DELTA;
  if (crc32c_update(0, b, 116) != get32(b + 116)) return OTALEDGER_PATCH_E_BAD_HEADER;
  h->version = get16(b + 8);
  if (h->version != 1u && h->version != OTALEDGER_PATCH_FORMAT_VERSION)
    return OTALEDGER_PATCH_E_VERSION;
  h->codec = b[10];
  h->window_log = b[11];
  h->lit_ctx_bits = b[12];
  h->old_size = get64(b + 16);
  h->new_size = get64(b + 24);
  h->body_size = get64(b + 32);
  h->payload_size = get64(b + 40);
  memcpy(h->old_sha256, b + 48, 32);
  memcpy(h->new_sha256, b + 80, 32);
  h->payload_crc32c = get32(b + 112);
  if (b[13] != 0 || b[14] != 0 || b[15] != 0) return OTALEDGER_PATCH_E_BAD_HEADER;
  /* Sizes are bounded to 2^48 so that no sum below can overflow. */
  if ((h->old_size >> 48) || (h->new_size >> 48) || (h->body_size >> 48) || (h->payload_size >> 48))
    return OTALEDGER_PATCH_E_BAD_HEADER;
  switch (h->codec) {
  case OTALEDGER_PATCH_CODEC_RAW:
    if (h->window_log != 0 || h->lit_ctx_bits != 0 || h->payload_size != h->body_size)
      return OTALEDGER_PATCH_E_BAD_HEADER;
    break;
  case OTALEDGER_PATCH_CODEC_LZR:
    if (h->window_log < OTALEDGER_PATCH_LZR_MIN_WINDOW_LOG ||
        h->window_log > OTALEDGER_PATCH_LZR_MAX_WINDOW_LOG ||
        h->lit_ctx_bits > OTALEDGER_PATCH_LZR_MAX_LIT_CTX_BITS || h->payload_size < 5u)
      return OTALEDGER_PATCH_E_BAD_HEADER;
    break;
  case OTALEDGER_PATCH_CODEC_ZSTD:
    if (h->lit_ctx_bits != 0) return OTALEDGER_PATCH_E_BAD_HEADER;
    break;
  default:
    return OTALEDGER_PATCH_E_UNSUPPORTED;
  }
  if (h->version == 2u) {
    /* Format 2 defines codec lzr only; body_size counts the commands, each
     * of which yields at least one byte of the new image. */
    if (h->codec != OTALEDGER_PATCH_CODEC_LZR) return OTALEDGER_PATCH_E_UNSUPPORTED;
    if (h->body_size > h->new_size) return OTALEDGER_PATCH_E_BAD_HEADER;
    return OTALEDGER_PATCH_OK;
  }
  /* Every command yields at least one byte of the new image and takes at
   * most 30 bytes of varints, so a longer body cannot be valid. */
  if (h->body_size > h->new_size * 31u) return OTALEDGER_PATCH_E_BAD_HEADER;
  return OTALEDGER_PATCH_OK;
}

/* ----------------------------------------------------------------- state */

/* Format 2's models of the command integers and difference bytes (16-bit
 * probabilities), kept in the work buffer after the state. */
struct v2_tables {
  uint16_t ints[3][128]; /* per field: [1..64) bit-length tree, [64 + n] second-highest bit */
  uint16_t zf[4 * 256];  /* difference byte non-zero, by (run bucket, old byte) */
  uint16_t val[5 * 256]; /* non-zero value: [0] isolated, [1 + prev >> 6] after a non-zero */
  uint16_t eq[2];        /* isolated value equals the last / the second-last one */
};

struct state {
  const otaledger_patch_io* io;
  otaledger_patch_header hdr;
  int err; /* sticky error of the input path */

  /* payload input */
  uint64_t fetched; /* payload bytes read from io so far */
  uint32_t crc;     /* CRC-32C of the fetched payload bytes */
  uint32_t in_pos, in_len;

  /* body (decompressed command stream) */
  uint64_t body_pos;

  /* lzr decoder */
  uint32_t range, code;
  uint32_t rep;        /* distance of the last match (initially 1) */
  uint32_t match_left; /* bytes of the current match still to copy */
  uint32_t prev_match; /* 1 when the last token was a match */
  uint32_t win_mask;
  uint8_t prev_byte;
  uint16_t is_match[2], is_rep[2], len_probs[2][32], dist_slot[32];
  uint16_t* lit;
  uint8_t* win;
  unsigned lz_pbits; /* probability bits of the LZ models: 11 (format 1), 16 (format 2) */

  /* format 2 */
  struct v2_tables* v2;
  uint32_t run; /* zeros since the last non-zero difference byte (saturates at 16) */
  uint8_t prev_diff, last1, last2;

  /* output */
  uint64_t out_pos;
  uint32_t out_fill;
  sha256_ctx sha;

  uint8_t in_buf[CHUNK];
  uint8_t old_buf[CHUNK];
  uint8_t out_buf[CHUNK];
};

#define ALIGN_SLACK 8u

static size_t state_size(void) {
  return (sizeof(struct state) + 7u) & ~(size_t)7u;
}

size_t otaledger_patch_work_size(const otaledger_patch_header* h) {
  if (!h) return 0;
  switch (h->codec) {
  case OTALEDGER_PATCH_CODEC_RAW:
    return ALIGN_SLACK + state_size();
  case OTALEDGER_PATCH_CODEC_LZR:
    return ALIGN_SLACK + state_size() + (h->version == 2u ? sizeof(struct v2_tables) : 0u) +
           (sizeof(uint16_t) << (8u + h->lit_ctx_bits)) + ((size_t)1 << h->window_log);
  default:
    return 0;
  }
}

/* ------------------------------------------------------------- input path */

/* Next payload byte; sets st->err and returns 0 past the payload's end. */
static uint8_t in_byte(struct state* st) {
  if (st->in_pos == st->in_len) {
    uint64_t left = st->hdr.payload_size - st->fetched;
    size_t want = left < CHUNK ? (size_t)left : CHUNK, got = 0;
    if (st->err) return 0;
    if (want == 0) { /* the decoder wants more than the payload holds */
      st->err = OTALEDGER_PATCH_E_CORRUPT;
      return 0;
    }
    if (st->io->read_delta(st->io->user, st->in_buf, want, &got) != 0) {
      st->err = OTALEDGER_PATCH_E_IO;
      return 0;
    }
    if (got == 0) {
      st->err = OTALEDGER_PATCH_E_TRUNCATED;
      return 0;
    }
    if (got > want) {
      st->err = OTALEDGER_PATCH_E_IO;
      return 0;
    }
    st->crc = crc32c_update(st->crc, st->in_buf, got);
    st->fetched += got;
    st->in_pos = 0;
    st->in_len = (uint32_t)got;
  }
  return st->in_buf[st->in_pos++];
}

/* ------------------------------------------------------------ lzr decoder */

#define PROB_BITS 11u
#define PROB_INIT (1u << (PROB_BITS - 1u))
#define MOVE_BITS 5u
#define TOP (1u << 24)
#define MIN_MATCH 3u

/* A loop: format 2's 16-bit probabilities can leave the range below 2^16. */
static void rc_normalize(struct state* st) {
  while (st->range < TOP) {
    st->range <<= 8;
    st->code = (st->code << 8) | in_byte(st);
  }
}

/* A bit with a `pbits`-bit probability adapting by `shift`. */
static unsigned rc_bitx(struct state* st, uint16_t* p, unsigned pbits, unsigned shift) {
  uint32_t bound = (st->range >> pbits) * *p;
  unsigned bit;
  if (st->code < bound) {
    st->range = bound;
    *p = (uint16_t)(*p + (((1u << pbits) - *p) >> shift));
    bit = 0;
  } else {
    st->range -= bound;
    st->code -= bound;
    *p = (uint16_t)(*p - (*p >> shift));
    bit = 1;
  }
  rc_normalize(st);
  return bit;
}

/* The LZ models' bits: 11-bit probabilities in format 1, 16-bit in format 2. */
static unsigned rc_bit(struct state* st, uint16_t* p) {
  return rc_bitx(st, p, st->lz_pbits, MOVE_BITS);
}

static uint32_t rc_direct(struct state* st, unsigned nbits) {
  uint32_t v = 0;
  while (nbits--) {
    st->range >>= 1;
    if (st->code >= st->range) {
      st->code -= st->range;
      v = (v << 1) | 1u;
    } else {
      v <<= 1;
    }
    rc_normalize(st);
  }
  return v;
}

static uint32_t rc_tree(struct state* st, uint16_t* probs, unsigned nbits) {
  uint32_t m = 1;
  unsigned i;
  for (i = 0; i < nbits; ++i)
    m = (m << 1) | rc_bit(st, &probs[m]);
  return m - (1u << nbits);
}

static void lzr_init(struct state* st) {
  unsigned i, n = 256u << st->hdr.lit_ctx_bits;
  uint16_t init;
  st->lz_pbits = st->hdr.version == 2u ? 16u : PROB_BITS;
  init = (uint16_t)(1u << (st->lz_pbits - 1u));
  for (i = 0; i < 2; ++i)
    st->is_match[i] = st->is_rep[i] = init;
  for (i = 0; i < 32; ++i) {
    st->len_probs[0][i] = st->len_probs[1][i] = init;
    st->dist_slot[i] = init;
  }
  for (i = 0; i < n; ++i)
    st->lit[i] = init;
  if (st->v2) {
    uint16_t* t = (uint16_t*)(void*)st->v2;
    for (i = 0; i < sizeof(struct v2_tables) / sizeof(uint16_t); ++i)
      t[i] = 0x8000u;
    for (i = 0; i < 4u * 256u; ++i) /* difference bytes are mostly zero: P(zero) = 31/32 */
      st->v2->zf[i] = (uint16_t)(65536u - 2048u);
    st->run = 16;
    st->prev_diff = st->last1 = st->last2 = 0;
  }
  st->rep = 1;
  st->match_left = 0;
  st->prev_match = 0;
  st->prev_byte = 0;
  st->range = 0xFFFFFFFFu;
  st->code = 0;
  if (in_byte(st) != 0 && !st->err) st->err = OTALEDGER_PATCH_E_CORRUPT;
  for (i = 0; i < 4; ++i)
    st->code = (st->code << 8) | in_byte(st);
}

static uint32_t lzr_len(struct state* st, unsigned ctx) {
  uint32_t b = rc_tree(st, st->len_probs[ctx], 5);
  if (b < 8u) return b + MIN_MATCH;
  b -= 5u; /* 3..26 extra bits */
  return ((1u << b) | rc_direct(st, b)) + MIN_MATCH;
}

static uint32_t lzr_dist(struct state* st) {
  uint32_t slot = rc_tree(st, st->dist_slot, 5), n;
  if (slot < 4u) return slot + 1u;
  n = slot >> 1; /* the distance has n + 1 significant bits */
  return (((2u | (slot & 1u)) << (n - 1u)) | rc_direct(st, n - 1u)) + 1u;
}

/* Decodes the next body byte with lzr; returns 0 or an error code. */
static int lzr_next(struct state* st, uint8_t* out) {
  uint8_t b;
  if (st->match_left == 0) {
    if (!rc_bit(st, &st->is_match[st->prev_match])) {
      unsigned ctx =
          st->hdr.lit_ctx_bits ? (unsigned)st->prev_byte >> (8u - st->hdr.lit_ctx_bits) : 0u;
      b = (uint8_t)rc_tree(st, st->lit + (ctx << 8), 8);
      st->prev_match = 0;
      if (st->err) return st->err;
      goto put;
    } else {
      unsigned rep = rc_bit(st, &st->is_rep[st->prev_match]);
      uint32_t len = lzr_len(st, rep);
      if (!rep) st->rep = lzr_dist(st);
      if (st->err) return st->err;
      if ((uint64_t)st->rep > st->body_pos || st->rep > st->win_mask + 1u ||
          (!st->v2 && (uint64_t)len > st->hdr.body_size - st->body_pos))
        return OTALEDGER_PATCH_E_CORRUPT;
      st->match_left = len;
      st->prev_match = 1;
    }
  }
  b = st->win[(uint32_t)(st->body_pos - st->rep) & st->win_mask];
  --st->match_left;
put:
  st->win[(uint32_t)st->body_pos & st->win_mask] = b;
  st->prev_byte = b;
  *out = b;
  return OTALEDGER_PATCH_OK;
}

/* Next byte of the command stream. */
static int body_next(struct state* st, uint8_t* out) {
  int rc;
  if (st->body_pos >= st->hdr.body_size) return OTALEDGER_PATCH_E_CORRUPT;
  if (st->hdr.codec == OTALEDGER_PATCH_CODEC_RAW) {
    *out = in_byte(st);
    rc = st->err;
  } else {
    rc = lzr_next(st, out);
  }
  if (rc == OTALEDGER_PATCH_OK) ++st->body_pos;
  return rc;
}

static int body_varint(struct state* st, uint64_t* v) {
  unsigned shift = 0;
  uint8_t b;
  *v = 0;
  for (;;) {
    int rc = body_next(st, &b);
    if (rc) return rc;
    if (shift == 63u && b > 1u) return OTALEDGER_PATCH_E_CORRUPT;
    *v |= (uint64_t)(b & 0x7Fu) << shift;
    if (!(b & 0x80u)) return OTALEDGER_PATCH_OK;
    shift += 7u;
    if (shift > 63u) return OTALEDGER_PATCH_E_CORRUPT;
  }
}

/* ---------------------------------------------------------------- output */

static int out_flush(struct state* st) {
  if (st->out_fill == 0) return OTALEDGER_PATCH_OK;
  sha256_update(&st->sha, st->out_buf, st->out_fill);
  if (st->io->write_new(st->io->user, st->out_buf, st->out_fill) != 0) return OTALEDGER_PATCH_E_IO;
  st->out_fill = 0;
  return OTALEDGER_PATCH_OK;
}

static int out_put(struct state* st, uint8_t b) {
  st->out_buf[st->out_fill++] = b;
  ++st->out_pos;
  return st->out_fill == CHUNK ? out_flush(st) : OTALEDGER_PATCH_OK;
}

/* --------------------------------------------------------------- commands */

static int apply_commands(struct state* st) {
  uint64_t old_pos = 0;
  int rc;
  while (st->out_pos < st->hdr.new_size) {
    uint64_t seek, diff_len, extra_len, left = st->hdr.new_size - st->out_pos;
    if ((rc = body_varint(st, &seek)) || (rc = body_varint(st, &diff_len)) ||
        (rc = body_varint(st, &extra_len)))
      return rc;
    /* seek is zigzag-coded: even = forward by seek/2, odd = back by seek/2 + 1 */
    if (seek & 1u) {
      uint64_t back = (seek >> 1) + 1u;
      if (back > old_pos) return OTALEDGER_PATCH_E_CORRUPT;
      old_pos -= back;
    } else {
      if ((seek >> 1) > st->hdr.old_size - old_pos) return OTALEDGER_PATCH_E_CORRUPT;
      old_pos += seek >> 1;
    }
    if (diff_len > left || extra_len > left - diff_len || diff_len + extra_len == 0 ||
        diff_len > st->hdr.old_size - old_pos)
      return OTALEDGER_PATCH_E_CORRUPT;
    while (diff_len > 0) {
      size_t n = diff_len < CHUNK ? (size_t)diff_len : CHUNK, i;
      if (st->io->read_old(st->io->user, old_pos, st->old_buf, n) != 0) return OTALEDGER_PATCH_E_IO;
      for (i = 0; i < n; ++i) {
        uint8_t d;
        if ((rc = body_next(st, &d)) || (rc = out_put(st, (uint8_t)(st->old_buf[i] + d))))
          return rc;
      }
      old_pos += n;
      diff_len -= n;
    }
    while (extra_len-- > 0) {
      uint8_t b;
      if ((rc = body_next(st, &b)) || (rc = out_put(st, b))) return rc;
    }
  }
  return out_flush(st);
}

/* ------------------------------------------------------- format 2 commands */

#define CMD_SHIFT 4u /* format 2: integers and difference bytes adapt fast */

static unsigned rc_bit16(struct state* st, uint16_t* p) {
  return rc_bitx(st, p, 16u, CMD_SHIFT);
}

static uint32_t rc_tree16(struct state* st, uint16_t* probs, unsigned nbits) {
  uint32_t m = 1;
  unsigned i;
  for (i = 0; i < nbits; ++i)
    m = (m << 1) | rc_bit16(st, &probs[m]);
  return m - (1u << nbits);
}

/* A command integer: bit length n (0..48), then the bit below the top one
 * with a model, then n - 2 direct bits. */
static uint64_t v2_int(struct state* st, unsigned field) {
  uint16_t* f = st->v2->ints[field];
  uint32_t n = rc_tree16(st, f, 6);
  uint64_t v;
  unsigned k;
  if (n > 48u) {
    if (!st->err) st->err = OTALEDGER_PATCH_E_CORRUPT;
    return 0;
  }
  if (n < 2u) return n;
  v = 2u | rc_bit16(st, &f[64u + n]);
  for (k = 0; k < n - 2u; ++k)
    v = (v << 1) | rc_direct(st, 1);
  return v;
}

static uint8_t v2_diff(struct state* st, uint8_t old_byte) {
  struct v2_tables* t = st->v2;
  unsigned s = st->run == 0 ? 0u : st->run < 4u ? 1u : st->run < 16u ? 2u : 3u;
  uint8_t d = 0;
  if (rc_bit16(st, &t->zf[s * 256u + old_byte])) {
    if (s == 0) {
      d = (uint8_t)rc_tree16(st, t->val + 256u * (1u + ((unsigned)st->prev_diff >> 6)), 8);
    } else if (rc_bit16(st, &t->eq[0])) {
      d = st->last1;
    } else {
      d = rc_bit16(st, &t->eq[1]) ? st->last2 : (uint8_t)rc_tree16(st, t->val, 8);
      st->last2 = st->last1;
      st->last1 = d;
    }
    st->run = 0;
  } else if (st->run < 16u) {
    ++st->run;
  }
  st->prev_diff = d;
  return d;
}

/* Format 2: the command integers and difference bytes are decoded here, the
 * extra bytes come from the LZ stream (lzr_next, its position in body_pos). */
static int apply_commands_v2(struct state* st) {
  uint64_t old_pos = 0, count = 0;
  int rc;
  while (st->out_pos < st->hdr.new_size) {
    uint64_t seek, diff_len, extra_len, left = st->hdr.new_size - st->out_pos;
    if (++count > st->hdr.body_size) return OTALEDGER_PATCH_E_CORRUPT;
    seek = v2_int(st, 0);
    diff_len = v2_int(st, 1);
    extra_len = v2_int(st, 2);
    if (st->err) return st->err;
    if (seek & 1u) {
      uint64_t back = (seek >> 1) + 1u;
      if (back > old_pos) return OTALEDGER_PATCH_E_CORRUPT;
      old_pos -= back;
    } else {
      if ((seek >> 1) > st->hdr.old_size - old_pos) return OTALEDGER_PATCH_E_CORRUPT;
      old_pos += seek >> 1;
    }
    if (diff_len > left || extra_len > left - diff_len || diff_len + extra_len == 0 ||
        diff_len > st->hdr.old_size - old_pos)
      return OTALEDGER_PATCH_E_CORRUPT;
    while (diff_len > 0) {
      size_t n = diff_len < CHUNK ? (size_t)diff_len : CHUNK, i;
      if (st->io->read_old(st->io->user, old_pos, st->old_buf, n) != 0) return OTALEDGER_PATCH_E_IO;
      for (i = 0; i < n; ++i) {
        uint8_t o = st->old_buf[i];
        if ((rc = out_put(st, (uint8_t)(o + v2_diff(st, o))))) return rc;
      }
      if (st->err) return st->err;
      old_pos += n;
      diff_len -= n;
    }
    while (extra_len-- > 0) {
      uint8_t b;
      if ((rc = lzr_next(st, &b)) || (rc = out_put(st, b))) return rc;
      ++st->body_pos;
    }
  }
  if (count != st->hdr.body_size) return OTALEDGER_PATCH_E_CORRUPT;
  return out_flush(st);
}

/* ------------------------------------------------------------------ apply */

static int read_exact_delta(const otaledger_patch_io* io, uint8_t* buf, size_t len) {
  while (len > 0) {
    size_t got = 0;
    if (io->read_delta(io->user, buf, len, &got) != 0) return OTALEDGER_PATCH_E_IO;
    if (got == 0) return OTALEDGER_PATCH_E_TRUNCATED;
    if (got > len) return OTALEDGER_PATCH_E_IO;
    buf += got, len -= got;
  }
  return OTALEDGER_PATCH_OK;
}

static int check_old_image(struct state* st) {
  uint64_t pos = 0, size = st->hdr.old_size;
  if (size > st->io->old_available) return OTALEDGER_PATCH_E_WRONG_OLD;
  sha256_init(&st->sha);
  while (pos < size) {
    size_t n = size - pos < CHUNK ? (size_t)(size - pos) : CHUNK;
    if (st->io->read_old(st->io->user, pos, st->old_buf, n) != 0) return OTALEDGER_PATCH_E_IO;
    sha256_update(&st->sha, st->old_buf, n);
    pos += n;
  }
  return sha256_final_equals(&st->sha, st->hdr.old_sha256) ? OTALEDGER_PATCH_OK
                                                           : OTALEDGER_PATCH_E_WRONG_OLD;
}

int otaledger_patch_apply(const otaledger_patch_io* io, void* work, size_t work_size,
                          otaledger_patch_header* header_out) {
  struct state* st;
  uint8_t* base;
  size_t need, lit_bytes;
  int rc;
  if (!io || !io->read_delta || !io->read_old || !io->write_new || !work)
    return OTALEDGER_PATCH_E_ARGUMENT;
  base = (uint8_t*)work + ((8u - ((uintptr_t)work & 7u)) & 7u);
  if (work_size < ALIGN_SLACK + state_size()) return OTALEDGER_PATCH_E_WORK_TOO_SMALL;
  st = (struct state*)(void*)base;
  memset(st, 0, sizeof *st);
  st->io = io;

  /* The header is read into the (still unused) output buffer. */
  if ((rc = read_exact_delta(io, st->out_buf, OTALEDGER_PATCH_HEADER_SIZE))) return rc;
  if ((rc = otaledger_patch_parse_header(st->out_buf, &st->hdr))) return rc;
  if (header_out) *header_out = st->hdr;
  need = otaledger_patch_work_size(&st->hdr);
  if (need == 0) return OTALEDGER_PATCH_E_UNSUPPORTED;
  if (work_size < need) return OTALEDGER_PATCH_E_WORK_TOO_SMALL;

  if ((rc = check_old_image(st))) return rc;

  if (st->hdr.codec == OTALEDGER_PATCH_CODEC_LZR) {
    size_t v2_bytes = st->hdr.version == 2u ? sizeof(struct v2_tables) : 0u;
    lit_bytes = sizeof(uint16_t) << (8u + st->hdr.lit_ctx_bits);
    st->v2 = v2_bytes ? (struct v2_tables*)(void*)(base + state_size()) : NULL;
    st->lit = (uint16_t*)(void*)(base + state_size() + v2_bytes);
    st->win = base + state_size() + v2_bytes + lit_bytes;
    st->win_mask = (1u << st->hdr.window_log) - 1u;
    lzr_init(st);
    if (st->err) return st->err;
  }
  sha256_init(&st->sha);
  if (st->v2) {
    if ((rc = apply_commands_v2(st))) return rc;
  } else {
    if ((rc = apply_commands(st))) return rc;
    if (st->body_pos != st->hdr.body_size) return OTALEDGER_PATCH_E_CORRUPT;
  }
  if (st->hdr.codec == OTALEDGER_PATCH_CODEC_LZR && st->match_left != 0)
    return OTALEDGER_PATCH_E_CORRUPT;
  {
    /* The decoder must have consumed the whole payload, no more and no less.
     * Read what it left first, so that a cut-short delta is reported as
     * truncated rather than corrupt. */
    uint64_t unconsumed = (st->in_len - st->in_pos) + (st->hdr.payload_size - st->fetched);
    size_t got = 0;
    while (st->fetched < st->hdr.payload_size) {
      uint64_t left = st->hdr.payload_size - st->fetched;
      size_t want = left < CHUNK ? (size_t)left : CHUNK;
      if (io->read_delta(io->user, st->in_buf, want, &got) != 0 || got > want)
        return OTALEDGER_PATCH_E_IO;
      if (got == 0) return OTALEDGER_PATCH_E_TRUNCATED;
      st->crc = crc32c_update(st->crc, st->in_buf, got);
      st->fetched += got;
    }
    if (unconsumed != 0) return OTALEDGER_PATCH_E_CORRUPT;
  }
  if (st->crc != st->hdr.payload_crc32c) return OTALEDGER_PATCH_E_CORRUPT;
  {
    size_t got = 0;
    if (io->read_delta(io->user, st->in_buf, 1, &got) != 0) return OTALEDGER_PATCH_E_IO;
    if (got != 0) return OTALEDGER_PATCH_E_TRAILING;
  }
  if (!sha256_final_equals(&st->sha, st->hdr.new_sha256)) return OTALEDGER_PATCH_E_NEW_MISMATCH;
  return OTALEDGER_PATCH_OK;
}

const char* otaledger_patch_strerror(int code) {
  switch (code) {
  case OTALEDGER_PATCH_OK:
    return "ok";
  case OTALEDGER_PATCH_E_NOT_A_DELTA:
    return "not an otaledger delta (bad magic)";
  case OTALEDGER_PATCH_E_VERSION:
    return "unsupported delta format version";
  case OTALEDGER_PATCH_E_UNSUPPORTED:
    return "delta codec or parameters not supported by this applier";
  case OTALEDGER_PATCH_E_BAD_HEADER:
    return "corrupt delta header";
  case OTALEDGER_PATCH_E_TRUNCATED:
    return "delta is truncated";
  case OTALEDGER_PATCH_E_CORRUPT:
    return "corrupt delta payload";
  case OTALEDGER_PATCH_E_WRONG_OLD:
    return "delta does not apply to this old image (SHA-256 mismatch)";
  case OTALEDGER_PATCH_E_NEW_MISMATCH:
    return "produced image does not match the delta's SHA-256";
  case OTALEDGER_PATCH_E_WORK_TOO_SMALL:
    return "work buffer too small for this delta";
  case OTALEDGER_PATCH_E_IO:
    return "I/O callback failed";
  case OTALEDGER_PATCH_E_ARGUMENT:
    return "invalid argument";
  case OTALEDGER_PATCH_E_TRAILING:
    return "unexpected bytes after the delta's payload";
  default:
    return "unknown error";
  }
}
