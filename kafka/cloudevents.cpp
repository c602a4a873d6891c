#include "kafka/cloudevents.hpp"

#include "kafka/internal/record_builder.hpp"

#include <fmt/format.h>

namespace otaledger::kafka {

std::optional<std::string_view> record::header_value(std::string_view name) const {
  for (const auto& h : headers)
    if (h.name == name) return std::string_view{h.value};
  return std::nullopt;
}

std::string cloudevents_type(std::string_view type, std::uint16_t schema) {
  return fmt::format("{}.v{}", type, schema);
}

result<record> make_record(const events::envelope& e, std::string_view source) {
  internal::record_builder b{std::string{source}};
  OTA_TRYV(b.build(e));
  record r;
  r.key = std::string{b.key()};
  r.value = std::string{b.value()};
  r.headers.reserve(internal::record_builder::header_count);
  b.for_each_header([&](std::string_view name, std::string_view value) {
    r.headers.push_back({std::string{name}, std::string{value}});
  });
  return r;
}

} // namespace otaledger::kafka
