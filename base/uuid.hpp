// 128-bit identifiers (event ids), printed as RFC 4122 text. Generated from a
// per-thread random source, or from a seeded generator for reproducible runs.
#pragma once

#include "base/result.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace otaledger::base {

struct uuid {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  bool is_nil() const noexcept { return hi == 0 && lo == 0; }
  auto operator<=>(const uuid&) const = default;

  /// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case.
  std::string to_string() const;
  /// Parses the 36-character form; anything else is invalid_argument.
  static result<uuid> parse(std::string_view text);
  /// A random version-4 uuid from a thread-local generator.
  static uuid random();
};

/// A deterministic uuid source (version-4 layout) for simulations and tests.
class uuid_generator {
public:
  explicit uuid_generator(std::uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uuid next() noexcept;

private:
  std::uint64_t state_;
};

} // namespace otaledger::base
