// CRC32C (Castagnoli), the checksum of every stored record (as in LevelDB's
// log format). Uses the SSE4.2 instruction when the CPU has it, a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace otaledger::base {

/// Extends `crc` (0 to start) with `n` bytes at `data`.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;

inline std::uint32_t crc32c(std::string_view bytes) noexcept {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

} // namespace otaledger::base
