// named_type<T, Tag>: a value that cannot be mixed up with another of the same
// representation (Redpanda's named_type). A device id cannot be passed where a
// task id is expected; a log position is not a stream version.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace otaledger {

template <class T, class Tag> class named_type {
public:
  using type = T;
  constexpr named_type() = default;
  constexpr explicit named_type(T v) : value_(std::move(v)) {}
  constexpr const T& operator()() const noexcept { return value_; }
  constexpr const T& value() const noexcept { return value_; }
  constexpr auto operator<=>(const named_type&) const = default;
  constexpr bool operator==(const named_type&) const = default;

private:
  T value_{};
};

template <class T, class Tag>
std::ostream& operator<<(std::ostream& os, const named_type<T, Tag>& x) {
  return os << x();
}

/// Global position of an event in the log: dense, from 1, in commit order.
/// 0 means "before the first event".
using log_position = named_type<std::uint64_t, struct log_position_tag>;

/// Version of an event inside its stream: dense, from 1. 0 means "no event yet".
using stream_version = named_type<std::uint64_t, struct stream_version_tag>;

} // namespace otaledger

template <class T, class Tag> struct std::hash<otaledger::named_type<T, Tag>> {
  std::size_t operator()(const otaledger::named_type<T, Tag>& x) const noexcept {
    return std::hash<T>{}(x());
  }
};
