#include "kafka/errc.hpp"

#include "base/errc.hpp"

namespace otaledger::kafka {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::invalid_options:
    return "invalid Kafka options";
  case errc::client_failed:
    return "librdkafka could not create the client";
  case errc::broker_unavailable:
    return "no Kafka broker answered";
  case errc::topic_mismatch:
    return "the topic's partition count is not the expected one";
  case errc::unknown_topic:
    return "unknown topic";
  case errc::malformed_record:
    return "a record is not an otaledger envelope";
  case errc::produce_failed:
    return "librdkafka refused a record";
  case errc::consume_failed:
    return "the Kafka consumer failed";
  case errc::timeout:
    return "timed out waiting for Kafka";
  case errc::stopped:
    return "stopped";
  case errc::already_running:
    return "already running";
  case errc::missing_position:
    return "a log position is missing from the topic";
  }
  return "unknown kafka error";
}

const std::error_category& kafka_category() noexcept {
  static const base::enum_category<errc> cat{"otaledger.kafka"};
  return cat;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), kafka_category()};
}

} // namespace otaledger::kafka
