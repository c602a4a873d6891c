#include "delta/internal/format.hpp"

#include "base/crc32c.hpp"

#include <cstring>

namespace otaledger::delta::internal {
namespace {

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t get_le(const std::byte* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

} // namespace

void write_header(std::string& out, const delta_info& info) {
  const std::size_t start = out.size();
  out.append(magic, sizeof magic);
  put_le(out, info.format_version, 2);
  out.push_back(static_cast<char>(info.codec));
  out.push_back(static_cast<char>(info.window_log));
  out.push_back(static_cast<char>(info.lit_ctx_bits));
  out.append(3, '\0'); // flags and reserved
  put_le(out, info.old_size, 8);
  put_le(out, info.new_size, 8);
  put_le(out, info.body_size, 8);
  put_le(out, info.payload_size, 8);
  out.append(reinterpret_cast<const char*>(info.old_sha256.data()), 32);
  out.append(reinterpret_cast<const char*>(info.new_sha256.data()), 32);
  put_le(out, info.payload_crc32c, 4);
  put_le(out, base::crc32c(std::string_view(out).substr(start, 116)), 4);
}

result<delta_info> read_header(std::span<const std::byte> b) {
  if (b.size() < sizeof magic || std::memcmp(b.data(), magic, sizeof magic) != 0)
    return errc::not_a_delta;
  if (b.size() < header_size) return errc::truncated;
  const auto crc = base::crc32c(std::string_view(reinterpret_cast<const char*>(b.data()), 116));
  if (crc != get_le(b.data() + 116, 4)) return errc::corrupt_header;
  delta_info h;
  h.format_version = static_cast<std::uint16_t>(get_le(b.data() + 8, 2));
  if (h.format_version != format_version && h.format_version != format_version_2)
    return errc::unsupported_version;
  const auto codec_byte = std::to_integer<std::uint8_t>(b[10]);
  h.window_log = std::to_integer<std::uint8_t>(b[11]);
  h.lit_ctx_bits = std::to_integer<std::uint8_t>(b[12]);
  h.old_size = get_le(b.data() + 16, 8);
  h.new_size = get_le(b.data() + 24, 8);
  h.body_size = get_le(b.data() + 32, 8);
  h.payload_size = get_le(b.data() + 40, 8);
  std::memcpy(h.old_sha256.data(), b.data() + 48, 32);
  std::memcpy(h.new_sha256.data(), b.data() + 80, 32);
  h.payload_crc32c = static_cast<std::uint32_t>(get_le(b.data() + 112, 4));
  if (b[13] != std::byte{0} || b[14] != std::byte{0} || b[15] != std::byte{0})
    return errc::corrupt_header;
  constexpr std::uint64_t limit = std::uint64_t{1} << 48;
  if (h.old_size >= limit || h.new_size >= limit || h.body_size >= limit || h.payload_size >= limit)
    return errc::corrupt_header;
  switch (codec_byte) {
  case 0:
    h.codec = codec::raw;
    if (h.window_log != 0 || h.lit_ctx_bits != 0 || h.payload_size != h.body_size)
      return errc::corrupt_header;
    break;
  case 1:
    h.codec = codec::lzr;
    if (h.window_log < min_window_log || h.window_log > max_window_log ||
        h.lit_ctx_bits > max_lit_ctx_bits || h.payload_size < 5)
      return errc::corrupt_header;
    break;
  case 2:
    h.codec = codec::zstd;
    if (h.lit_ctx_bits != 0) return errc::corrupt_header;
    break;
  default:
    return errc::unsupported_codec;
  }
  if (h.format_version == format_version_2) {
    // Format 2 defines codec lzr only; body_size counts the commands, each
    // of which yields >= 1 byte.
    if (h.codec != codec::lzr) return errc::unsupported_codec;
    if (h.body_size > h.new_size) return errc::corrupt_header;
    return h;
  }
  // A command yields >= 1 byte and takes <= 30 bytes of varints.
  if (h.body_size > h.new_size * 31) return errc::corrupt_header;
  return h;
}

} // namespace otaledger::delta::internal
