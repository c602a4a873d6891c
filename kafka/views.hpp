// Views from the topic alone: the consumer side folds the events the relay
// published into the same views the server keeps (projections/views.hpp), with
// the same folds, so an analytics consumer needs nothing but the topic. The
// proof (tests/kafka/views_test.cpp) compares every view's digest with a fresh
// local rebuild of the same log.
//
// How the events are folded in log order. The relay keys records by stream,
// so each partition holds its streams' events in position order, but the
// partitions interleave in no particular order when they are read. The folds
// need the log's order (a fold may read rows another stream's events wrote:
// an execution row reads its task's row), so the builder puts it back:
//   - it reads every partition from the beginning (no group; dedupe by the
//     consumer's per-partition high-water off: the builder dedupes itself);
//   - it keeps `next`, the first position the views do not hold yet. A record
//     at `next` is folded, and so is every held record that follows it
//     without a gap; a record after `next` is held (an ordered map) until the
//     positions before it arrive; a record at or below a position already
//     folded or held is a copy and is dropped. The log's positions are dense
//     from 1 and one position is one event id, so this is exact deduplication
//     by event id, for copies in any partition and in any order, and the
//     memory it needs is bounded by how far the partitions drift apart (held
//     events), never by the topic's length;
//   - the folded events are committed in batches, each batch with the views'
//     checkpoints (projections::projector::apply), so a build that stops or
//     crashes resumes from the checkpoints when it is run again on the same
//     directory.
// A position that never arrives (a topic truncated by retention, another
// log's records, a relay still publishing when the build asked to stop at the
// end) ends the build with errc::missing_position and says which position.
//
// The views directory is a data directory (storage/open.hpp) whose event log
// stays empty: its kv store holds the views exactly as a server's does (same
// spaces, same checkpoints), so the projections' queries and digests work on
// it. It refuses a directory whose log is not empty (a server's data).
//
// Threads: build_views_from_topic runs on the caller's thread; `stop` may be
// set from any thread (a signal handler included).
#pragma once

#include "base/result.hpp"
#include "base/strong_id.hpp"
#include "kafka/options.hpp"
#include "projections/projector.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace otaledger::storage {
class kv_store;
} // namespace otaledger::storage

namespace otaledger::kafka {

/// Options of build_views_from_topic.
struct views_options {
  /// Brokers, topic, security properties, malformed-record policy. The
  /// builder reads every partition from the beginning without a group
  /// (group_id, from_beginning and dedupe are overridden). Default: {}.
  consumer_options consumer = {};

  /// The views directory (created when missing; resumed from its views'
  /// checkpoints when it exists). Required. Default: "".
  std::filesystem::path dir = {};

  /// true: stop once every partition was read to its end and every position
  /// up to the last one seen is folded. false: keep following the topic until
  /// `stop` is set. Default: true.
  bool until_end = true;

  /// until_end: the longest the whole build may take (errc::timeout, the
  /// views keep what was folded). Default: 10 min.
  std::chrono::milliseconds timeout{600'000};

  /// How long to wait for a missing position once every partition was read
  /// to its end (until_end; a relay may still be publishing it), and for a
  /// topic that does not exist, before errc::missing_position /
  /// errc::unknown_topic. Default: 10 s.
  std::chrono::milliseconds gap_wait{10'000};

  /// Most events held back waiting for an earlier position; more is
  /// errc::missing_position (the partitions drifted further apart than any
  /// relay makes them: the position is missing). Default: 1,000,000.
  std::size_t max_held = 1'000'000;

  /// Events folded per committed batch (at least; a batch is also committed
  /// when the consumer has nothing more for now). Default: 32,768.
  std::size_t batch_events = 32768;

  /// Compute every view's digest when done (one scan of the views).
  /// Default: true.
  bool digests = true;

  /// Set from any thread to stop after the current batch (the views keep
  /// what was folded; not an error). Default: none.
  const std::atomic<bool>* stop = nullptr;
};

/// What a build did.
struct views_report {
  log_position started_at;      ///< the views' position when the build started (0: fresh)
  log_position position;        ///< every view holds the log up to here
  std::uint64_t folded = 0;     ///< events folded by this build
  std::uint64_t records = 0;    ///< records read from the topic
  std::uint64_t duplicates = 0; ///< copies dropped (a position already folded or held)
  std::uint64_t malformed = 0;  ///< records that are not envelopes (malformed_policy::skip)
  std::size_t most_held = 0;    ///< most events held back at once for an earlier position
  bool stopped = false;         ///< ended by `stop`
  /// Every view's digest at `position`, by view name (when options.digests).
  std::map<std::string, projections::view_digest> digests;
};

/// Consumes the topic from the beginning (or from where the directory's
/// views are), drops copies, folds the events in log-position order into the
/// views of `options.dir`. Errors: errc::invalid_options (also a directory
/// that holds an event log), errc::missing_position, errc::unknown_topic,
/// errc::timeout, errc::malformed_record, storage and projections errors;
/// views_error_detail() says what and where.
result<views_report> build_views_from_topic(const views_options& options);

/// Every view's digest (projections::view_names()) over its live space in `kv`.
result<std::map<std::string, projections::view_digest>> view_digests(storage::kv_store& kv);

/// The last build's error, in words (thread-local; "" after a success).
const std::string& views_error_detail();

} // namespace otaledger::kafka
