#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace otaledger::base {

/// The 8 bytes at `p` as a native-endian word (an unaligned load).
[[gnu::always_inline]] inline std::uint64_t load64(const void* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

/// Whether two strings are equal, compared inline a word at a time for the
/// usual 8-64 bytes rather than through a memcmp call: for hot loops that
/// compare short names (a fold compares each event's type with the one
/// before it, an interner each id with the one it found).
[[gnu::always_inline]] inline bool short_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n < 8 || n > 64) return a == b;
  // The last word first (names sharing a prefix differ at the end), then the
  // whole words before it; the two may overlap.
  if (load64(a.data() + n - 8) != load64(b.data() + n - 8)) return false;
  for (std::size_t i = 0; i + 8 < n; i += 8)
    if (load64(a.data() + i) != load64(b.data() + i)) return false;
  return true;
}

/// How many leading bytes `a` and `b` share, found a word at a time (keys
/// written in order share most of their bytes with the one before).
inline std::size_t common_prefix(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t x = load64(a.data() + i), y = load64(b.data() + i);
    if (x != y) {
      if constexpr (std::endian::native == std::endian::little)
        return i + static_cast<std::size_t>(std::countr_zero(x ^ y)) / 8;
      else
        return i + static_cast<std::size_t>(std::countl_zero(x ^ y)) / 8;
    }
  }
  while (i < n && a[i] == b[i])
    ++i;
  return i;
}

} // namespace otaledger::base
