// The JSON form of events: what Kafka carries, what `otaledger export` writes
// (JSON Lines), and what the HTTP API shows. docs/events.md and docs/kafka.md
// describe it for consumers in any language.
//
//   {"position":42,"stream":"task-17","version":5,
//    "id":"6f1c...-...","type":"task.paused","schema":1,
//    "time":"2026-11-23T07:36:54.000123Z","principal":"operator:alice",
//    "command":"...","correlation":"...","reason":"...","data":{...}}
//
// `data` holds the event's fields by name: integers as numbers, timestamps as
// RFC 3339 strings, enums by name, absent optionals as null.
#pragma once

#include "base/result.hpp"
#include "events/envelope.hpp"
#include "events/event.hpp"
#include "events/fields.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace otaledger::events {

using json = nlohmann::ordered_json;

namespace detail {

class json_writer {
public:
  explicit json_writer(json& out) : out_(out) {}
  template <class T> void operator()(std::string_view name, const T& v) {
    out_[std::string{name}] = to_value(v);
  }

  template <class T> static json to_value(const T& v) {
    if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T> ||
                  std::is_same_v<T, std::string>) {
      return json(v);
    } else if constexpr (named_enum<T>) {
      return json(std::string{enum_name(v)});
    } else if constexpr (std::is_enum_v<T>) {
      return json(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_same_v<T, base::timestamp>) {
      return json(base::format_rfc3339(v));
    } else if constexpr (is_optional<T>::value) {
      return v ? to_value(*v) : json(nullptr);
    } else if constexpr (is_vector<T>::value) {
      json arr = json::array();
      for (const auto& x : v)
        arr.push_back(to_value(x));
      return arr;
    } else {
      json obj = json::object();
      json_writer w{obj};
      T::fields(v, w);
      return obj;
    }
  }

private:
  json& out_;
};

class json_reader {
public:
  json_reader(const json& in, std::string path, std::string& error)
      : in_(in), path_(std::move(path)), error_(error) {}

  template <class T> void operator()(std::string_view name, T& v) {
    if (!error_.empty()) return;
    auto p = path_ + "." + std::string{name};
    auto it = in_.find(std::string{name});
    if (it == in_.end()) {
      if constexpr (is_optional<T>::value) {
        v.reset();
        return;
      } else {
        error_ = "missing field " + p;
        return;
      }
    }
    from_value(*it, v, p, error_);
  }

  template <class T>
  static void from_value(const json& j, T& v, const std::string& p, std::string& error) {
    if (!error.empty()) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (!j.is_boolean()) return fail(error, p, "a boolean");
      v = j.get<bool>();
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
      if (!j.is_number_unsigned() || j.get<std::uint64_t>() > std::numeric_limits<T>::max())
        return fail(error, p, "an unsigned integer in range");
      v = static_cast<T>(j.get<std::uint64_t>());
    } else if constexpr (std::is_integral_v<T>) {
      if (!j.is_number_integer()) return fail(error, p, "an integer");
      auto x = j.get<std::int64_t>();
      if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        return fail(error, p, "an integer in range");
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
        return fail(error, p, "an integer in range");
      v = static_cast<T>(x);
    } else if constexpr (std::is_same_v<T, double>) {
      if (!j.is_number()) return fail(error, p, "a number");
      v = j.get<double>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!j.is_string()) return fail(error, p, "a string");
      v = j.get<std::string>();
    } else if constexpr (named_enum<T>) {
      if (!j.is_string()) return fail(error, p, "a name");
      auto e = enum_from_name<T>(j.get<std::string>());
      if (!e) return fail(error, p, "one of the known names");
      v = *e;
    } else if constexpr (std::is_enum_v<T>) {
      if (!j.is_number_integer()) return fail(error, p, "an integer");
      v = static_cast<T>(j.get<std::int64_t>());
    } else if constexpr (std::is_same_v<T, base::timestamp>) {
      if (!j.is_string()) return fail(error, p, "an RFC 3339 time");
      auto t = base::parse_rfc3339(j.get<std::string>());
      if (!t) return fail(error, p, "an RFC 3339 time");
      v = t.value();
    } else if constexpr (is_optional<T>::value) {
      if (j.is_null()) {
        v.reset();
        return;
      }
      v.emplace();
      from_value(j, *v, p, error);
    } else if constexpr (is_vector<T>::value) {
      if (!j.is_array()) return fail(error, p, "an array");
      v.clear();
      v.resize(j.size());
      for (std::size_t i = 0; i < j.size(); ++i)
        from_value(j[i], v[i], p + "[" + std::to_string(i) + "]", error);
    } else {
      if (!j.is_object()) return fail(error, p, "an object");
      json_reader r{j, p, error};
      T::fields(v, r);
    }
  }

private:
  static void fail(std::string& error, const std::string& p, const char* what) {
    error = p + " must be " + what;
  }
  const json& in_;
  std::string path_;
  std::string& error_;
};

} // namespace detail

/// The JSON object of a reflectable value (fields by name, in declaration order).
template <reflectable T> json to_json_value(const T& v) {
  return detail::json_writer::to_value(v);
}

/// Reads a reflectable value from JSON. On failure `error` says which field
/// was wrong and how (e.g. "data.percent must be an unsigned integer in range").
template <reflectable T>
result<T> from_json_value(const json& j, std::string& error, std::string path = "data") {
  T v{};
  error.clear();
  detail::json_reader::from_value(j, v, path, error);
  if (!error.empty()) return make_error_code(errc::malformed);
  return v;
}

/// The JSON of a typed event's fields.
json event_to_json(const event& e);
/// Reads the fields of an event of the given type (current schema) from JSON.
result<event> event_from_json(std::string_view type, const json& data, std::string& error);

/// The whole envelope as JSON; `data` is decoded through the catalog.
result<json> envelope_to_json(const envelope& e);
/// One line of JSON Lines (no trailing newline).
result<std::string> envelope_to_json_line(const envelope& e);
/// Reads an envelope from its JSON form (data re-encoded in compact binary at
/// the current schema). `error` names the first wrong field.
result<envelope> envelope_from_json(const json& j, std::string& error);

} // namespace otaledger::events
