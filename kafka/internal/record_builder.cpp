#include "kafka/internal/record_builder.hpp"

#include "base/time.hpp"
#include "events/event.hpp"
#include "events/json_codec.hpp"
#include "kafka/internal/envelope_json.hpp"

#include <charconv>

namespace otaledger::kafka::internal {
namespace {

// base::uuid::to_string's text (lower-case 8-4-4-4-12), into a fixed buffer.
void format_uuid(const base::uuid& u, std::array<char, 36>& out) {
  static constexpr char digits[] = "0123456789abcdef";
  std::size_t k = 0;
  auto put = [&](std::uint64_t v, int from_nibble, int count) {
    for (int i = 0; i < count; ++i)
      out[k++] = digits[(v >> (60 - 4 * (from_nibble + i))) & 0xF];
  };
  put(u.hi, 0, 8);
  out[k++] = '-';
  put(u.hi, 8, 4);
  out[k++] = '-';
  put(u.hi, 12, 4);
  out[k++] = '-';
  put(u.lo, 0, 4);
  out[k++] = '-';
  put(u.lo, 4, 12);
}

} // namespace

result<void> record_builder::build(const events::envelope& e) {
  OTA_TRY(ev, events::decode(e));
  key_ = e.stream;
  format_uuid(e.id, id_);
  time_.clear();
  append_rfc3339(time_, e.time.micros);
  // ce_type: the type and the current schema (an upcast event is published
  // in its current shape, and the JSON value says the same schema).
  auto schema = events::schema_of(ev);
  type_.assign(e.type);
  type_.append(".v");
  char buf[8];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, schema);
  type_.append(buf, end);
  position_len_ = static_cast<std::size_t>(
      std::to_chars(position_.data(), position_.data() + position_.size(), e.position()).ptr -
      position_.data());
  version_len_ = static_cast<std::size_t>(
      std::to_chars(version_.data(), version_.data() + version_.size(), e.version()).ptr -
      version_.data());
  value_.clear();
  if (!write_envelope_json(value_, e, ev, {id_.data(), id_.size()}, time_)) {
    // A string that is not valid UTF-8: nlohmann, with replacement characters.
    OTA_TRY(j, events::envelope_to_json(e));
    value_ = j.dump(-1, ' ', false, events::json::error_handler_t::replace);
  }
  return ok();
}

} // namespace otaledger::kafka::internal
