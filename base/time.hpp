// Time as a value: microseconds since the Unix epoch, UTC. The domain never
// reads a clock; time enters through commands (decide_context::now) and is
// recorded in events, so replay is deterministic.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace otaledger::base {

struct timestamp {
  std::int64_t micros = 0; ///< microseconds since 1970-01-01T00:00:00Z
  auto operator<=>(const timestamp&) const = default;
  static constexpr timestamp from_seconds(std::int64_t s) { return {s * 1'000'000}; }
  constexpr std::int64_t seconds() const { return micros / 1'000'000; }
};

/// RFC 3339 with microseconds and a Z, e.g. 2026-11-23T07:36:54.000123Z.
std::string format_rfc3339(timestamp t);
/// Parses RFC 3339 (Z or +hh:mm offset, optional fraction up to microseconds).
result<timestamp> parse_rfc3339(std::string_view text);

/// A source of the current time: the system clock in production, a manual
/// clock in tests and simulations (no sleeping in tests).
class clock {
public:
  virtual ~clock() = default;
  virtual timestamp now() const = 0;
};

/// The system's real-time clock.
class system_clock final : public clock {
public:
  timestamp now() const override;
};

/// A clock that moves only when told to.
class manual_clock final : public clock {
public:
  explicit manual_clock(timestamp start = {}) : now_(start) {}
  timestamp now() const override { return now_; }
  void set(timestamp t) { now_ = t; }
  void advance_micros(std::int64_t us) { now_.micros += us; }

private:
  timestamp now_;
};

} // namespace otaledger::base
