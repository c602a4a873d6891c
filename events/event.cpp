#include "events/event.hpp"

#include "base/bytes.hpp"

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

/// Decodes into `out`, reusing it when it already holds a T.
template <class T> bool decode_into(std::string_view data, event& out) {
  T* v = std::get_if<T>(&out);
  if (v)
    *v = T{};
  else
    v = &out.emplace<T>();
  detail::binary_reader r{data};
  r.read(*v);
  return r.ok() && r.at_end();
}

struct type_info {
  std::uint16_t schema;
  decoder decode;
  bool (*decode_into)(std::string_view, event&);
};

template <std::size_t... I>
std::unordered_map<std::string_view, type_info> make_table(std::index_sequence<I...>) {
  std::unordered_map<std::string_view, type_info> t;
  ((t.emplace(std::variant_alternative_t<I, event>::type_name,
              type_info{std::variant_alternative_t<I, event>::schema,
                        &decode_as<std::variant_alternative_t<I, event>>,
                        &decode_into<std::variant_alternative_t<I, event>>})),
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

result<void> decode_payload_into(std::string_view type, std::uint16_t schema, std::string_view data,
                                 event& out) {
  // Consecutive events are mostly of one type: the last lookup first.
  thread_local std::string_view last_type;
  thread_local const type_info* last = nullptr;
  const type_info* info = last;
  if (!info || !base::short_equal(type, last_type)) {
    auto it = table().find(type);
    if (it == table().end()) return make_error_code(errc::unknown_type);
    info = &it->second;
    last_type = it->first; // the catalog's own (static) name
    last = info;
  }
  if (schema != info->schema) {
    OTA_TRY(e, decode_payload(type, schema, data));
    out = std::move(e);
    return outcome::success();
  }
  if (!info->decode_into(data, out)) return make_error_code(errc::malformed);
  return outcome::success();
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
