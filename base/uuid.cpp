#include "base/uuid.hpp"

#include "base/errc.hpp"

#include <random>

namespace otaledger::base {
namespace {

std::uint64_t splitmix(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uuid make_v4(std::uint64_t hi, std::uint64_t lo) noexcept {
  hi = (hi & ~0xF000ull) | 0x4000ull;                           // version 4
  lo = (lo & ~(0xC000000000000000ull)) | 0x8000000000000000ull; // variant 10
  return {hi, lo};
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

std::string uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  auto put = [&](std::uint64_t v, int from_nibble, int count) {
    for (int i = 0; i < count; ++i)
      out.push_back(digits[(v >> (60 - 4 * (from_nibble + i))) & 0xF]);
  };
  put(hi, 0, 8);
  out.push_back('-');
  put(hi, 8, 4);
  out.push_back('-');
  put(hi, 12, 4);
  out.push_back('-');
  put(lo, 0, 4);
  out.push_back('-');
  put(lo, 4, 12);
  return out;
}

result<uuid> uuid::parse(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
    return make_error_code(errc::invalid_argument);
  uuid u;
  int nibble = 0;
  for (char c : text) {
    if (c == '-') continue;
    int v = hex_value(c);
    if (v < 0) return make_error_code(errc::invalid_argument);
    if (nibble < 16)
      u.hi = (u.hi << 4) | static_cast<std::uint64_t>(v);
    else
      u.lo = (u.lo << 4) | static_cast<std::uint64_t>(v);
    ++nibble;
  }
  return u;
}

uuid uuid::random() {
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  auto hi = splitmix(state);
  auto lo = splitmix(state);
  return make_v4(hi, lo);
}

uuid uuid_generator::next() noexcept {
  auto hi = splitmix(state_);
  auto lo = splitmix(state_);
  return make_v4(hi, lo);
}

} // namespace otaledger::base
