// The projector: runs view folds over the log and keeps each view's rows and
// checkpoint together; rebuilds views into fresh spaces and swaps them in;
// builds views as of a past position.
//
// Storage layout (docs/projections.md):
// - a view's rows live in the kv space "<view>@<generation>";
// - the live generation is the row "<view>" of the space "projection_meta"
//   (absent: generation 1);
// - the view's checkpoint is "projection.<view>": the last log position
//   folded into its rows.
// Every commit is one kv write_batch holding the rows of every view the batch
// touched and every view's checkpoint, so after a crash (even SIGKILL in the
// middle of a batch) a view is never ahead of or behind its checkpoint: the
// projector resumes from the checkpoint and folds the rest again.
//
// Thread safety: a projector is used by one thread at a time (its own, or the
// subscription's). Only one projector may write a given view at a time; run
// `rebuild` while no other projector writes those views (e.g. the CLI on a
// stopped server, or the server between pages of its own projector).
#pragma once

#include "base/result.hpp"
#include "base/time.hpp"
#include "base/worker.hpp"
#include "events/event.hpp"
#include "projections/view.hpp"
#include "storage/event_store.hpp"
#include "storage/kv_store.hpp"

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::projections {

/// The kv space holding each view's live generation.
inline constexpr std::string_view meta_space = "projection_meta";

/// "<view>@<generation>".
std::string space_name(std::string_view view, std::uint64_t generation);
/// "projection.<view>".
std::string checkpoint_name(std::string_view view);
/// The live generation of a view (1 when never rebuilt).
result<std::uint64_t> live_generation(storage::kv_store& kv, std::string_view view);
/// The space of a view's live rows.
result<std::string> live_space(storage::kv_store& kv, std::string_view view);

/// Reports progress of long work: `done` events of `total`.
using progress_fn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct projector_options {
  /// Events per read_all page. Default: 4,096.
  std::size_t read_page = 4096;
  /// Pages a catch-up's reader thread may read ahead of the slowest group of
  /// views (~0.6-1 MB each at 4,096 events). Enough to ride out a thread
  /// losing its core for a scheduler slice or two; with 4, the reader and
  /// the folds each waited ~0.4 s of a 1.9 s rebuild. Default: 32.
  std::size_t read_ahead_pages = 32;
  /// Events folded per committed batch during catch-up (a live subscription
  /// commits once per delivered page). Larger batches amortise the write and
  /// let rows touched several times be written once; memory grows with the
  /// rows a batch touches. Default: 32,768.
  std::size_t batch_events = 32768;
  /// How commits are made durable. Views are derived data: after a machine
  /// crash an unsynced batch is lost whole and folded again. Default: no_sync.
  storage::write_mode mode = storage::write_mode::no_sync;
  /// Fresh-space mode, for folding from position 1 into erased spaces that
  /// nothing else reads or writes until the fold is done (rebuild and
  /// build_as_of set it). Rows stay in memory across batches, up to
  /// fresh_cache_bytes (then they are written out and forgotten), rows never
  /// written out are not read from the store, and rows are written with
  /// kv_store::ingest in key order (no WAL, no memtable). Checkpoints move
  /// only after the rows they cover were ingested, but a crash can leave the
  /// space AHEAD of its checkpoint: such a space must be erased and folded
  /// again from position 1, never resumed. Default: false.
  bool fresh = false;
  /// Fresh mode: the approximate bytes of rows kept in memory before they are
  /// written out. Default: 256 MiB.
  std::size_t fresh_cache_bytes = std::size_t{256} << 20;
  /// Fresh mode: decode each page and fold the views on two threads (the
  /// `executions` view on one, the others on the caller's). Default: true.
  bool fresh_threads = true;
  /// Fresh mode: views that have a columnar fold (projection::columnar) and
  /// start from position 1 are folded in memory in their own columns during
  /// catch_up and written once, in key order, when it ends (their checkpoints
  /// move then). Memory grows with the view, not bounded by
  /// fresh_cache_bytes. Default: true.
  bool fresh_columnar = true;
};

/// Where a projector keeps one view (normally the live space and checkpoint).
struct view_target {
  std::string space;
  std::string checkpoint;
};

/// A run of events a projector plans, decodes and folds at a time: which
/// views want each (bit k: view k; decoded_bit: the payload is in `evs`) and
/// the decoded events, reused run after run.
struct projector_run_buffer {
  static constexpr std::size_t size = 128;
  static constexpr std::uint32_t decoded_bit = std::uint32_t{1} << 31;
  std::array<std::uint32_t, size> plan{};
  std::vector<events::event> evs = std::vector<events::event>(size);
  std::array<const events::event*, size> ahead{};
};

class projector {
public:
  /// Folds `views` into their live spaces (resolved by open()).
  projector(storage::event_store& log, storage::kv_store& kv,
            std::vector<std::unique_ptr<projection>> views, projector_options opts = {});

  /// Resolves spaces and loads checkpoints. With `targets` (same order as the
  /// views), folds into those spaces and checkpoints instead (rebuild, as-of).
  result<void> open(const std::vector<view_target>& targets = {});

  /// Folds every event after the checkpoints up to `until` (0: the head at
  /// the call), committing every batch_events. Returns the events folded.
  result<std::uint64_t> catch_up(log_position until = {}, const progress_fn& progress = {});

  /// Folds events that continue the checkpoints (older ones are skipped per
  /// view) and commits them as one batch.
  result<void> apply(std::span<const events::envelope> page);

  /// Subscribes to the log after the lowest checkpoint and folds every page
  /// as it is delivered (one commit per page). An error stops it.
  std::unique_ptr<storage::subscription> run_live();

  /// The lowest checkpoint of the views (every view has folded up to it).
  log_position position() const;
  log_position checkpoint(std::string_view view) const;
  std::string space(std::string_view view) const;
  std::vector<std::string> view_names() const;

private:
  struct slot {
    std::unique_ptr<projection> fold;
    std::unique_ptr<view_txn> tx;
    std::unique_ptr<columnar_fold> columns; ///< fresh catch_up: the view in columns
    std::string checkpoint_name;
    log_position checkpoint;
    log_position pending; ///< last position folded but not committed
  };
  result<void> fold(std::span<const events::envelope_view> page);
  /// catch_up of from..target with pages in flight: the reader thread reads
  /// the pages; this thread folds them and commits. In fresh mode with
  /// threads the helper folds the columnar `executions` view beside it,
  /// each group at its own pace (a view's rows stay on one thread).
  result<std::uint64_t> catch_up_pipelined(std::uint64_t from, std::uint64_t target,
                                           const progress_fn& progress);
  /// Writes the batch and moves checkpoints. Columnar views are written and
  /// their checkpoints moved only when `last` (the end of a catch_up).
  result<void> commit(bool last = true);
  /// Forgets what was folded since the checkpoints (after an error).
  void reset_pending();
  std::size_t cached_bytes() const;

  /// Threads kept for the projector's life (started when first needed):
  /// `helper` folds and writes beside the caller's thread, `reader` reads
  /// the next page of a catch-up.
  base::worker& helper();
  base::worker& reader();

  storage::event_store* log_;
  storage::kv_store* kv_;
  projector_options opts_;
  std::vector<slot> slots_;
  std::uint64_t uncommitted_ = 0;
  std::unique_ptr<base::worker> helper_, reader_;
  bool helper_busy_ = false; ///< catch_up_pipelined: the helper is folding (commit uses one thread)
  projector_run_buffer buffer_; ///< this thread's
};

/// A digest of a kv space: row count, bytes, and a 128-bit hash of every
/// (key, value) in key order (two FNV-1a-64 lanes over length-prefixed
/// fields). Equal digests mean equal rows, byte for byte (with overwhelming
/// probability; not a cryptographic MAC).
struct view_digest {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::string hash; ///< 32 hex digits
  bool operator==(const view_digest&) const = default;
};
result<view_digest> digest_space(storage::kv_store& kv, std::string_view space,
                                 const progress_fn& progress = {});

/// The first key where two spaces differ ("" when equal), for reports.
result<std::string> first_difference(storage::kv_store& kv, std::string_view a, std::string_view b);

struct rebuild_options {
  /// Compare the rebuilt view with the live one; on a difference, keep the
  /// live view (no swap) and report it. Default: false (rebuild and swap).
  bool verify = false;
  projector_options projector{};
  progress_fn progress{};
};

struct rebuild_report {
  std::string view;
  log_position position; ///< both views reflect the log up to here
  view_digest live;      ///< the live view before the swap (after catching up)
  view_digest rebuilt;   ///< the view folded from position 1 into a fresh space
  bool equal = false;
  bool swapped = false;
  std::string first_difference; ///< when !equal: the first differing key (escaped)
};

/// Rebuilds the named views from position 1 into fresh generations, compares
/// them with the live views (caught up to the same position first), and
/// atomically replaces each live view by its rebuild (one batch: generation
/// pointer, old space erased, checkpoint) unless verify found a difference.
/// An unknown view name is errc::invalid_argument and changes nothing.
result<std::vector<rebuild_report>> rebuild(storage::event_store& log, storage::kv_store& kv,
                                            const std::vector<std::string>& views,
                                            const rebuild_options& opts = {});

/// The view format the rows in `kv` were written with ("@format" in
/// meta_space; absent: 1, the format before it was recorded).
result<std::uint32_t> stored_view_format(storage::kv_store& kv);

/// When the stored view format is not `view_format`, moves every view to a
/// fresh, empty generation with checkpoint 0 and records the new format, in
/// one batch (the old spaces are erased in it); the next catch_up folds the
/// whole log in the current layout. A data directory whose views were never
/// written just gets the format recorded. Returns whether views were reset.
result<bool> reset_views_for_format(storage::kv_store& kv);

/// Builds the named views as they were at log position `until` into scratch
/// spaces "<view>@asof" (replacing earlier ones) and returns view -> space,
/// for queries (projections/queries.hpp). `until` past the head is
/// errc::invalid_argument.
result<std::map<std::string, std::string>>
build_as_of(storage::event_store& log, storage::kv_store& kv, const std::vector<std::string>& views,
            log_position until, const progress_fn& progress = {});

/// The last position whose event time is <= t (0 when none), by binary search:
/// event times follow commit order (the store stamps them at commit).
result<log_position> position_at(storage::event_store& log, base::timestamp t);

/// A view name check with a clear message ("unknown view 'x' (known: ...)").
result<void> check_view_names(const std::vector<std::string>& views);

/// The last error's detail (thread-local), e.g. "decode at position 17: ...".
const std::string& error_detail();

} // namespace otaledger::projections
