#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace otaledger::base {

/// Whether two strings are equal, compared inline for the usual 8-32 bytes
/// (four overlapping words) rather than through a memcmp call: for hot loops
/// that compare short names (a fold compares each event's type with the one
/// before it).
[[gnu::always_inline]] inline bool short_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n < 8 || n > 32) return a == b;
  const auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  // Words at 0, s, n - 8 - s and n - 8 cover all n bytes and stay inside them.
  const std::size_t s = (n - 8 + 2) / 3;
  return word(a.data() + n - 8) == word(b.data() + n - 8) && word(a.data()) == word(b.data()) &&
         word(a.data() + s) == word(b.data() + s) &&
         word(a.data() + n - 8 - s) == word(b.data() + n - 8 - s);
}

} // namespace otaledger::base
