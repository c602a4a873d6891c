// How one envelope becomes one Kafka record, and back: the CloudEvents Kafka
// protocol binding, binary content mode (cloudevents/spec
// kafka-protocol-binding.md). docs/kafka.md is the consumers' manual for it.
//
// A record is
//   key     = the stream id ("task-17"), so all events of a stream share a
//             partition and keep their order
//   value   = the envelope's JSON form (events/json_codec.hpp), UTF-8, one line
//   headers = ce_specversion "1.0"
//             ce_id          the event id (UUID text): the deduplication key
//             ce_source      the deployment, e.g. "otaledger://node-1"
//             ce_type        "<type>.v<schema>", e.g. "task.paused.v1", where
//                            schema is the one of the JSON value (the current
//                            schema of the type: an upcast event is published
//                            in its current shape)
//             ce_time        the event's time, RFC 3339 UTC with microseconds
//             ce_subject     the stream id
//             ce_otaposition the global log position (decimal), extension
//             ce_otaversion  the stream version (decimal), extension
//             content-type   "application/json" (the CloudEvents datacontenttype)
//
// Pure functions, no librdkafka: the relay, the benchmark's baseline and the
// tests build records with the same code.
#pragma once

#include "base/result.hpp"
#include "events/envelope.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::kafka {

/// Header names (all lower case, UTF-8 values).
namespace header {
inline constexpr std::string_view specversion = "ce_specversion";
inline constexpr std::string_view id = "ce_id";
inline constexpr std::string_view source = "ce_source";
inline constexpr std::string_view type = "ce_type";
inline constexpr std::string_view time = "ce_time";
inline constexpr std::string_view subject = "ce_subject";
inline constexpr std::string_view position = "ce_otaposition";
inline constexpr std::string_view version = "ce_otaversion";
inline constexpr std::string_view content_type = "content-type";
} // namespace header

/// The CloudEvents spec version we write.
inline constexpr std::string_view cloudevents_spec_version = "1.0";
/// The content type of the value.
inline constexpr std::string_view json_content_type = "application/json";

struct record_header {
  std::string name;
  std::string value;
  bool operator==(const record_header&) const = default;
};

/// One Kafka record, ready to produce.
struct record {
  std::string key;
  std::string value;
  std::vector<record_header> headers;
  bool operator==(const record&) const = default;

  /// The value of the first header with this name, if any.
  std::optional<std::string_view> header_value(std::string_view name) const;
};

/// The CloudEvents type of an event: "<type>.v<schema>" ("task.paused.v1").
std::string cloudevents_type(std::string_view type, std::uint16_t schema);

/// The record of an envelope. Fails when the envelope's payload cannot be
/// decoded (unknown type, malformed data): the JSON value needs the typed event.
result<record> make_record(const events::envelope& e, std::string_view source);

} // namespace otaledger::kafka
