// The Kafka relay: publishes the event log to a Kafka topic, at least once, in
// each stream's order (ARCHITECTURE.md invariant 7; docs/kafka.md).
//
// It is a checkpointed reader of the log, like a projection: it loads its
// checkpoint (event_store::load_checkpoint(options.checkpoint_name)), reads
// the log from the position after it with read_all, produces every event to
// the topic (record layout: kafka/cloudevents.hpp) with an idempotent producer
// (enable.idempotence=true, acks=all), and saves its checkpoint only past
// positions whose delivery Kafka confirmed: the checkpoint is the end of the
// contiguous prefix of confirmed positions, so a confirmation for position 9
// while 7 is still in flight does not move it past 6.
//
// Failures and what the relay does about them:
// - A broker outage (any length): librdkafka keeps retrying every record
//   (message.timeout.ms = 0, forever); the relay's window fills and it waits.
//   The log keeps accepting appends meanwhile; lag() grows, then shrinks.
// - A failed delivery (a record librdkafka gave up on) or a fatal producer
//   error (rd_kafka_fatal_error, e.g. the idempotence "sequence
//   desynchronization" of librdkafka 2.0.2): the producer is destroyed and
//   recreated after a back-off, and publishing resumes from the checkpoint.
//   Records published after the checkpoint are published again: duplicates,
//   never a loss. Consumers drop them (kafka/consumer.hpp).
// - A crash or kill -9 of the process: the next start resumes from the saved
//   checkpoint (at most checkpoint_interval + the window of duplicates).
// - An event that cannot become a record (its payload does not decode) or that
//   librdkafka refuses (larger than message.max.bytes): the relay stops at that
//   position, retries it after the longest back-off and reports the cause in
//   stats().last_error; nothing after it is published, so no consumer sees a
//   gap. lag() grows until an operator fixes it.
//
// Threads: start() runs the relay on a thread of its own; every public member
// may be called from any thread. The store must outlive the relay.
#pragma once

#include "base/result.hpp"
#include "base/strong_id.hpp"
#include "kafka/options.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace otaledger::storage {
class event_store;
} // namespace otaledger::storage

namespace otaledger::kafka {

/// What the relay is doing.
enum class relay_state {
  stopped,     ///< not started, or stopped
  running,     ///< publishing, or caught up and waiting for new events
  backing_off, ///< waiting before recreating the producer or retrying an event
  failed,      ///< refuses to publish until restarted (e.g. errc::topic_mismatch)
};

std::string_view to_string(relay_state s);

/// A consistent-enough snapshot of the relay's counters (each field is read
/// atomically; fields may be from slightly different instants).
struct relay_stats {
  relay_state state = relay_state::stopped;
  log_position head;                   ///< the log's last position when the snapshot was taken
  log_position confirmed;              ///< end of the contiguous prefix Kafka confirmed
  log_position checkpoint;             ///< the last checkpoint saved in the store
  log_position produced;               ///< the last position handed to librdkafka
  std::uint64_t lag = 0;               ///< head - confirmed
  std::uint64_t records_produced = 0;  ///< records handed to librdkafka (re-publications included)
  std::uint64_t records_confirmed = 0; ///< successful delivery reports
  std::uint64_t delivery_failures = 0; ///< failed delivery reports
  std::uint64_t producer_restarts = 0; ///< producers destroyed and recreated
  std::uint64_t checkpoint_saves = 0;
  std::uint64_t broker_errors = 0; ///< transport problems librdkafka reported (and retries)
  std::string last_error;          ///< the most recent problem, "" when none yet
};

class relay {
public:
  /// Validates the options (errc::invalid_options, the logger says why) and
  /// prepares a relay over `store`. Nothing runs until start().
  static result<std::unique_ptr<relay>> create(storage::event_store& store, relay_options options);

  /// Stops the relay (see stop()).
  ~relay();
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  /// Loads the checkpoint and starts publishing on the relay's thread.
  /// Returns an error only when the checkpoint cannot be loaded or the relay
  /// already runs; Kafka being unreachable is not an error (it is waited for).
  result<void> start();

  /// Stops producing, waits up to options.stop_timeout for the records in
  /// flight to be confirmed, saves the checkpoint and joins the thread.
  /// Records still unconfirmed are published again by the next start.
  /// Idempotent. A relay can be started again after stop().
  void stop();

  /// True between start() and stop().
  bool running() const;

  /// End of the contiguous prefix of positions Kafka confirmed.
  log_position confirmed() const;

  /// The last checkpoint the relay saved in the store.
  log_position checkpoint() const;

  /// Events in the log Kafka has not confirmed yet: store.head() - confirmed().
  std::uint64_t lag() const;

  relay_stats stats() const;

  /// Waits until confirmed() >= p; errc::timeout when the deadline passes first.
  result<void> wait_until_confirmed(log_position p, std::chrono::milliseconds timeout) const;

  /// Waits until everything in the log when called is confirmed and the
  /// checkpoint saved past it.
  result<void> flush(std::chrono::milliseconds timeout) const;

private:
  struct impl;
  explicit relay(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace otaledger::kafka
