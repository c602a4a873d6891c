// librdkafka plumbing shared by the relay, the consumer and the mock cluster.
// Internal: nothing outside kafka/ includes this file (STYLE.md §4.2), so no
// librdkafka type appears in a public header.
#pragma once

#include "base/result.hpp"
#include "kafka/errc.hpp"
#include "kafka/options.hpp"

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace otaledger::kafka::internal {

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
struct rkt_deleter {
  void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
};
struct conf_deleter {
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
struct queue_deleter {
  void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
struct metadata_deleter {
  void operator()(const rd_kafka_metadata_t* m) const noexcept { rd_kafka_metadata_destroy(m); }
};
struct event_deleter {
  void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
};
struct message_deleter {
  void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
};
struct partition_list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const noexcept {
    rd_kafka_topic_partition_list_destroy(l);
  }
};

using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;
using rkt_ptr = std::unique_ptr<rd_kafka_topic_t, rkt_deleter>;
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;
using metadata_ptr = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;
using partition_list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, partition_list_deleter>;

/// Builds a configuration from properties. On failure returns invalid_options
/// and `error` names the property librdkafka refused.
result<conf_ptr> make_conf(const std::vector<std::pair<std::string, std::string>>& props,
                           std::string& error);

/// What every client of ours carries as its librdkafka opaque: the logger its
/// log lines go to, and its owner (the relay session or the consumer) for the
/// delivery-report and error callbacks. Must outlive the client.
struct client_context {
  const log_fn* logger = nullptr;
  void* owner = nullptr;
};

/// Sets `ctx` as the client's opaque and routes librdkafka's log lines to ctx->logger.
void install_context(rd_kafka_conf_t* conf, client_context* ctx);

/// The context of a client made with install_context.
inline client_context* context_of(const rd_kafka_t* rk) {
  return static_cast<client_context*>(rd_kafka_opaque(rk));
}

/// Creates a client; takes ownership of `conf` (also on failure).
result<rk_ptr> make_client(rd_kafka_type_t type, conf_ptr conf, std::string& error);

/// The otaledger error code of a librdkafka error.
std::error_code to_error_code(rd_kafka_resp_err_t err);

/// "NAME: text" of a librdkafka error, for logs.
std::string describe(rd_kafka_resp_err_t err);

/// Partition count of `topic` (0 when the topic does not exist), from a
/// metadata request listing every topic (so it never auto-creates the topic).
result<int> partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms,
                            std::string& error);

/// Creates `topic` through the Admin API; an existing topic is not an error.
result<void> create_topic(rd_kafka_t* rk, const std::string& topic, int partitions,
                          int replication_factor, int timeout_ms, std::string& error);

} // namespace otaledger::kafka::internal
