// The consumer side: reads the topic the relay publishes, turns each record
// back into an envelope (events::envelope_from_json), drops the copies the
// relay's at-least-once delivery can produce, and hands every event to a
// callback. `otaledger consume` is built on it, and projections can be fed
// through it to rebuild their views from Kafka instead of the local log.
//
// Deduplication (options.dedupe, on by default) keeps one number per
// partition: the highest log position delivered from it. A record whose
// position is not above that high-water is a copy and is dropped. This is
// exact, in memory bounded by the partition count, because of how the relay
// publishes (docs/kafka.md, "Delivery guarantees"):
//   - one relay produces the whole log in position order, with an idempotent
//     producer: within a partition, records are appended in the order they
//     were produced (per partition, not only per key);
//   - copies only come from re-publishing after a failure, which starts again
//     from the relay's checkpoint, i.e. from positions already written to
//     that partition: a copy always comes after its original, with a position
//     at or below the partition's high-water;
//   - no gap: the gapless guarantee and infinite retries keep a record from
//     being appended after a later one of the same partition was, so a
//     position below the high-water that was never delivered cannot exist.
// Event ids are therefore never stored. A per-stream version high-water would
// be exact too but costs one entry per stream (millions of devices); a global
// position high-water would be wrong, as partitions interleave.
// The high-waters live in memory: a consumer in a group that restarts from
// committed offsets can see, once, copies of events delivered before the
// restart (at least once). Give a projection fed this way its own checkpoint
// (the position of each stream's last applied version) if it must not.
//
// Order: events of one stream arrive in version order; events of different
// streams in different partitions arrive in no particular order between them.
//
// Threads: one thread at a time may call poll/consume_until_end (librdkafka's
// consumer is not shared); stats() may be read from any thread.
#pragma once

#include "base/result.hpp"
#include "events/envelope.hpp"
#include "kafka/cloudevents.hpp"
#include "kafka/options.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

namespace otaledger::kafka {

/// One event as the consumer delivers it.
struct consumed_event {
  const events::envelope& envelope; ///< the event, data in the compact binary form
  std::string_view value;           ///< the record's value exactly as Kafka holds it (JSON)
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  /// The record's key (the stream id, as the relay publishes it).
  std::string_view key;
  /// The record's headers (ce_id, ce_type...), only when
  /// consumer_options::read_headers is set; empty otherwise.
  std::span<const record_header> headers;
};

/// Receives each event once, on the thread that called poll. An error stops
/// delivery: poll returns it (and logs it, unless it is errc::stopped, the
/// way to stop on purpose) and, in group mode, the event's offset is not
/// committed: the event comes again after a restart.
using event_handler = std::function<result<void>(const consumed_event&)>;

struct consumer_stats {
  std::uint64_t records = 0;    ///< records read from Kafka
  std::uint64_t delivered = 0;  ///< events handed to the handler
  std::uint64_t duplicates = 0; ///< copies dropped
  std::uint64_t malformed = 0;  ///< records that are not envelopes
  int partitions = 0;           ///< partitions currently assigned
  bool at_end = false;          ///< every assigned partition was read to its end
};

class event_consumer {
public:
  /// Validates the options and creates the consumer. In manual mode (no
  /// group id) the partitions are assigned on the first poll, once the topic
  /// exists.
  static result<std::unique_ptr<event_consumer>> create(consumer_options options);

  /// Leaves the group (committing the stored offsets) and closes the consumer.
  ~event_consumer();
  event_consumer(const event_consumer&) = delete;
  event_consumer& operator=(const event_consumer&) = delete;

  /// Waits up to `timeout` for records, then handles up to options.max_batch
  /// of them without waiting further. Returns how many events were delivered
  /// (0 when none came, or only copies).
  result<std::size_t> poll(std::chrono::milliseconds timeout, const event_handler& handler);

  /// Polls until every partition was read to the end it had when it was
  /// reached (at_end()), or `max_events` were delivered, or `timeout` passed
  /// (errc::timeout, with the events so far delivered). A rebuild's loop.
  result<std::size_t> consume_until_end(const event_handler& handler,
                                        std::chrono::milliseconds timeout,
                                        std::size_t max_events = SIZE_MAX);

  /// True when partitions are assigned and each reached its end offset
  /// (librdkafka's partition EOF) and got no record since.
  bool at_end() const;

  /// False while the topic is missing (manual mode waits for it).
  bool topic_exists() const;

  consumer_stats stats() const;

private:
  struct impl;
  explicit event_consumer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace otaledger::kafka
