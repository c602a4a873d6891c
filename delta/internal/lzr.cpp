#include "delta/internal/lzr.hpp"

#include "delta/errc.hpp"

#include <algorithm>
#include <bit>

namespace otaledger::delta::internal {
namespace {

constexpr unsigned prob_bits = 11;
constexpr std::uint16_t prob_init = 1u << (prob_bits - 1);
constexpr unsigned move_bits = 5;
constexpr std::uint32_t top = 1u << 24;
constexpr std::uint32_t min_match = 3;
constexpr std::uint32_t max_match = min_match + (1u << 24) - 1; // bucket 28 holds 2^23..2^24-1

// ------------------------------------------------------------ range encoder

class range_encoder {
public:
  explicit range_encoder(std::string& out) : out_(out) {}

  void bit(std::uint16_t& p, unsigned b) {
    const std::uint32_t bound = (range_ >> prob_bits) * p;
    if (b == 0) {
      range_ = bound;
      p = static_cast<std::uint16_t>(p + (((1u << prob_bits) - p) >> move_bits));
    } else {
      low_ += bound;
      range_ -= bound;
      p = static_cast<std::uint16_t>(p - (p >> move_bits));
    }
    normalize();
  }

  /// A bit with a 16-bit probability (format 2) adapting by `shift`.
  void bit16(std::uint16_t& p, unsigned b, unsigned shift) {
    const std::uint32_t bound = (range_ >> 16) * p;
    if (b == 0) {
      range_ = bound;
      p = static_cast<std::uint16_t>(p + ((65536u - p) >> shift));
    } else {
      low_ += bound;
      range_ -= bound;
      p = static_cast<std::uint16_t>(p - (p >> shift));
    }
    normalize();
  }

  void tree16(std::uint16_t* probs, unsigned nbits, std::uint32_t v, unsigned shift) {
    std::uint32_t m = 1;
    while (nbits-- > 0) {
      const unsigned b = (v >> nbits) & 1u;
      bit16(probs[m], b, shift);
      m = (m << 1) | b;
    }
  }

  void direct(std::uint64_t v, unsigned nbits) {
    while (nbits-- > 0) {
      range_ >>= 1;
      if ((v >> nbits) & 1u) low_ += range_;
      normalize();
    }
  }

  void tree(std::uint16_t* probs, unsigned nbits, std::uint32_t v) {
    std::uint32_t m = 1;
    while (nbits-- > 0) {
      const unsigned b = (v >> nbits) & 1u;
      bit(probs[m], b);
      m = (m << 1) | b;
    }
  }

  void flush() {
    for (int i = 0; i < 5; ++i)
      shift_low();
  }

private:
  void normalize() {
    while (range_ < top) {
      range_ <<= 8;
      shift_low();
    }
  }

  // Emits the top byte of low, delaying 0xFF bytes until a carry is known.
  void shift_low() {
    if (static_cast<std::uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
      const auto carry = static_cast<std::uint8_t>(low_ >> 32);
      std::uint8_t temp = cache_;
      do {
        out_.push_back(static_cast<char>(static_cast<std::uint8_t>(temp + carry)));
        temp = 0xFF;
      } while (--cache_size_ != 0);
      cache_ = static_cast<std::uint8_t>(low_ >> 24);
    }
    ++cache_size_;
    low_ = (low_ & 0x00FFFFFFu) << 8;
  }

  std::string& out_;
  std::uint64_t low_ = 0;
  std::uint32_t range_ = 0xFFFFFFFFu;
  std::uint8_t cache_ = 0;
  std::uint64_t cache_size_ = 1;
};

// ------------------------------------------------------------------ model

struct model {
  explicit model(unsigned lc) : lit(std::size_t{256} << lc, prob_init) {
    std::fill(std::begin(is_match), std::end(is_match), prob_init);
    std::fill(std::begin(is_rep), std::end(is_rep), prob_init);
    for (auto& row : len)
      std::fill(std::begin(row), std::end(row), prob_init);
    std::fill(std::begin(slot), std::end(slot), prob_init);
  }
  std::uint16_t is_match[2], is_rep[2], len[2][32], slot[32];
  std::vector<std::uint16_t> lit;
};

class encoder {
public:
  encoder(std::string& out, unsigned lc) : rc_(out), m_(lc), lc_(lc) {}

  void literal(std::uint8_t b) {
    rc_.bit(m_.is_match[prev_match_], 0);
    const unsigned ctx = lc_ ? prev_byte_ >> (8 - lc_) : 0;
    rc_.tree(m_.lit.data() + (ctx << 8), 8, b);
    prev_match_ = 0;
    prev_byte_ = b;
  }

  /// `last` is the final byte of the match (the new previous byte).
  void match(std::uint32_t len, std::uint32_t dist, std::uint8_t last) {
    rc_.bit(m_.is_match[prev_match_], 1);
    const unsigned rep = dist == rep_ ? 1 : 0;
    rc_.bit(m_.is_rep[prev_match_], rep);
    encode_len(rep, len - min_match);
    if (!rep) {
      encode_dist(dist - 1);
      rep_ = dist;
    }
    prev_match_ = 1;
    prev_byte_ = last;
  }

  std::uint32_t rep() const { return rep_; }
  void flush() { rc_.flush(); }

private:
  void encode_len(unsigned ctx, std::uint32_t v) {
    if (v < 8) {
      rc_.tree(m_.len[ctx], 5, v);
      return;
    }
    const unsigned n = std::bit_width(v) - 1; // 3..23
    rc_.tree(m_.len[ctx], 5, n + 5);
    rc_.direct(v - (1u << n), n);
  }

  void encode_dist(std::uint32_t d) {
    if (d < 4) {
      rc_.tree(m_.slot, 5, d);
      return;
    }
    const unsigned n = std::bit_width(d) - 1; // >= 2
    rc_.tree(m_.slot, 5, 2 * n + ((d >> (n - 1)) & 1u));
    rc_.direct(d & ((1u << (n - 1)) - 1u), n - 1);
  }

  range_encoder rc_;
  model m_;
  unsigned lc_;
  unsigned prev_match_ = 0;
  std::uint8_t prev_byte_ = 0;
  std::uint32_t rep_ = 1;
};

// ----------------------------------------------------------- match finder

class match_finder {
public:
  match_finder(std::string_view data, unsigned window_log, std::uint32_t max_chain)
      : d_(reinterpret_cast<const std::uint8_t*>(data.data())), n_(data.size()),
        window_(std::size_t{1} << window_log), max_chain_(max_chain), head_(1u << hash_bits, -1),
        prev_(window_, -1) {}

  struct found {
    std::uint32_t len = 0, dist = 0;
  };

  /// Inserts every position below `p` not yet inserted.
  void insert_until(std::size_t p) {
    for (; next_insert_ < p; ++next_insert_) {
      if (next_insert_ + min_match > n_) continue;
      const auto h = hash(next_insert_);
      prev_[next_insert_ & (window_ - 1)] = head_[h];
      head_[h] = static_cast<std::int64_t>(next_insert_);
    }
  }

  /// Longest match for position p among inserted positions within the window.
  found best(std::size_t p) const {
    found f;
    if (p + min_match > n_) return f;
    const std::size_t limit = std::min<std::size_t>(max_match, n_ - p);
    std::int64_t cand = head_[hash(p)];
    for (std::uint32_t chain = 0; cand >= 0 && chain < max_chain_; ++chain) {
      const auto c = static_cast<std::size_t>(cand);
      if (p - c > window_) break;
      if (d_[c + f.len] == d_[p + f.len]) {
        const std::uint32_t len = length(c, p, limit);
        if (len > f.len) {
          f = {len, static_cast<std::uint32_t>(p - c)};
          if (len == limit) break;
        }
      }
      const std::int64_t next = prev_[c & (window_ - 1)];
      if (next >= cand) break; // the slot was overwritten by a newer position
      cand = next;
    }
    return f;
  }

  std::uint32_t length(std::size_t from, std::size_t p, std::size_t limit) const {
    std::size_t l = 0;
    while (l < limit && d_[from + l] == d_[p + l])
      ++l;
    return static_cast<std::uint32_t>(l);
  }

  std::size_t size() const { return n_; }
  std::size_t window() const { return window_; }

private:
  static constexpr unsigned hash_bits = 16;
  std::uint32_t hash(std::size_t p) const {
    const std::uint32_t v = d_[p] | (d_[p + 1] << 8) | (d_[p + 2] << 16);
    return (v * 2654435761u) >> (32 - hash_bits);
  }

  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t window_;
  std::uint32_t max_chain_;
  std::vector<std::int64_t> head_;
  std::vector<std::int64_t> prev_;
  std::size_t next_insert_ = 0;
};

// A new-distance match of 3 bytes far away costs more than three literals.
bool worth_it(const match_finder::found& f) {
  if (f.len < min_match) return false;
  if (f.len == 3 && f.dist > 256) return false;
  if (f.len == 4 && f.dist > 8192) return false;
  return true;
}

// The LZ77 parse shared by both formats: calls sink.literal(byte) and
// sink.match(len, dist, last byte); sink.rep() is the current repeat distance.
template <class Sink> void lz_parse(std::string_view body, const lzr_params& params, Sink& enc) {
  match_finder mf(body, params.window_log, std::max<std::uint32_t>(1, params.max_chain));
  const auto* d = reinterpret_cast<const std::uint8_t*>(body.data());
  const std::size_t n = body.size();
  std::size_t p = 0;
  while (p < n) {
    mf.insert_until(p);
    const std::size_t limit = std::min<std::size_t>(max_match, n - p);
    const std::uint32_t rep = enc.rep();
    const std::uint32_t rep_len = rep <= p ? mf.length(p - rep, p, limit) : 0;
    const auto f = mf.best(p);
    if (rep_len >= min_match && rep_len + 1 >= f.len) {
      enc.match(rep_len, rep, d[p + rep_len - 1]);
      p += rep_len;
      continue;
    }
    if (worth_it(f)) {
      // Lazy evaluation: a clearly longer match one byte later wins.
      mf.insert_until(p + 1);
      const auto g = mf.best(p + 1);
      const std::uint32_t rep_next =
          rep <= p + 1 && p + 1 < n
              ? mf.length(p + 1 - rep, p + 1, std::min<std::size_t>(max_match, n - p - 1))
              : 0;
      if (!(worth_it(g) && g.len > f.len + 1) && rep_next <= f.len + 1) {
        enc.match(f.len, f.dist, d[p + f.len - 1]);
        p += f.len;
        continue;
      }
    }
    enc.literal(d[p]);
    ++p;
  }
}

} // namespace

std::string lzr_compress(std::string_view body, const lzr_params& params) {
  std::string out;
  encoder enc(out, params.lit_ctx_bits);
  lz_parse(body, params, enc);
  enc.flush();
  return out;
}

// ----------------------------------------------------------------- decoder

lzr_decoder::lzr_decoder(std::span<const std::byte> payload, std::uint64_t body_size,
                         std::uint8_t window_log, std::uint8_t lit_ctx_bits)
    : in_(payload), body_size_(body_size), lc_(lit_ctx_bits), window_(std::size_t{1} << window_log),
      mask_((1u << window_log) - 1), lit_(std::size_t{256} << lit_ctx_bits, prob_init) {
  std::fill(std::begin(is_match_), std::end(is_match_), prob_init);
  std::fill(std::begin(is_rep_), std::end(is_rep_), prob_init);
  for (auto& row : len_)
    std::fill(std::begin(row), std::end(row), prob_init);
  std::fill(std::begin(slot_), std::end(slot_), prob_init);
  bad_start_ = in_byte() != 0;
  for (int i = 0; i < 4; ++i)
    code_ = (code_ << 8) | in_byte();
}

std::uint8_t lzr_decoder::in_byte() {
  if (in_pos_ >= in_.size()) {
    overrun_ = true;
    return 0;
  }
  return std::to_integer<std::uint8_t>(in_[in_pos_++]);
}

unsigned lzr_decoder::bit(std::uint16_t& p) {
  const std::uint32_t bound = (range_ >> prob_bits) * p;
  unsigned b;
  if (code_ < bound) {
    range_ = bound;
    p = static_cast<std::uint16_t>(p + (((1u << prob_bits) - p) >> move_bits));
    b = 0;
  } else {
    range_ -= bound;
    code_ -= bound;
    p = static_cast<std::uint16_t>(p - (p >> move_bits));
    b = 1;
  }
  if (range_ < top) {
    range_ <<= 8;
    code_ = (code_ << 8) | in_byte();
  }
  return b;
}

std::uint32_t lzr_decoder::direct(unsigned nbits) {
  std::uint32_t v = 0;
  while (nbits-- > 0) {
    range_ >>= 1;
    const std::uint32_t b = code_ >= range_ ? 1u : 0u;
    if (b) code_ -= range_;
    v = (v << 1) | b;
    if (range_ < top) {
      range_ <<= 8;
      code_ = (code_ << 8) | in_byte();
    }
  }
  return v;
}

std::uint32_t lzr_decoder::tree(std::uint16_t* probs, unsigned nbits) {
  std::uint32_t m = 1;
  for (unsigned i = 0; i < nbits; ++i)
    m = (m << 1) | bit(probs[m]);
  return m - (1u << nbits);
}

result<std::size_t> lzr_decoder::read(std::uint8_t* out, std::size_t n) {
  if (bad_start_ || overrun_) return errc::corrupt_payload;
  std::size_t done = 0;
  while (done < n && pos_ < body_size_) {
    if (match_left_ == 0) {
      if (!bit(is_match_[prev_match_])) {
        const unsigned ctx = lc_ ? prev_byte_ >> (8 - lc_) : 0;
        const auto b = static_cast<std::uint8_t>(tree(lit_.data() + (ctx << 8), 8));
        if (overrun_) return errc::corrupt_payload;
        prev_match_ = 0;
        window_[pos_ & mask_] = prev_byte_ = out[done++] = b;
        ++pos_;
        continue;
      }
      const unsigned rep = bit(is_rep_[prev_match_]);
      std::uint32_t len = tree(len_[rep], 5);
      if (len >= 8) {
        const unsigned nb = len - 5;
        len = (1u << nb) | direct(nb);
      }
      len += min_match;
      if (!rep) {
        const std::uint32_t slot = tree(slot_, 5);
        std::uint32_t d = slot;
        if (slot >= 4) {
          const unsigned nb = slot >> 1;
          d = ((2u | (slot & 1u)) << (nb - 1)) | direct(nb - 1);
        }
        rep_ = d + 1;
      }
      if (overrun_) return errc::corrupt_payload;
      if (rep_ > pos_ || rep_ > window_.size() || len > body_size_ - pos_)
        return errc::corrupt_payload;
      match_left_ = len;
      prev_match_ = 1;
    }
    const std::uint64_t take = std::min<std::uint64_t>({match_left_, n - done, body_size_ - pos_});
    for (std::uint64_t i = 0; i < take; ++i) {
      const std::uint8_t b = window_[(pos_ - rep_) & mask_];
      window_[pos_ & mask_] = prev_byte_ = out[done++] = b;
      ++pos_;
    }
    match_left_ -= static_cast<std::uint32_t>(take);
  }
  return done;
}

result<void> lzr_decoder::finish() const {
  if (bad_start_ || overrun_ || pos_ != body_size_ || match_left_ != 0 || in_pos_ != in_.size())
    return errc::corrupt_payload;
  return ok();
}

// ===================================================== format 2 (docs/delta.md)
//
// One range-coded stream, decoded command by command: the three integers of a
// command with their own models, the difference bytes with models keyed on
// the old byte they apply to and on the previous difference byte, the extra
// bytes from an LZ77 stream over the extra bytes alone (the format-1 token
// grammar). Probabilities are 16-bit.

namespace {

constexpr std::uint16_t half16 = 32768;
constexpr unsigned cmd_shift = 4; // integers and difference bytes adapt fast
constexpr unsigned lz_shift = 5;  // the extra stream's LZ models
constexpr unsigned max_int_bits = 48;
// Difference bytes are mostly zero: each of the 1,024 zero-flag contexts
// starts at P(zero) = 31/32, so that an unchanged image costs a few bytes.
constexpr std::uint16_t zf_init = 65536 - 2048;

// Zeros since the last non-zero difference byte, as a 2-bit context.
inline unsigned run_bucket(std::uint32_t run) {
  return run == 0 ? 0u : run < 4 ? 1u : run < 16 ? 2u : 3u;
}

struct v2_models {
  explicit v2_models(unsigned lc) : lit(std::size_t{256} << lc, half16) {
    for (auto& f : ints)
      std::fill(std::begin(f), std::end(f), half16);
    std::fill(std::begin(zf), std::end(zf), zf_init);
    std::fill(std::begin(val), std::end(val), half16);
    std::fill(std::begin(eq), std::end(eq), half16);
    std::fill(std::begin(is_match), std::end(is_match), half16);
    std::fill(std::begin(is_rep), std::end(is_rep), half16);
    for (auto& row : len)
      std::fill(std::begin(row), std::end(row), half16);
    std::fill(std::begin(slot), std::end(slot), half16);
  }
  std::uint16_t ints[3][128]; // per field: [1..64) bit-length tree, [64 + n] second-highest bit
  std::uint16_t zf[4 * 256];  // "difference byte is non-zero" by (run bucket, old byte)
  std::uint16_t val[5 * 256]; // non-zero value: [0] isolated, [1 + prev >> 6] after a non-zero
  std::uint16_t eq[2];        // isolated value equals the last / the second-last one
  std::uint16_t is_match[2], is_rep[2], len[2][32], slot[32];
  std::vector<std::uint16_t> lit;
};

// Difference-byte state shared by the coder and the decoder.
struct diff_state {
  std::uint32_t run = 16;
  std::uint8_t prev = 0, last1 = 0, last2 = 0;
};

struct lz_token {
  std::uint32_t len; // 0: literal
  std::uint32_t dist;
  std::uint8_t byte; // literal byte, or last byte of the match
};

struct token_sink {
  std::vector<lz_token> tokens;
  std::uint32_t rep_ = 1;
  void literal(std::uint8_t b) { tokens.push_back({0, 0, b}); }
  void match(std::uint32_t len, std::uint32_t dist, std::uint8_t last) {
    tokens.push_back({len, dist, last});
    rep_ = dist;
  }
  std::uint32_t rep() const { return rep_; }
};

class v2_writer {
public:
  v2_writer(std::string& out, unsigned lc) : rc_(out), m_(lc), lc_(lc) {}

  void integer(unsigned field, std::uint64_t v) {
    std::uint16_t* f = m_.ints[field];
    const unsigned n = static_cast<unsigned>(std::bit_width(v));
    rc_.tree16(f, 6, n, cmd_shift);
    if (n >= 2) {
      rc_.bit16(f[64 + n], static_cast<unsigned>((v >> (n - 2)) & 1u), cmd_shift);
      rc_.direct(v, n - 2);
    }
  }

  void diff(std::uint8_t old_byte, std::uint8_t d) {
    const unsigned s = run_bucket(ds_.run);
    rc_.bit16(m_.zf[s * 256 + old_byte], d != 0, cmd_shift);
    if (d != 0) {
      if (s == 0) {
        rc_.tree16(m_.val + 256 * (1u + (ds_.prev >> 6)), 8, d, cmd_shift);
      } else {
        rc_.bit16(m_.eq[0], d == ds_.last1, cmd_shift);
        if (d != ds_.last1) {
          rc_.bit16(m_.eq[1], d == ds_.last2, cmd_shift);
          if (d != ds_.last2) rc_.tree16(m_.val, 8, d, cmd_shift);
          ds_.last2 = ds_.last1;
          ds_.last1 = d;
        }
      }
      ds_.run = 0;
    } else if (ds_.run < 16) {
      ++ds_.run;
    }
    ds_.prev = d;
  }

  void lz(const lz_token& t) {
    if (t.len == 0) {
      rc_.bit16(m_.is_match[prev_match_], 0, lz_shift);
      const unsigned ctx = lc_ ? prev_byte_ >> (8 - lc_) : 0;
      rc_.tree16(m_.lit.data() + (ctx << 8), 8, t.byte, lz_shift);
      prev_match_ = 0;
    } else {
      rc_.bit16(m_.is_match[prev_match_], 1, lz_shift);
      const unsigned rep = t.dist == rep_ ? 1 : 0;
      rc_.bit16(m_.is_rep[prev_match_], rep, lz_shift);
      const std::uint32_t v = t.len - min_match;
      if (v < 8) {
        rc_.tree16(m_.len[rep], 5, v, lz_shift);
      } else {
        const unsigned n = std::bit_width(v) - 1;
        rc_.tree16(m_.len[rep], 5, n + 5, lz_shift);
        rc_.direct(v - (1u << n), n);
      }
      if (!rep) {
        const std::uint32_t d = t.dist - 1;
        if (d < 4) {
          rc_.tree16(m_.slot, 5, d, lz_shift);
        } else {
          const unsigned n = std::bit_width(d) - 1;
          rc_.tree16(m_.slot, 5, 2 * n + ((d >> (n - 1)) & 1u), lz_shift);
          rc_.direct(d & ((1u << (n - 1)) - 1u), n - 1);
        }
        rep_ = t.dist;
      }
      prev_match_ = 1;
    }
    prev_byte_ = t.byte;
  }

  void flush() { rc_.flush(); }

private:
  range_encoder rc_;
  v2_models m_;
  unsigned lc_;
  diff_state ds_;
  unsigned prev_match_ = 0;
  std::uint8_t prev_byte_ = 0;
  std::uint32_t rep_ = 1;
};

std::uint64_t read_varint(const std::uint8_t* d, std::size_t& i) {
  std::uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    const std::uint8_t b = d[i++];
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
}

} // namespace

std::string lzr2_compress(std::string_view body, std::span<const std::uint8_t> old,
                          const lzr_params& params, std::uint64_t& commands) {
  struct cmd {
    std::uint64_t seek, diff_len, extra_len;
    std::size_t diff_at;
  };
  // The format-1 command stream, as made by make_commands (trusted input).
  const auto* d = reinterpret_cast<const std::uint8_t*>(body.data());
  std::vector<cmd> cmds;
  std::string extra;
  for (std::size_t i = 0; i < body.size();) {
    cmd c;
    c.seek = read_varint(d, i);
    c.diff_len = read_varint(d, i);
    c.extra_len = read_varint(d, i);
    c.diff_at = i;
    i += c.diff_len;
    extra.append(body.substr(i, c.extra_len));
    i += c.extra_len;
    cmds.push_back(c);
  }
  commands = cmds.size();

  token_sink tokens;
  lz_parse(extra, params, tokens);

  std::string out;
  v2_writer w(out, params.lit_ctx_bits);
  std::size_t next_token = 0;
  std::uint64_t match_left = 0, old_pos = 0;
  for (const cmd& c : cmds) {
    w.integer(0, c.seek);
    w.integer(1, c.diff_len);
    w.integer(2, c.extra_len);
    if (c.seek & 1)
      old_pos -= (c.seek >> 1) + 1;
    else
      old_pos += c.seek >> 1;
    for (std::uint64_t k = 0; k < c.diff_len; ++k)
      w.diff(old[old_pos + k], d[c.diff_at + k]);
    old_pos += c.diff_len;
    // The decoder pulls extra bytes from the LZ stream as the command needs
    // them; a token is coded where the decoder will read it.
    for (std::uint64_t left = c.extra_len; left > 0;) {
      if (match_left == 0) {
        const lz_token& t = tokens.tokens[next_token++];
        w.lz(t);
        match_left = t.len == 0 ? 1 : t.len;
      }
      const std::uint64_t take = std::min(left, match_left);
      left -= take;
      match_left -= take;
    }
  }
  w.flush();
  return out;
}

namespace {

class v2_decoder {
public:
  v2_decoder(std::span<const std::byte> in, unsigned window_log, unsigned lc)
      : in_(in), m_(lc), lc_(lc), window_(std::size_t{1} << window_log),
        mask_((std::uint32_t{1} << window_log) - 1) {
    bad_ = in_byte() != 0;
    for (int i = 0; i < 4; ++i)
      code_ = (code_ << 8) | in_byte();
  }

  bool failed() const { return bad_ || overrun_; }
  bool consumed_exactly() const { return !failed() && in_pos_ == in_.size() && match_left_ == 0; }

  /// A command integer; UINT64_MAX when its bit length is out of range.
  std::uint64_t integer(unsigned field) {
    std::uint16_t* f = m_.ints[field];
    const unsigned n = tree(f, 6);
    if (n > max_int_bits) return UINT64_MAX;
    if (n < 2) return n;
    const std::uint64_t second = bit(f[64 + n], cmd_shift);
    return (std::uint64_t{2} | second) << (n - 2) | direct(n - 2);
  }

  std::uint8_t diff(std::uint8_t old_byte) {
    const unsigned s = run_bucket(ds_.run);
    std::uint8_t d = 0;
    if (bit(m_.zf[s * 256 + old_byte], cmd_shift)) {
      if (s == 0) {
        d = static_cast<std::uint8_t>(tree(m_.val + 256 * (1u + (ds_.prev >> 6)), 8));
      } else if (bit(m_.eq[0], cmd_shift)) {
        d = ds_.last1;
      } else {
        d = bit(m_.eq[1], cmd_shift) ? ds_.last2 : static_cast<std::uint8_t>(tree(m_.val, 8));
        ds_.last2 = ds_.last1;
        ds_.last1 = d;
      }
      ds_.run = 0;
    } else if (ds_.run < 16) {
      ++ds_.run;
    }
    ds_.prev = d;
    return d;
  }

  /// Next byte of the extra stream; false when the stream is corrupt.
  bool extra(std::uint8_t& out) {
    if (match_left_ == 0) {
      if (!bit(m_.is_match[prev_match_], lz_shift)) {
        const unsigned ctx = lc_ ? prev_byte_ >> (8 - lc_) : 0;
        const auto b = static_cast<std::uint8_t>(tree(m_.lit.data() + (ctx << 8), 8, lz_shift));
        prev_match_ = 0;
        put(b);
        out = b;
        return !failed();
      }
      const unsigned rep = bit(m_.is_rep[prev_match_], lz_shift);
      std::uint32_t len = tree(m_.len[rep], 5, lz_shift);
      if (len >= 8) {
        const unsigned nb = len - 5;
        len = (1u << nb) | static_cast<std::uint32_t>(direct(nb));
      }
      if (!rep) {
        const std::uint32_t s = tree(m_.slot, 5, lz_shift);
        std::uint32_t d = s;
        if (s >= 4) {
          const unsigned nb = s >> 1;
          d = ((2u | (s & 1u)) << (nb - 1)) | static_cast<std::uint32_t>(direct(nb - 1));
        }
        rep_ = d + 1;
      }
      if (failed() || rep_ > pos_ || rep_ > window_.size()) return false;
      match_left_ = len + min_match;
      prev_match_ = 1;
    }
    const std::uint8_t b = window_[static_cast<std::uint32_t>(pos_ - rep_) & mask_];
    put(b);
    --match_left_;
    out = b;
    return true;
  }

private:
  void put(std::uint8_t b) {
    window_[static_cast<std::uint32_t>(pos_) & mask_] = b;
    prev_byte_ = b;
    ++pos_;
  }

  std::uint8_t in_byte() {
    if (in_pos_ >= in_.size()) {
      overrun_ = true;
      return 0;
    }
    return std::to_integer<std::uint8_t>(in_[in_pos_++]);
  }

  // 16-bit probabilities can leave the range below 2^16: up to two shifts.
  void normalize() {
    while (range_ < top) {
      range_ <<= 8;
      code_ = (code_ << 8) | in_byte();
    }
  }

  unsigned bit(std::uint16_t& p, unsigned shift) {
    const std::uint32_t bound = (range_ >> 16) * p;
    unsigned b;
    if (code_ < bound) {
      range_ = bound;
      p = static_cast<std::uint16_t>(p + ((65536u - p) >> shift));
      b = 0;
    } else {
      range_ -= bound;
      code_ -= bound;
      p = static_cast<std::uint16_t>(p - (p >> shift));
      b = 1;
    }
    normalize();
    return b;
  }

  std::uint64_t direct(unsigned nbits) {
    std::uint64_t v = 0;
    while (nbits-- > 0) {
      range_ >>= 1;
      const std::uint32_t b = code_ >= range_ ? 1u : 0u;
      if (b) code_ -= range_;
      v = (v << 1) | b;
      normalize();
    }
    return v;
  }

  std::uint32_t tree(std::uint16_t* probs, unsigned nbits, unsigned shift = cmd_shift) {
    std::uint32_t m = 1;
    for (unsigned i = 0; i < nbits; ++i)
      m = (m << 1) | bit(probs[m], shift);
    return m - (1u << nbits);
  }

  std::span<const std::byte> in_;
  std::size_t in_pos_ = 0;
  bool bad_ = false, overrun_ = false;
  std::uint32_t range_ = 0xFFFFFFFFu, code_ = 0;
  v2_models m_;
  unsigned lc_;
  diff_state ds_;
  std::vector<std::uint8_t> window_;
  std::uint32_t mask_;
  std::uint64_t pos_ = 0; // extra bytes produced
  std::uint32_t rep_ = 1, match_left_ = 0;
  unsigned prev_match_ = 0;
  std::uint8_t prev_byte_ = 0;
};

} // namespace

result<void> lzr2_apply(std::span<const std::byte> payload, std::span<const std::uint8_t> old,
                        std::uint64_t new_size, std::uint64_t commands, std::uint8_t window_log,
                        std::uint8_t lit_ctx_bits, std::string& out) {
  v2_decoder dec(payload, window_log, lit_ctx_bits);
  std::uint64_t old_pos = 0, count = 0;
  const std::uint64_t old_size = old.size();
  out.clear();
  out.reserve(new_size);
  while (out.size() < new_size) {
    const std::uint64_t left = new_size - out.size();
    if (++count > commands) return errc::corrupt_payload;
    const std::uint64_t seek = dec.integer(0);
    const std::uint64_t diff_len = dec.integer(1);
    const std::uint64_t extra_len = dec.integer(2);
    if (dec.failed() || seek == UINT64_MAX || diff_len == UINT64_MAX || extra_len == UINT64_MAX)
      return errc::corrupt_payload;
    if (seek & 1) {
      const std::uint64_t back = (seek >> 1) + 1;
      if (back > old_pos) return errc::corrupt_payload;
      old_pos -= back;
    } else {
      if ((seek >> 1) > old_size - old_pos) return errc::corrupt_payload;
      old_pos += seek >> 1;
    }
    if (diff_len > left || extra_len > left - diff_len || diff_len + extra_len == 0 ||
        diff_len > old_size - old_pos)
      return errc::corrupt_payload;
    const std::size_t start = out.size();
    out.resize(start + diff_len + extra_len);
    auto* o = reinterpret_cast<std::uint8_t*>(out.data()) + start;
    for (std::uint64_t k = 0; k < diff_len; ++k)
      o[k] = static_cast<std::uint8_t>(old[old_pos + k] + dec.diff(old[old_pos + k]));
    old_pos += diff_len;
    for (std::uint64_t k = 0; k < extra_len; ++k)
      if (!dec.extra(o[diff_len + k])) return errc::corrupt_payload;
    if (dec.failed()) return errc::corrupt_payload;
  }
  if (count != commands || !dec.consumed_exactly()) return errc::corrupt_payload;
  return ok();
}

} // namespace otaledger::delta::internal
