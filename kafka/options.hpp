// Options of the Kafka relay and consumer (STYLE.md §10: every field says what
// it means, what it costs and ends with its default; the initializer restates it).
//
// `client_options` is what every Kafka client of otaledger shares: where the
// brokers are, which topic, how to authenticate. `relay_options` and
// `consumer_options` add what is specific to each side. Options are validated
// once, when the relay or the consumer is created (`validate` below); an
// invalid field is errc::invalid_options and the logger names the field.
//
// Pass-through properties: anything librdkafka understands (CONFIGURATION.md
// of librdkafka 2.0) can be set in `client_options::properties`, e.g. for a
// secured cluster:
//   properties = {{"security.protocol", "SASL_SSL"}, {"sasl.mechanisms", "SCRAM-SHA-512"},
//                 {"sasl.username", "relay"}, {"sasl.password", "..."},
//                 {"ssl.ca.location", "/etc/ssl/certs/kafka-ca.pem"}};
// They are applied after otaledger's own settings, so they win, except for the
// few the relay's guarantees depend on (enable.idempotence, acks,
// max.in.flight.requests.per.connection): changing those is refused.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otaledger::kafka {

/// Severity of a log line from the Kafka layer.
enum class log_level { debug, info, warning, error };

/// Receives the Kafka layer's log lines (librdkafka's own lines included, with
/// their facility). Called from the relay's or consumer's thread, or from a
/// librdkafka thread: it must be thread-safe and must not block for long.
using log_fn = std::function<void(log_level, std::string_view message)>;

/// The default logger: warnings and errors to stderr, one line each.
void log_to_stderr(log_level level, std::string_view message);

/// Connection and topic settings shared by the relay and the consumer.
struct client_options {
  /// Bootstrap brokers, "host:port[,host:port...]". Required.
  /// Default: "" (the CLI and the tests read OTALEDGER_KAFKA_BROKERS).
  std::string brokers = "";

  /// The topic every event of the log is published to (one topic for the
  /// whole log; the key keeps each stream's order, see docs/kafka.md).
  /// Default: "otaledger.events".
  std::string topic = "otaledger.events";

  /// Partitions the topic is expected to have. When > 0 the relay creates the
  /// topic with this many partitions if it does not exist, and refuses to
  /// publish (state failed, errc::topic_mismatch) if it exists with another
  /// count: adding partitions moves keys to other partitions, which would
  /// break each stream's order across the change. 0: use whatever the topic
  /// has (or the broker's num.partitions when it auto-creates it).
  /// Default: 0.
  int partitions = 0;

  /// Replication factor used when the relay creates the topic (partitions > 0).
  /// -1: the broker's default.replication.factor. Default: -1.
  int replication_factor = -1;

  /// client.id sent to the brokers (shows up in their logs and quotas).
  /// Default: "otaledger".
  std::string client_id = "otaledger";

  /// Extra librdkafka properties, applied last (security: security.protocol,
  /// sasl.*, ssl.*; tuning: socket.*, reconnect.*...). Producer-only
  /// properties on a consumer (and the reverse) are ignored with a warning.
  /// Default: none.
  std::map<std::string, std::string> properties = {};

  /// Where log lines go. Default: log_to_stderr (warnings and errors only).
  log_fn logger = log_to_stderr;
};

/// Options of the relay (kafka/relay.hpp): the checkpointed reader of the log
/// that publishes every event to the topic.
struct relay_options {
  client_options client = {};

  /// Name of the relay's checkpoint in the event store (event_store::
  /// save_checkpoint / load_checkpoint). Two relays publishing the same log
  /// to two clusters need two names. Default: "kafka-relay".
  std::string checkpoint_name = "kafka-relay";

  /// The CloudEvents `source` of every event (header ce_source): a URI
  /// naming this otaledger deployment. Empty: "otaledger://<host name>".
  /// Default: "".
  std::string source = "";

  /// Compression of record batches: "none", "gzip", "snappy", "lz4", "zstd".
  /// The envelope JSON compresses about 3-5x with lz4 at little CPU cost.
  /// Default: "lz4".
  std::string compression = "lz4";

  /// How long librdkafka waits to fill a batch before sending it
  /// (linger.ms). Higher: bigger batches, fewer requests, more latency.
  /// Default: 5.
  int linger_ms = 5;

  /// Most records in one batch (batch.num.messages). Default: 10000.
  int batch_num_messages = 10000;

  /// Most bytes in one batch (batch.size). Default: 1000000.
  int batch_bytes = 1000000;

  /// Most events the relay has handed to librdkafka and not yet seen
  /// confirmed (its window). Bounds the relay's memory (about window × record
  /// size) and the duplicates a restart can cause. librdkafka's own queue
  /// (queue.buffering.max.messages) is set above it. Default: 100000.
  std::size_t max_in_flight = 100000;

  /// Events read from the store per read_all call. Default: 1000.
  std::size_t read_batch = 1000;

  /// How often the relay saves its checkpoint while deliveries are confirmed
  /// (and always when it stops). A crash re-publishes at most this much
  /// history plus the window: duplicates, never loss. Default: 200 ms.
  std::chrono::milliseconds checkpoint_interval{200};

  /// How long librdkafka keeps retrying a record before failing it
  /// (message.timeout.ms). 0: forever, so a broker outage of any length only
  /// delays the relay. A non-zero value makes the relay re-publish from its
  /// checkpoint after the timeout instead. Default: 0.
  std::chrono::milliseconds message_timeout{0};

  /// enable.gapless.guarantee: a batch that fails for good stops the producer
  /// (a fatal error the relay recovers from by recreating it) instead of
  /// letting later records of the same partition through. Keeps "the first
  /// copy of each event in a partition comes after the first copy of every
  /// earlier event of that partition", on which consumers' deduplication by
  /// position high-water rests (docs/kafka.md). Default: true.
  bool gapless = true;

  /// Wait before recreating the producer after a fatal error or a failed
  /// delivery, doubled on each consecutive failure up to restart_backoff_max.
  /// Default: 100 ms.
  std::chrono::milliseconds restart_backoff{100};
  /// Default: 10 s.
  std::chrono::milliseconds restart_backoff_max{10'000};

  /// How long stop() waits for records in flight to be confirmed before it
  /// saves the checkpoint and drops them (they are re-published by the next
  /// start). Default: 5 s.
  std::chrono::milliseconds stop_timeout{5'000};

  /// How often the relay looks at the log head when it is caught up and no
  /// notification came (a safety net; new events normally wake it at once
  /// through a store subscription). Default: 100 ms.
  std::chrono::milliseconds idle_poll{100};
};

/// What the consumer does with a record whose value is not an envelope it can read.
enum class malformed_policy {
  fail, ///< poll returns errc::malformed_record (the record is counted, not delivered)
  skip, ///< the record is counted, logged and skipped
};

/// Options of the consumer (kafka/consumer.hpp).
struct consumer_options {
  client_options client = {};

  /// Consumer group. Empty: every partition of the topic is assigned to this
  /// consumer by hand and no offset is committed (a replay or a rebuild: each
  /// start reads from `from_beginning`). Non-empty: Kafka's group protocol
  /// shares the partitions among the group's members and the offset of each
  /// delivered event is committed, so a restart continues where the group
  /// stopped (at least once: events delivered after the last commit come again).
  /// Default: "".
  std::string group_id = "";

  /// Where to start when there is no committed offset: the earliest record
  /// (true) or only records produced from now on (false). Default: true.
  bool from_beginning = true;

  /// Drop copies of events already delivered (see consumer.hpp for how).
  /// Default: true.
  bool dedupe = true;

  /// What to do with a record that is not an envelope. Default: fail.
  malformed_policy on_malformed = malformed_policy::fail;

  /// Most records handled by one poll call. Default: 1000.
  std::size_t max_batch = 1000;

  /// Copy each record's headers into consumed_event::headers (costs a few
  /// small allocations per record; the envelope already carries every
  /// attribute the headers repeat). Default: false.
  bool read_headers = false;
};

/// Checks the options; returns an empty string when they are valid, else
/// which field is wrong and why.
std::string validate(const client_options& o);
std::string validate(const relay_options& o);
std::string validate(const consumer_options& o);

/// The CloudEvents source the relay stamps: o.source, or "otaledger://<host name>".
std::string effective_source(const relay_options& o);

/// The librdkafka properties of the relay's producer, in the order they are
/// applied (client.properties last). The benchmark's plain-librdkafka
/// baseline uses exactly these, so both sides run the same configuration.
std::vector<std::pair<std::string, std::string>> producer_properties(const relay_options& o);

/// The librdkafka properties of the consumer, in the order they are applied.
std::vector<std::pair<std::string, std::string>> consumer_properties(const consumer_options& o);

} // namespace otaledger::kafka
