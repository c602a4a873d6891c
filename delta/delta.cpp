#include "delta/delta.hpp"

#include "base/crc32c.hpp"
#include "delta/c/otaledger_patch.h"
#include "delta/internal/bsdiff.hpp"
#include "delta/internal/format.hpp"
#include "delta/internal/lzr.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace otaledger::delta {
namespace {

using internal::lzr_decoder;

std::span<const std::uint8_t> as_u8(std::span<const std::byte> s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// ----------------------------------------------------------- body sources

// Where the command interpreter pulls the decompressed command stream from.
class body_source {
public:
  virtual ~body_source() = default;
  /// Up to n bytes; fewer only at the end of the body.
  virtual result<std::size_t> read(std::uint8_t* out, std::size_t n) = 0;
  /// After the body was read whole: was the payload consumed exactly?
  virtual result<void> finish() = 0;
};

class raw_source final : public body_source {
public:
  explicit raw_source(std::span<const std::byte> payload) : p_(payload) {}
  result<std::size_t> read(std::uint8_t* out, std::size_t n) override {
    const std::size_t take = std::min(n, p_.size() - pos_);
    std::memcpy(out, p_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  result<void> finish() override {
    if (pos_ != p_.size()) return errc::corrupt_payload;
    return ok();
  }

private:
  std::span<const std::byte> p_;
  std::size_t pos_ = 0;
};

class lzr_source final : public body_source {
public:
  lzr_source(std::span<const std::byte> payload, const delta_info& h)
      : d_(payload, h.body_size, h.window_log, h.lit_ctx_bits) {}
  result<std::size_t> read(std::uint8_t* out, std::size_t n) override { return d_.read(out, n); }
  result<void> finish() override { return d_.finish(); }

private:
  lzr_decoder d_;
};

class zstd_source final : public body_source {
public:
  zstd_source(std::span<const std::byte> payload, std::uint64_t body_size)
      : ctx_(ZSTD_createDCtx(), &ZSTD_freeDCtx), in_{payload.data(), payload.size(), 0},
        body_left_(body_size) {
    // Bounded decoder memory whatever the frame header claims (128 MiB window).
    ZSTD_DCtx_setParameter(ctx_.get(), ZSTD_d_windowLogMax, 27);
  }
  result<std::size_t> read(std::uint8_t* out, std::size_t n) override {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, body_left_));
    ZSTD_outBuffer ob{out, n, 0};
    while (ob.pos < ob.size) {
      const std::size_t before_in = in_.pos, before_out = ob.pos;
      const std::size_t r = ZSTD_decompressStream(ctx_.get(), &ob, &in_);
      if (ZSTD_isError(r)) return errc::corrupt_payload;
      if (r == 0) {
        frame_done_ = true;
        break;
      }
      if (in_.pos == before_in && ob.pos == before_out) return errc::corrupt_payload; // stuck
    }
    body_left_ -= ob.pos;
    return ob.pos;
  }
  result<void> finish() override {
    if (body_left_ != 0) return errc::corrupt_payload;
    if (!frame_done_) {
      // The body is complete; the frame must end here (an empty body's frame
      // has not been looked at yet).
      std::uint8_t extra;
      ZSTD_outBuffer ob{&extra, 1, 0};
      const std::size_t r = ZSTD_decompressStream(ctx_.get(), &ob, &in_);
      if (ZSTD_isError(r) || r != 0 || ob.pos != 0) return errc::corrupt_payload;
    }
    if (in_.pos != in_.size) return errc::corrupt_payload;
    return ok();
  }

private:
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx_;
  ZSTD_inBuffer in_;
  std::uint64_t body_left_;
  bool frame_done_ = false;
};

// Buffered reads of the body with its bound: never more than body_size bytes.
class body_reader {
public:
  body_reader(body_source& src, std::uint64_t body_size) : src_(src), left_(body_size) {}

  result<std::uint8_t> byte() {
    if (pos_ == len_) {
      OTA_TRYV(refill());
    }
    return buf_[pos_++];
  }

  result<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (shift > 63) return errc::corrupt_payload;
      OTA_TRY(b, byte());
      if (shift == 63 && b > 1) return errc::corrupt_payload;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
  }

  /// Calls f(chunk pointer, size) over the next n bytes.
  template <class F> result<void> bytes(std::uint64_t n, F&& f) {
    while (n > 0) {
      if (pos_ == len_) {
        OTA_TRYV(refill());
      }
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, len_ - pos_));
      f(buf_.data() + pos_, take);
      pos_ += take;
      n -= take;
    }
    return ok();
  }

  bool at_end() const { return pos_ == len_ && left_ == 0; }

private:
  result<void> refill() {
    if (left_ == 0) return errc::corrupt_payload; // commands run past the body
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left_, buf_.size()));
    OTA_TRY(got, src_.read(buf_.data(), want));
    if (got != want) return errc::corrupt_payload;
    left_ -= got;
    pos_ = 0;
    len_ = got;
    return ok();
  }

  body_source& src_;
  std::uint64_t left_;
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(64 * 1024);
  std::size_t pos_ = 0, len_ = 0;
};

// Runs the command stream (docs/delta.md, "Command stream") into `out`.
result<void> run_commands(body_reader& body, std::span<const std::uint8_t> old, std::string& out,
                          std::uint64_t new_size) {
  std::uint64_t old_pos = 0;
  const std::uint64_t old_size = old.size();
  while (out.size() < new_size) {
    const std::uint64_t left = new_size - out.size();
    OTA_TRY(seek, body.varint());
    OTA_TRY(diff_len, body.varint());
    OTA_TRY(extra_len, body.varint());
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
    OTA_TRYV(body.bytes(diff_len, [&](const std::uint8_t* d, std::size_t n) {
      const std::uint8_t* o = old.data() + old_pos;
      const std::size_t start = out.size();
      out.resize(start + n);
      for (std::size_t i = 0; i < n; ++i)
        out[start + i] = static_cast<char>(static_cast<std::uint8_t>(o[i] + d[i]));
      old_pos += n;
    }));
    OTA_TRYV(body.bytes(extra_len, [&](const std::uint8_t* d, std::size_t n) {
      out.append(reinterpret_cast<const char*>(d), n);
    }));
  }
  if (!body.at_end()) return errc::corrupt_payload;
  return ok();
}

std::uint32_t crc_of(std::span<const std::byte> s) {
  return base::crc32c(std::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
}

result<delta_info> checked_header(std::span<const std::byte> old_image,
                                  std::span<const std::byte> delta, const apply_options& options) {
  OTA_TRY(h, inspect_delta(delta));
  if (h.new_size > options.max_new_size) return errc::too_large;
  if (h.old_size != old_image.size() || sha256(old_image) != h.old_sha256)
    return errc::wrong_old_image;
  if (crc_of(delta.subspan(header_size)) != h.payload_crc32c) return errc::corrupt_payload;
  return h;
}

errc from_c(int code) {
  switch (code) {
  case OTALEDGER_PATCH_E_NOT_A_DELTA:
    return errc::not_a_delta;
  case OTALEDGER_PATCH_E_VERSION:
    return errc::unsupported_version;
  case OTALEDGER_PATCH_E_UNSUPPORTED:
    return errc::unsupported_codec;
  case OTALEDGER_PATCH_E_BAD_HEADER:
    return errc::corrupt_header;
  case OTALEDGER_PATCH_E_TRUNCATED:
    return errc::truncated;
  case OTALEDGER_PATCH_E_CORRUPT:
    return errc::corrupt_payload;
  case OTALEDGER_PATCH_E_WRONG_OLD:
    return errc::wrong_old_image;
  case OTALEDGER_PATCH_E_NEW_MISMATCH:
    return errc::new_image_mismatch;
  case OTALEDGER_PATCH_E_WORK_TOO_SMALL:
    return errc::work_buffer_too_small;
  case OTALEDGER_PATCH_E_TRAILING:
    return errc::trailing_data;
  default:
    return errc::invalid_argument;
  }
}

// The index of the last old image (diff_options::reuse_suffix_array): its
// suffix array or its hash index.
struct old_index {
  std::shared_ptr<const internal::suffix_index> sa;
  std::shared_ptr<const internal::hash_index> hashed;
  explicit operator bool() const { return sa || hashed; }
};

struct index_cache {
  std::mutex mutex;
  std::uint64_t size = 0;
  sha256_digest sha{};
  old_index index;
};

index_cache& the_index_cache() {
  static index_cache c;
  return c;
}

old_index cached_index(std::uint64_t size, const sha256_digest& sha, match_finder finder) {
  auto& c = the_index_cache();
  std::lock_guard lock(c.mutex);
  if (c.size != size || c.sha != sha) return {};
  old_index i;
  if (finder == match_finder::hash)
    i.hashed = c.index.hashed;
  else
    i.sa = c.index.sa;
  return i;
}

void keep_index(std::uint64_t size, const sha256_digest& sha, old_index index) {
  auto& c = the_index_cache();
  std::lock_guard lock(c.mutex);
  c.size = size;
  c.sha = sha;
  c.index = std::move(index);
}

} // namespace

void drop_suffix_array_cache() {
  auto& c = the_index_cache();
  old_index old;
  std::lock_guard lock(c.mutex);
  std::swap(old, c.index); // freed after the lock is released
}

sha256_digest sha256(std::span<const std::byte> bytes) {
  sha256_digest d;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d.data());
  return d;
}

std::string to_hex(const sha256_digest& d) {
  std::string s;
  for (auto b : d)
    s += fmt::format("{:02x}", b);
  return s;
}

result<std::string> make_delta(std::span<const std::byte> old_image,
                               std::span<const std::byte> new_image, const diff_options& options) {
  constexpr std::uint64_t hard_limit = 0x7FFFFFFE; // 32-bit suffix array
  const std::uint64_t limit = std::min(options.max_image_size, hard_limit);
  if (old_image.size() > limit || new_image.size() > limit) return errc::too_large;
  if (options.codec == codec::lzr && (options.window_log < internal::min_window_log ||
                                      options.window_log > internal::max_window_log ||
                                      options.lit_ctx_bits > internal::max_lit_ctx_bits))
    return errc::invalid_argument;
  if (options.format_version != internal::format_version &&
      options.format_version != internal::format_version_2)
    return errc::invalid_argument;
  if (options.codec == codec::zstd &&
      (options.zstd_level < 1 || options.zstd_level > ZSTD_maxCLevel()))
    return errc::invalid_argument;

  const sha256_digest old_sha = sha256(old_image);
  old_index index;
  if (options.reuse_suffix_array) index = cached_index(old_image.size(), old_sha, options.finder);
  if (!index) {
    if (options.finder == match_finder::hash)
      index.hashed = internal::build_hash_index(as_u8(old_image));
    else
      index.sa = internal::build_suffix_index(as_u8(old_image));
    if (options.reuse_suffix_array) keep_index(old_image.size(), old_sha, index);
  }
  const std::string body = internal::make_commands(as_u8(old_image), as_u8(new_image), nullptr,
                                                   index.sa.get(), index.hashed.get());

  delta_info h;
  h.format_version = internal::format_version;
  h.codec = options.codec;
  h.old_size = old_image.size();
  h.new_size = new_image.size();
  h.body_size = body.size();
  h.old_sha256 = old_sha;
  h.new_sha256 = sha256(new_image);

  std::string payload;
  switch (options.codec) {
  case codec::raw:
    payload = body;
    break;
  case codec::lzr:
    h.window_log = options.window_log;
    h.lit_ctx_bits = options.lit_ctx_bits;
    if (options.format_version == internal::format_version_2) {
      h.format_version = internal::format_version_2;
      payload = internal::lzr2_compress(
          body, as_u8(old_image), {options.window_log, options.lit_ctx_bits, options.lzr_max_chain},
          h.body_size);
      break;
    }
    payload = internal::lzr_compress(
        body, {options.window_log, options.lit_ctx_bits, options.lzr_max_chain});
    break;
  case codec::zstd: {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, options.zstd_level);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 0); // the header has CRC + SHA-256
    ZSTD_CCtx_setPledgedSrcSize(cctx.get(), body.size());
    payload.resize(ZSTD_compressBound(body.size()));
    const std::size_t n =
        ZSTD_compress2(cctx.get(), payload.data(), payload.size(), body.data(), body.size());
    if (ZSTD_isError(n)) return errc::compression_failed;
    payload.resize(n);
    break;
  }
  }
  h.payload_size = payload.size();
  h.payload_crc32c = crc_of(as_bytes(payload));

  std::string out;
  out.reserve(header_size + payload.size());
  internal::write_header(out, h);
  out += payload;
  return out;
}

result<delta_info> inspect_delta(std::span<const std::byte> delta) {
  OTA_TRY(h, internal::read_header(delta));
  const std::uint64_t have = delta.size() - header_size;
  if (have < h.payload_size) return errc::truncated;
  if (have > h.payload_size) return errc::trailing_data;
  otaledger_patch_header ch{};
  ch.version = h.format_version;
  ch.codec = static_cast<std::uint8_t>(h.codec);
  ch.window_log = h.window_log;
  ch.lit_ctx_bits = h.lit_ctx_bits;
  h.device_work_size = otaledger_patch_work_size(&ch);
  return h;
}

result<std::string> apply_delta(std::span<const std::byte> old_image,
                                std::span<const std::byte> delta, const apply_options& options) {
  OTA_TRY(h, checked_header(old_image, delta, options));
  const auto payload = delta.subspan(header_size);
  if (h.format_version == internal::format_version_2) {
    std::string out;
    OTA_TRYV(internal::lzr2_apply(payload, as_u8(old_image), h.new_size, h.body_size, h.window_log,
                                  h.lit_ctx_bits, out));
    if (sha256(as_bytes(out)) != h.new_sha256) return errc::new_image_mismatch;
    return out;
  }
  std::unique_ptr<body_source> src;
  switch (h.codec) {
  case codec::raw:
    src = std::make_unique<raw_source>(payload);
    break;
  case codec::lzr:
    src = std::make_unique<lzr_source>(payload, h);
    break;
  case codec::zstd:
    src = std::make_unique<zstd_source>(payload, h.body_size);
    break;
  }
  std::string out;
  out.reserve(h.new_size);
  body_reader body(*src, h.body_size);
  OTA_TRYV(run_commands(body, as_u8(old_image), out, h.new_size));
  OTA_TRYV(src->finish());
  if (sha256(as_bytes(out)) != h.new_sha256) return errc::new_image_mismatch;
  return out;
}

result<std::string> apply_delta_mcu(std::span<const std::byte> old_image,
                                    std::span<const std::byte> delta,
                                    const apply_options& options) {
  OTA_TRY(h, inspect_delta(delta));
  if (h.new_size > options.max_new_size) return errc::too_large;
  if (h.device_work_size == 0) return errc::unsupported_codec;

  struct io_state {
    std::span<const std::byte> old, delta;
    std::size_t delta_pos = 0;
    std::string out;
  } st{old_image, delta, 0, {}};
  st.out.reserve(h.new_size);

  otaledger_patch_io io{};
  io.user = &st;
  io.old_available = old_image.size();
  io.read_delta = [](void* u, std::uint8_t* buf, std::size_t cap, std::size_t* got) -> int {
    auto* s = static_cast<io_state*>(u);
    const std::size_t n = std::min(cap, s->delta.size() - s->delta_pos);
    std::memcpy(buf, s->delta.data() + s->delta_pos, n);
    s->delta_pos += n;
    *got = n;
    return 0;
  };
  io.read_old = [](void* u, std::uint64_t off, std::uint8_t* buf, std::size_t len) -> int {
    auto* s = static_cast<io_state*>(u);
    if (off > s->old.size() || len > s->old.size() - off) return -1;
    std::memcpy(buf, s->old.data() + off, len);
    return 0;
  };
  io.write_new = [](void* u, const std::uint8_t* buf, std::size_t len) -> int {
    static_cast<io_state*>(u)->out.append(reinterpret_cast<const char*>(buf), len);
    return 0;
  };
  std::vector<std::uint8_t> work(h.device_work_size);
  const int rc = otaledger_patch_apply(&io, work.data(), work.size(), nullptr);
  if (rc != OTALEDGER_PATCH_OK) return from_c(rc);
  return std::move(st.out);
}

result<std::uint64_t> compressed_full_size(std::span<const std::byte> image, int level) {
  std::string buf(ZSTD_compressBound(image.size()), '\0');
  const std::size_t n = ZSTD_compress(buf.data(), buf.size(), image.data(), image.size(), level);
  if (ZSTD_isError(n)) return errc::compression_failed;
  return n;
}

verdict worthwhile(std::uint64_t delta_size, std::uint64_t compressed_full_size, double threshold) {
  verdict v;
  v.ratio = compressed_full_size == 0
                ? 0.0
                : static_cast<double>(delta_size) / static_cast<double>(compressed_full_size);
  v.worthwhile =
      static_cast<double>(delta_size) < threshold * static_cast<double>(compressed_full_size);
  if (v.worthwhile)
    v.message = fmt::format("delta is worthwhile: {} bytes = {:.1f}% of the zstd-compressed full "
                            "image ({} bytes)",
                            delta_size, 100.0 * v.ratio, compressed_full_size);
  else
    v.message = fmt::format("delta is NOT worthwhile: {} bytes = {:.1f}% of the zstd-compressed "
                            "full image ({} bytes), not below {:.0f}%; ship the full image",
                            delta_size, 100.0 * v.ratio, compressed_full_size, 100.0 * threshold);
  return v;
}

} // namespace otaledger::delta
