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

  void direct(std::uint32_t v, unsigned nbits) {
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

} // namespace

std::string lzr_compress(std::string_view body, const lzr_params& params) {
  std::string out;
  encoder enc(out, params.lit_ctx_bits);
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

} // namespace otaledger::delta::internal
