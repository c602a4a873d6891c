#include "events/event.hpp"

#include <map>
#include <mutex>
#include <unordered_map>

namespace otaledger::events {
namespace {

using decoder = result<event> (*)(std::string_view);

template <class T> result<event> decode_as(std::string_view data) {
  OTA_TRY(v, decode_binary<T>(data));
  return event{std::move(v)};
}

struct type_info {
  std::uint16_t schema;
  decoder decode;
};

template <std::size_t... I>
std::unordered_map<std::string_view, type_info> make_table(std::index_sequence<I...>) {
  std::unordered_map<std::string_view, type_info> t;
  ((t.emplace(std::variant_alternative_t<I, event>::type_name,
              type_info{std::variant_alternative_t<I, event>::schema,
                        &decode_as<std::variant_alternative_t<I, event>>})),
   ...);
  return t;
}

const std::unordered_map<std::string_view, type_info>& table() {
  static const auto t = make_table(std::make_index_sequence<std::variant_size_v<event>>{});
  return t;
}

struct upcaster_registry {
  std::mutex mtx;
  std::map<std::pair<std::string, std::uint16_t>, upcaster, std::less<>> fns;
};

upcaster_registry& upcasters() {
  static upcaster_registry r;
  return r;
}

} // namespace

std::string_view type_name_of(const event& e) {
  return std::visit([](const auto& x) { return std::string_view{x.type_name}; }, e);
}

std::uint16_t schema_of(const event& e) {
  return std::visit([](const auto& x) { return static_cast<std::uint16_t>(x.schema); }, e);
}

std::string encode_payload(const event& e) {
  return std::visit([](const auto& x) { return encode_binary(x); }, e);
}

result<event> decode_payload(std::string_view type, std::uint16_t schema, std::string_view data) {
  auto it = table().find(type);
  if (it == table().end()) return make_error_code(errc::unknown_type);
  if (schema == it->second.schema) return it->second.decode(data);
  auto& reg = upcasters();
  std::lock_guard lock{reg.mtx};
  auto up = reg.fns.find(std::pair{std::string{type}, schema});
  if (up == reg.fns.end()) return make_error_code(errc::unsupported_schema);
  return up->second(data);
}

result<event> decode(const envelope_view& e) {
  return decode_payload(e.type, e.schema, e.data);
}

const std::vector<std::string_view>& catalog_type_names() {
  static const auto names = [] {
    std::vector<std::string_view> v;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (v.push_back(std::variant_alternative_t<I, event>::type_name), ...);
    }
    (std::make_index_sequence<std::variant_size_v<event>>{});
    return v;
  }();
  return names;
}

void register_upcaster(std::string type, std::uint16_t from_schema, upcaster fn) {
  auto& reg = upcasters();
  std::lock_guard lock{reg.mtx};
  reg.fns[std::pair{std::move(type), from_schema}] = std::move(fn);
}

} // namespace otaledger::events
