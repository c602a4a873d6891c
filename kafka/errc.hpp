// Errors of the Kafka layer, as values (STYLE.md §7). librdkafka's
// rd_kafka_resp_err_t never leaves kafka/: it is converted to one of these
// codes the moment it is returned, and its text goes to the log or to
// relay_stats::last_error.
#pragma once

#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::kafka {

enum class errc : int {
  ok = 0,
  invalid_options = 1,    ///< an option failed validation (the logger says which and why)
  client_failed = 2,      ///< librdkafka refused to create a client or a configuration
  broker_unavailable = 3, ///< no broker answered in time
  topic_mismatch = 4,     ///< the topic exists with another partition count than expected
  unknown_topic = 5,      ///< the topic does not exist (and was not created)
  malformed_record = 6,   ///< a record's value is not an envelope in the JSON form
  produce_failed = 7,     ///< librdkafka refused a record (e.g. larger than message.max.bytes)
  consume_failed = 8,     ///< the consumer reported an error it cannot recover from
  timeout = 9,            ///< a wait ended before its condition held
  stopped = 10,           ///< the component was stopped
  already_running = 11,   ///< start() on a component that runs
  missing_position = 12,  ///< a log position never arrived from the topic (views from Kafka)
};

std::string_view to_message(errc e);
const std::error_category& kafka_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// Every enumerator except ok, for the consistency test.
inline constexpr errc all_errc[] = {
    errc::invalid_options, errc::client_failed,    errc::broker_unavailable, errc::topic_mismatch,
    errc::unknown_topic,   errc::malformed_record, errc::produce_failed,     errc::consume_failed,
    errc::timeout,         errc::stopped,          errc::already_running,
    errc::missing_position};

} // namespace otaledger::kafka

template <> struct std::is_error_code_enum<otaledger::kafka::errc> : std::true_type {};
