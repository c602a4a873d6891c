// The delta container (docs/delta.md, "Header" and "Command stream"): header
// encoding and decoding and the varints of the command stream. Internal to
// delta/.
#pragma once

#include "base/result.hpp"
#include "delta/delta.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace otaledger::delta::internal {

inline constexpr char magic[8] = {'O', 'T', 'A', 'D', 'E', 'L', 'T', 'A'};
/// Format 1: every codec; format 2: codec lzr only (separate models for the
/// command integers, difference bytes and extra bytes). Both are read.
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::uint16_t format_version_2 = 2;
inline constexpr std::uint8_t min_window_log = 8;
inline constexpr std::uint8_t max_window_log = 16;
inline constexpr std::uint8_t max_lit_ctx_bits = 3;

/// Appends the 120-byte header for `info` (its CRC is computed here).
void write_header(std::string& out, const delta_info& info);

/// Parses and validates a header (magic, version, CRC, reserved bytes, field
/// ranges); does not look past the first 120 bytes except for the size check
/// done by inspect_delta.
result<delta_info> read_header(std::span<const std::byte> bytes);

/// Appends an unsigned LEB128 varint (at most 10 bytes).
inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// Zigzag: 0, -1, 1, -2... -> 0, 1, 2, 3...
inline std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

} // namespace otaledger::delta::internal
