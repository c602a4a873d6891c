#include "kafka/internal/client.hpp"

#include <fmt/format.h>

namespace otaledger::kafka::internal {
namespace {

void log_callback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* ctx = context_of(rk);
  if (!ctx || !ctx->logger || !*ctx->logger) return;
  // syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug.
  log_level l = level <= 3   ? log_level::error
                : level == 4 ? log_level::warning
                : level <= 6 ? log_level::info
                             : log_level::debug;
  // The relay turns on enable.gapless.guarantee on purpose (docs/kafka.md);
  // librdkafka's "experimental" notice about it is not news to the operator.
  if (l == log_level::warning && std::string_view{fac} == "CONFWARN" &&
      std::string_view{buf}.find("enable.gapless.guarantee is experimental") !=
          std::string_view::npos)
    l = log_level::info;
  (*ctx->logger)(l, fmt::format("librdkafka {} {}: {}", rd_kafka_name(rk), fac, buf));
}

} // namespace

result<conf_ptr> make_conf(const std::vector<std::pair<std::string, std::string>>& props,
                           std::string& error) {
  conf_ptr conf{rd_kafka_conf_new()};
  char errstr[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      error = fmt::format("librdkafka property {}={}: {}", k, v, errstr);
      return make_error_code(errc::invalid_options);
    }
  }
  return conf;
}

void install_context(rd_kafka_conf_t* conf, client_context* ctx) {
  rd_kafka_conf_set_opaque(conf, ctx);
  rd_kafka_conf_set_log_cb(conf, log_callback);
}

result<rk_ptr> make_client(rd_kafka_type_t type, conf_ptr conf, std::string& error) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!rk) {
    error = fmt::format("rd_kafka_new: {}", errstr);
    return make_error_code(errc::client_failed);
  }
  conf.release(); // owned by rk now
  return rk_ptr{rk};
}

std::error_code to_error_code(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_NO_ERROR:
    return {};
  case RD_KAFKA_RESP_ERR__TRANSPORT:
  case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
  case RD_KAFKA_RESP_ERR__RESOLVE:
  case RD_KAFKA_RESP_ERR__WAIT_COORD:
    return make_error_code(errc::broker_unavailable);
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    return make_error_code(errc::timeout);
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    return make_error_code(errc::unknown_topic);
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
  case RD_KAFKA_RESP_ERR_INVALID_RECORD:
  case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    return make_error_code(errc::produce_failed);
  case RD_KAFKA_RESP_ERR__INVALID_ARG:
  case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    return make_error_code(errc::invalid_options);
  default:
    return make_error_code(errc::consume_failed);
  }
}

std::string describe(rd_kafka_resp_err_t err) {
  return fmt::format("{}: {}", rd_kafka_err2name(err), rd_kafka_err2str(err));
}

result<int> partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms,
                            std::string& error) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err) {
    error = fmt::format("metadata request: {}", describe(err));
    return to_error_code(err);
  }
  metadata_ptr guard{md};
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return 0;
    if (t.err) {
      error = fmt::format("metadata of topic {}: {}", topic, describe(t.err));
      return to_error_code(t.err);
    }
    return t.partition_cnt;
  }
  return 0;
}

result<void> create_topic(rd_kafka_t* rk, const std::string& topic, int partitions,
                          int replication_factor, int timeout_ms, std::string& error) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, errstr, sizeof errstr);
  if (!nt) {
    error = fmt::format("topic {}: {}", topic, errstr);
    return make_error_code(errc::invalid_options);
  }
  queue_ptr q{rd_kafka_queue_new(rk)};
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q.get());
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  event_ptr ev{rd_kafka_queue_poll(q.get(), timeout_ms + 1000)};
  if (!ev) {
    error = fmt::format("creating topic {}: no answer in {} ms", topic, timeout_ms);
    return make_error_code(errc::timeout);
  }
  if (auto err = rd_kafka_event_error(ev.get())) {
    error = fmt::format("creating topic {}: {}", topic, describe(err));
    return to_error_code(err);
  }
  const auto* res = rd_kafka_event_CreateTopics_result(ev.get());
  std::size_t cnt = 0;
  const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &cnt);
  for (std::size_t i = 0; i < cnt; ++i) {
    auto err = rd_kafka_topic_result_error(topics[i]);
    if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(topics[i]);
      error = fmt::format("creating topic {}: {} ({})", topic, describe(err), msg ? msg : "");
      return to_error_code(err);
    }
  }
  return ok();
}

} // namespace otaledger::kafka::internal
