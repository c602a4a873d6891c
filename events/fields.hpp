// Field reflection for event, command and state value types.
//
// A reflectable struct lists its fields once, in a static member template:
//
//   struct task_paused {
//     static constexpr std::string_view type_name = "task.paused";
//     static constexpr std::uint16_t schema = 1;
//     std::string task;
//     std::string reason;
//     template <class Self, class F> static void fields(Self& s, F&& f) {
//       f("task", s.task); f("reason", s.reason);
//     }
//     bool operator==(const task_paused&) const = default;
//   };
//
// Both codecs (compact binary and JSON) and the random generators of the
// property tests walk that list, so a field is declared in exactly one place.
// The binary form is positional: never reorder, rename or remove a field of a
// stored type; add a new schema version and an upcaster instead (STYLE.md §5.4).
//
// Supported field types: bool, integers, double, std::string, base::timestamp,
// enums with an `enum_names(E)` function (found by ADL) returning the names in
// enumerator order, std::optional<T>, std::vector<T>, and reflectable structs.
#pragma once

#include "base/time.hpp"

#include <array>
#include <concepts>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace otaledger::events {

namespace detail {
struct field_probe {
  template <class T> void operator()(std::string_view, T&) const {}
};
} // namespace detail

/// A struct that lists its fields with `static void fields(Self&, F&&)`.
template <class T>
concept reflectable = requires(T& t) {
  T::fields(t, detail::field_probe{});
};

/// An event type: reflectable, with a stable wire name and a schema version.
template <class T>
concept event_type = reflectable<T> && requires {
  { T::type_name } -> std::convertible_to<std::string_view>;
  { T::schema } -> std::convertible_to<std::uint16_t>;
};

/// An enum whose names are known (for JSON and docs).
template <class E>
concept named_enum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e) } -> std::convertible_to<std::span<const std::string_view>>;
};

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};

/// The name of an enumerator of a named_enum ("?" when out of range).
template <named_enum E> std::string_view enum_name(E e) {
  std::span<const std::string_view> names = enum_names(e);
  auto i = static_cast<std::size_t>(e);
  return i < names.size() ? names[i] : std::string_view{"?"};
}

/// Parses an enumerator name; nullopt when unknown.
template <named_enum E> std::optional<E> enum_from_name(std::string_view name) {
  std::span<const std::string_view> names = enum_names(E{});
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

} // namespace otaledger::events
