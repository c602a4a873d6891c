#include "domain/commands.hpp"

#include <unordered_map>

namespace otaledger::domain {

namespace {

using reader = result<command> (*)(const events::json&, std::string&, bool);

// Names the type does not have are mistakes (a typo would otherwise be a
// silently ignored setting). Checked wherever the default has an object.
bool known_keys(const events::json& defaults, const events::json& data, const std::string& path,
                std::string& error) {
  if (!defaults.is_object() || !data.is_object()) return true;
  for (auto it = data.begin(); it != data.end(); ++it) {
    auto d = defaults.find(it.key());
    if (d == defaults.end()) {
      error = "unknown field " + path + "." + it.key();
      return false;
    }
    if (!known_keys(*d, it.value(), path + "." + it.key(), error)) return false;
  }
  return true;
}

template <class T>
result<command> read_as(const events::json& data, std::string& error, bool fill) {
  auto defaults = events::to_json_value(T{});
  if (!known_keys(defaults, data, "data", error)) return make_error_code(events::errc::malformed);
  if (fill) {
    auto merged = merge_json(std::move(defaults), data);
    OTA_TRY(v, events::from_json_value<T>(merged, error));
    return command{std::move(v)};
  }
  OTA_TRY(v, events::from_json_value<T>(data, error));
  return command{std::move(v)};
}

const std::unordered_map<std::string_view, reader>& readers() {
  static const auto table = []<std::size_t... I>(std::index_sequence<I...>) {
    std::unordered_map<std::string_view, reader> m;
    (m.emplace(std::variant_alternative_t<I, command>::command_name,
               &read_as<std::variant_alternative_t<I, command>>),
     ...);
    return m;
  }
  (std::make_index_sequence<std::variant_size_v<command>>{});
  return table;
}

} // namespace

std::string_view command_name(const command& c) {
  return std::visit([](const auto& x) { return std::string_view{x.command_name}; }, c);
}

const std::vector<std::string_view>& command_names() {
  static const auto names = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::vector<std::string_view>{std::variant_alternative_t<I, command>::command_name...};
  }
  (std::make_index_sequence<std::variant_size_v<command>>{});
  return names;
}

events::json merge_json(events::json base, const events::json& overlay) {
  if (!base.is_object() || !overlay.is_object()) return overlay;
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    auto found = base.find(it.key());
    if (found != base.end() && found->is_object() && it.value().is_object())
      *found = merge_json(*found, it.value());
    else
      base[it.key()] = it.value();
  }
  return base;
}

result<command> command_from_json(std::string_view name, const events::json& data,
                                  std::string& error, bool fill_defaults) {
  auto it = readers().find(name);
  if (it == readers().end()) {
    error = "unknown command '" + std::string{name} + "'";
    return make_error_code(events::errc::unknown_type);
  }
  if (!data.is_object()) {
    error = "data must be an object";
    return make_error_code(events::errc::malformed);
  }
  return it->second(data, error, fill_defaults);
}

result<command> command_from_json(const events::json& j, std::string& error, bool fill_defaults) {
  if (!j.is_object() || !j.contains("command") || !j["command"].is_string()) {
    error = "a command must be an object with a string field \"command\"";
    return make_error_code(events::errc::malformed);
  }
  static const events::json empty = events::json::object();
  auto data = j.find("data");
  return command_from_json(j["command"].get<std::string>(), data == j.end() ? empty : *data, error,
                           fill_defaults);
}

events::json command_to_json(const command& c) {
  events::json j;
  j["command"] = std::string{command_name(c)};
  j["data"] = std::visit([](const auto& x) { return events::to_json_value(x); }, c);
  return j;
}

} // namespace otaledger::domain
