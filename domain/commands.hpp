// Every command of every aggregate, as one variant, with its JSON form.
//
// JSON form (what the scenario files use, and what the HTTP API can reuse):
//   {"command": "pause_task", "data": {"task": "17"}}
// `data` holds the command's fields by name (events/json_codec.hpp rules:
// timestamps as RFC 3339, enums by name, absent optionals as null). With
// fill_defaults, missing fields take their default values (a default-built
// command's JSON is merged under the given object, recursively), so a client
// names only what it sets; unknown names and wrong types are still refused.
#pragma once

#include "base/result.hpp"
#include "domain/device_commands.hpp"
#include "domain/firmware_commands.hpp"
#include "domain/group_commands.hpp"
#include "domain/package_commands.hpp"
#include "domain/product_commands.hpp"
#include "domain/task_commands.hpp"
#include "events/json_codec.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace otaledger::domain {

namespace detail {
template <class... V> struct concat_variants;
template <class V> struct concat_variants<V> { using type = V; };
template <class... A, class... B, class... Rest>
struct concat_variants<std::variant<A...>, std::variant<B...>, Rest...>
    : concat_variants<std::variant<A..., B...>, Rest...> {};
} // namespace detail

/// Any command of any aggregate.
using command =
    typename detail::concat_variants<product_command, group_command, device_command,
                                     firmware_command, package_command, task_command>::type;

/// Whether T is one of the alternatives of the variant V.
template <class T, class V> struct is_alternative : std::false_type {};
template <class T, class... A>
struct is_alternative<T, std::variant<A...>> : std::bool_constant<(std::is_same_v<T, A> || ...)> {};
template <class T, class V> inline constexpr bool is_alternative_v = is_alternative<T, V>::value;

/// The command's name ("pause_task").
std::string_view command_name(const command& c);
/// Every command name, in variant order.
const std::vector<std::string_view>& command_names();

/// Reads a command from its name and data. On failure `error` names the field
/// ("data.task must be a string") or the unknown name.
result<command> command_from_json(std::string_view name, const events::json& data,
                                  std::string& error, bool fill_defaults = true);
/// Reads {"command": name, "data": {...}}.
result<command> command_from_json(const events::json& j, std::string& error,
                                  bool fill_defaults = true);
/// {"command": name, "data": {...}}.
events::json command_to_json(const command& c);

/// Merges `overlay` onto `base`: objects key by key (recursively), anything
/// else replaced. Used for fill_defaults; exposed for tests and the API.
events::json merge_json(events::json base, const events::json& overlay);

} // namespace otaledger::domain
