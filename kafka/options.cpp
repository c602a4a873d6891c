#include "kafka/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <unistd.h>

namespace otaledger::kafka {
namespace {

// Properties the relay's delivery guarantee rests on (docs/kafka.md): a
// pass-through value for them is refused rather than silently applied.
constexpr std::array<std::string_view, 5> guarded_producer_properties = {
    "enable.idempotence", "acks", "request.required.acks", "max.in.flight.requests.per.connection",
    "max.in.flight"};

bool known_compression(std::string_view c) {
  return c == "none" || c == "gzip" || c == "snappy" || c == "lz4" || c == "zstd";
}

} // namespace

void log_to_stderr(log_level level, std::string_view message) {
  if (level < log_level::warning) return;
  static std::mutex m;
  std::lock_guard lock{m};
  std::fprintf(stderr, "otaledger kafka %s: %.*s\n",
               level == log_level::error ? "error" : "warning", static_cast<int>(message.size()),
               message.data());
}

std::string validate(const client_options& o) {
  if (o.brokers.empty()) return "client.brokers is empty (set host:port[,host:port...])";
  if (o.topic.empty()) return "client.topic is empty";
  if (o.topic.size() > 249) return "client.topic is longer than Kafka's 249 characters";
  for (char c : o.topic)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return fmt::format("client.topic '{}' has a character Kafka refuses ('{}')", o.topic, c);
  if (o.partitions < 0) return "client.partitions must be >= 0";
  if (o.replication_factor == 0 || o.replication_factor < -1)
    return "client.replication_factor must be -1 (broker default) or >= 1";
  if (o.client_id.empty()) return "client.client_id is empty";
  return {};
}

std::string validate(const relay_options& o) {
  if (auto e = validate(o.client); !e.empty()) return e;
  for (auto name : guarded_producer_properties)
    if (o.client.properties.count(std::string{name}))
      return fmt::format("client.properties may not set '{}': the relay's delivery guarantee "
                         "needs its own value",
                         name);
  if (o.checkpoint_name.empty()) return "checkpoint_name is empty";
  if (!known_compression(o.compression))
    return fmt::format("compression '{}' is not one of none, gzip, snappy, lz4, zstd",
                       o.compression);
  if (o.linger_ms < 0 || o.linger_ms > 900'000) return "linger_ms must be in 0..900000";
  if (o.batch_num_messages < 1 || o.batch_num_messages > 1'000'000)
    return "batch_num_messages must be in 1..1000000";
  if (o.batch_bytes < 1 || o.batch_bytes > 2'147'483'647) return "batch_bytes must be >= 1";
  if (o.max_in_flight < 1 || o.max_in_flight > 10'000'000)
    return "max_in_flight must be in 1..10000000";
  if (o.read_batch < 1) return "read_batch must be >= 1";
  if (o.checkpoint_interval.count() < 0) return "checkpoint_interval must be >= 0";
  if (o.message_timeout.count() < 0) return "message_timeout must be >= 0 (0: forever)";
  if (o.restart_backoff.count() < 1 || o.restart_backoff_max < o.restart_backoff)
    return "restart_backoff must be >= 1 ms and <= restart_backoff_max";
  if (o.stop_timeout.count() < 0) return "stop_timeout must be >= 0";
  if (o.idle_poll.count() < 1) return "idle_poll must be >= 1 ms";
  return {};
}

std::string validate(const consumer_options& o) {
  if (auto e = validate(o.client); !e.empty()) return e;
  if (o.max_batch < 1) return "max_batch must be >= 1";
  return {};
}

std::string effective_source(const relay_options& o) {
  if (!o.source.empty()) return o.source;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "otaledger://localhost";
  return std::string{"otaledger://"} + host;
}

std::vector<std::pair<std::string, std::string>> producer_properties(const relay_options& o) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"bootstrap.servers", o.client.brokers},
      {"client.id", o.client.client_id},
      // The delivery guarantee: idempotent producer, every in-sync replica.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"enable.gapless.guarantee", o.gapless ? "true" : "false"},
      {"message.timeout.ms", std::to_string(o.message_timeout.count())},
      // Java clients' default partitioner: the same key lands in the same
      // partition whichever client (Java, librdkafka, Kafka Streams) produces it.
      {"partitioner", "murmur2_random"},
      {"compression.codec", o.compression},
      {"linger.ms", std::to_string(o.linger_ms)},
      {"batch.num.messages", std::to_string(o.batch_num_messages)},
      {"batch.size", std::to_string(o.batch_bytes)},
      // librdkafka's queue sits above the relay's own window, so produce()
      // never reports a full queue in normal operation.
      {"queue.buffering.max.messages",
       std::to_string(std::min<std::size_t>(o.max_in_flight + o.read_batch + 1024, 10'000'000))},
      {"queue.buffering.max.kbytes", "1048576"},
  };
  for (const auto& [k, v] : o.client.properties)
    p.emplace_back(k, v);
  return p;
}

std::vector<std::pair<std::string, std::string>> consumer_properties(const consumer_options& o) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"bootstrap.servers", o.client.brokers},
      {"client.id", o.client.client_id},
      {"auto.offset.reset", o.from_beginning ? "earliest" : "latest"},
      {"enable.partition.eof", "true"},
      // Offsets are stored only after the handler accepted the event (group mode).
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", o.group_id.empty() ? "false" : "true"},
  };
  for (const auto& [k, v] : o.client.properties)
    p.emplace_back(k, v);
  return p;
}

} // namespace otaledger::kafka
