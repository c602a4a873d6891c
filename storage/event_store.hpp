// The event store: the append-only log every other part of otaledger reads.
//
// Contract (ARCHITECTURE.md invariants 1-4), kept by the RocksDB store
// (open_event_store / open_database) and the in-memory store
// (make_memory_event_store) alike:
// - append(stream, expected, events, command_id) is atomic: all of one call's
//   events, the stream head, the stream index and the command-id record are
//   written in one RocksDB WriteBatch, or nothing is.
// - Global positions are dense from 1 and assigned in commit order; a stream's
//   versions are dense from 1. Readers (read_all, read_stream, subscriptions,
//   head) never see a position before its batch committed, so they never see a
//   gap that is filled later.
// - A wrong expected version is errc::wrong_expected_version and changes nothing.
// - A command id that was already appended returns the first append's result
//   (with duplicate = true) and appends nothing; this holds across a reopen and
//   inside one commit group. Command ids are global, not per stream. A refused
//   append does not record its command id (a retry may succeed).
// - In durable mode (options::sync = true) append returns only after the WAL
//   write holding its events was synced; concurrent appends from many threads
//   are group-committed: one writer thread takes every queued append, checks
//   each in order against the stream heads (a refused one is left out and
//   changes nothing), writes the rest in one synced WriteBatch, and completes
//   them all.
// - A stored record whose CRC32C fails is reported as errc::corruption with
//   storage::error_detail() naming its position; it is never returned as data.
// - After a failed write (disk full, I/O error) the store refuses every later
//   append with errc::io_error: reopen it once the cause is fixed.
//
// Thread safety: every member may be called from any thread concurrently.
// Completion callbacks of append_async run on the store's writer thread (the
// in-memory store runs them inline, on the caller's thread): they must be
// short and must not block (post a message to an actor, signal a promise), and
// must not call append() on the same store.
// On a crash: an acknowledged append survives; an unacknowledged one is either
// wholly present or wholly absent.
#pragma once

#include "base/result.hpp"
#include "base/strong_id.hpp"
#include "events/envelope.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::storage {

/// What the caller believes the stream's current version is.
struct expected_version {
  enum class kind : std::uint8_t { any, no_stream, exact };
  kind k = kind::any;
  stream_version version{};

  static expected_version any() { return {kind::any, {}}; }
  static expected_version no_stream() { return {kind::no_stream, {}}; }
  static expected_version exactly(stream_version v) { return {kind::exact, v}; }
  /// exactly(v), or no_stream when v is 0.
  static expected_version at(stream_version v) { return v() == 0 ? no_stream() : exactly(v); }
};

/// An event to append: the store fills position, stream, version (and the id
/// and time when they are nil/zero).
struct new_event {
  events::uuid id;  ///< nil: the store assigns a random id
  std::string type; ///< e.g. "task.paused"
  std::uint16_t schema = 1;
  events::timestamp time; ///< zero: the store stamps the commit time
  events::event_meta meta;
  std::string data; ///< compact binary payload
};

/// One append request (the unit of atomicity).
struct append_request {
  std::string stream;
  expected_version expected;
  std::vector<new_event> events;
  std::string command_id; ///< empty: no idempotency check
};

/// What an append did.
struct append_result {
  log_position first;     ///< position of the first appended event (0 if none)
  log_position last;      ///< position of the last appended event
  stream_version version; ///< the stream's version after the append
  bool duplicate = false; ///< true: the command id was seen before; nothing was appended
  bool operator==(const append_result&) const = default;
};

using append_callback = std::function<void(result<append_result>)>;

/// A live subscription; destroying it (or calling stop) ends delivery. It may
/// outlive its store: closing the store ends delivery too.
class subscription {
public:
  virtual ~subscription() = default;
  /// Stops delivery; returns after the handler was called for the last time.
  virtual void stop() = 0;
  /// The last position handed to the handler (0 if none).
  virtual log_position position() const = 0;
};

/// Receives events in position order, each exactly once, from its own thread.
/// Returning an error stops the subscription (the error and its position are
/// written to stderr). The handler may call stop() or destroy its own
/// subscription; it must not wait for appends it makes itself to be delivered.
using subscription_handler = std::function<result<void>(std::span<const events::envelope>)>;

struct snapshot {
  stream_version version;   ///< the stream version the state reflects
  std::uint16_t schema = 1; ///< schema of `data`, so old snapshots can be ignored
  std::string data;
};

/// A page of the log (event_store::read_page). Reuse one across reads.
struct log_page {
  std::vector<events::envelope_view> events; ///< borrow from the members below
  std::string bytes;                         ///< the stored records (RocksDB store)
  std::vector<std::size_t> ends;             ///< where each record ends in `bytes`
  std::vector<events::envelope> owned;       ///< owned envelopes (other stores)
  /// Records read but not decoded yet (log_reader::next with `decode` off):
  /// `events` is empty until decode().
  bool undecoded = false;
  std::uint64_t first = 0; ///< the position of the first undecoded record

  /// The events of the page, decoded or not.
  std::size_t size() const noexcept { return undecoded ? ends.size() : events.size(); }
  /// Empties `events` but keeps its envelopes for the next decode() to fill:
  /// constructing 4,096 envelopes afresh for every page cost ~4 % of a
  /// rebuild's CPU.
  void clear_events() noexcept {
    if (events.size() > spare_.size()) events.swap(spare_);
    events.clear();
  }
  /// Decodes the records of a page read with `decode` off into `events`,
  /// checking each (CRC32C, its position): a damaged one is corruption, and
  /// `events` then holds the good ones before it. Nothing to do otherwise.
  result<void> decode();

private:
  std::vector<events::envelope_view> spare_; ///< constructed envelopes, for decode()
};

/// Reads the log forward page by page over positions fixed when it is made
/// (a catch-up, a rebuild, an export). The RocksDB store keeps one iterator
/// across pages, so its read-ahead and its place in each file carry over
/// from page to page; a page read on its own starts both again. A reader
/// holds the store's database open until it is destroyed: keep it short.
class log_reader {
public:
  virtual ~log_reader() = default;
  /// The next up to `max` events into `page` (its previous events replaced),
  /// as event_store::read_page; an empty page once the reader is past its
  /// last position. An error ends the reader: the page holds the good
  /// events before the failing one, and every later call fails the same way.
  /// With `decode` off, the RocksDB store leaves the records undecoded
  /// (log_page::decode, on another thread, finds a damaged one); other
  /// stores decode anyway.
  result<void> next(std::size_t max, log_page& page, bool decode = true);

protected:
  /// One page, as next() says, for a reader that has not failed yet.
  virtual result<void> read_next(std::size_t max, log_page& page, bool decode) = 0;

private:
  std::error_code failed_;
  std::string detail_; ///< storage::error_detail() of the failure
};

class event_store {
public:
  virtual ~event_store() = default;

  /// Appends atomically and waits until it is durable (see the contract above).
  virtual result<append_result> append(append_request req) = 0;

  /// Queues an append; `done` runs on the writer thread once it is durable or
  /// refused (errc::busy at once when the queue is full, errc::closed when the
  /// store is closing).
  virtual void append_async(append_request req, append_callback done) = 0;

  /// Up to `max` events of `stream` with version >= from, in version order.
  virtual result<std::vector<events::envelope>>
  read_stream(std::string_view stream, stream_version from, std::size_t max) = 0;

  /// Up to `max` events with position >= from, in position order.
  virtual result<std::vector<events::envelope>> read_all(log_position from, std::size_t max) = 0;

  /// read_all into `page`, whose events borrow their fields from memory the
  /// page owns: no string per field per event, and a page reused across
  /// reads reuses its memory (catch-ups and rebuilds). The page's previous
  /// events are replaced; on an error it holds the good events before the
  /// failing one.
  virtual result<void> read_page(log_position from, std::size_t max, log_page& page);

  /// A reader of the positions from `from` to `until` (at most the head when
  /// called), page by page. The default reads each page with read_page.
  virtual std::unique_ptr<log_reader> read_forward(log_position from, log_position until);

  /// The last committed position (0 when the log is empty).
  virtual log_position head() const = 0;

  /// The stream's current (committed) version (0 when it has no event).
  virtual result<stream_version> stream_head(std::string_view stream) = 0;

  /// The result of the append that recorded `command_id` (with duplicate set),
  /// or nullopt when no append recorded it. Lets a host answer a command that
  /// was already applied as a duplicate even when deciding it again would now
  /// refuse it (a device resending a result whose answer it never got).
  virtual result<std::optional<append_result>> find_command(std::string_view command_id) = 0;

  /// Delivers every event with position > after, then live events as they are
  /// committed, with no gap and no duplicate, on a thread of its own.
  virtual std::unique_ptr<subscription> subscribe(log_position after,
                                                  subscription_handler handler) = 0;

  /// Latest snapshot per stream (replaces an older one).
  virtual result<void> save_snapshot(std::string_view stream, const snapshot& s) = 0;
  virtual result<std::optional<snapshot>> load_snapshot(std::string_view stream) = 0;

  /// Named checkpoints (e.g. a projection's or the Kafka relay's position).
  virtual result<void> save_checkpoint(std::string_view name, log_position p) = 0;
  virtual result<log_position> load_checkpoint(std::string_view name) = 0; ///< 0 if unset
};

} // namespace otaledger::storage
