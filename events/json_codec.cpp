#include "events/json_codec.hpp"

#include <unordered_map>

namespace otaledger::events {
namespace {

using from_json_fn = result<event> (*)(const json&, std::string&);

template <class T> result<event> read_as(const json& j, std::string& error) {
  OTA_TRY(v, from_json_value<T>(j, error));
  return event{std::move(v)};
}

const std::unordered_map<std::string_view, from_json_fn>& readers() {
  static const auto t = []<std::size_t... I>(std::index_sequence<I...>) {
    std::unordered_map<std::string_view, from_json_fn> m;
    (m.emplace(std::variant_alternative_t<I, event>::type_name,
               &read_as<std::variant_alternative_t<I, event>>),
     ...);
    return m;
  }
  (std::make_index_sequence<std::variant_size_v<event>>{});
  return t;
}

bool get_string(const json& j, const char* key, std::string& out, std::string& error,
                bool required = true) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) error = std::string{"missing field "} + key;
    return !required;
  }
  if (!it->is_string()) {
    error = std::string{key} + " must be a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool get_u64(const json& j, const char* key, std::uint64_t& out, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    error = std::string{key} + " must be an unsigned integer";
    return false;
  }
  out = it->get<std::uint64_t>();
  return true;
}

} // namespace

json event_to_json(const event& e) {
  return std::visit([](const auto& x) { return to_json_value(x); }, e);
}

result<event> event_from_json(std::string_view type, const json& data, std::string& error) {
  auto it = readers().find(type);
  if (it == readers().end()) {
    error = "unknown event type '" + std::string{type} + "'";
    return make_error_code(errc::unknown_type);
  }
  return it->second(data, error);
}

result<json> envelope_to_json(const envelope& e) {
  OTA_TRY(ev, decode(e));
  json j;
  j["position"] = e.position();
  j["stream"] = e.stream;
  j["version"] = e.version();
  j["id"] = e.id.to_string();
  j["type"] = e.type;
  // An upcast event is shown in its current shape, so the schema is the current one.
  j["schema"] = schema_of(ev);
  j["time"] = base::format_rfc3339(e.time);
  j["principal"] = e.meta.principal;
  j["command"] = e.meta.command;
  j["correlation"] = e.meta.correlation;
  j["reason"] = e.meta.reason;
  j["data"] = event_to_json(ev);
  return j;
}

result<std::string> envelope_to_json_line(const envelope& e) {
  OTA_TRY(j, envelope_to_json(e));
  return j.dump();
}

result<envelope> envelope_from_json(const json& j, std::string& error) {
  error.clear();
  if (!j.is_object()) {
    error = "an event must be a JSON object";
    return make_error_code(errc::malformed);
  }
  envelope e;
  std::uint64_t pos = 0, ver = 0, schema = 0;
  std::string id, time;
  if (!get_u64(j, "position", pos, error) || !get_string(j, "stream", e.stream, error) ||
      !get_u64(j, "version", ver, error) || !get_string(j, "id", id, error) ||
      !get_string(j, "type", e.type, error) || !get_u64(j, "schema", schema, error) ||
      !get_string(j, "time", time, error) ||
      !get_string(j, "principal", e.meta.principal, error, false) ||
      !get_string(j, "command", e.meta.command, error, false) ||
      !get_string(j, "correlation", e.meta.correlation, error, false) ||
      !get_string(j, "reason", e.meta.reason, error, false))
    return make_error_code(errc::malformed);
  e.position = log_position{pos};
  e.version = stream_version{ver};
  auto u = uuid::parse(id);
  if (!u) {
    error = "id must be a UUID";
    return make_error_code(errc::malformed);
  }
  e.id = u.value();
  auto t = base::parse_rfc3339(time);
  if (!t) {
    error = "time must be an RFC 3339 time";
    return make_error_code(errc::malformed);
  }
  e.time = t.value();
  auto data = j.find("data");
  if (data == j.end()) {
    error = "missing field data";
    return make_error_code(errc::malformed);
  }
  OTA_TRY(ev, event_from_json(e.type, *data, error));
  if (schema != schema_of(ev)) {
    error = "schema " + std::to_string(schema) + " of " + e.type + " is not the current one";
    return make_error_code(errc::unsupported_schema);
  }
  e.schema = schema_of(ev);
  e.data = encode_payload(ev);
  return e;
}

} // namespace otaledger::events
