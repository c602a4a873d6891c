// A projection: a pure fold of the log into the rows of one view.
//
// Each view lives in its own key space of the views kv_store (storage/kv_store.hpp).
// The projector (projections/projector.hpp) reads the log from the view's
// checkpoint, calls `apply` for every event in position order, and writes the
// rows the fold produced together with the checkpoint in one atomic batch.
// `apply` reads and writes rows only through the view_txn it is given, reads
// no clock (time comes from the envelope or the event) and has no other side
// effect, so folding the same log always yields the same bytes (ARCHITECTURE.md
// invariant 5): a rebuilt view equals the live one, and the digest proves it.
//
// Thread safety: a projection object is stateless and may be shared; a
// view_txn belongs to one projector thread.
#pragma once

#include "base/result.hpp"
#include "events/catalog.hpp"
#include "events/codec.hpp"
#include "events/envelope.hpp"
#include "storage/kv_store.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otaledger::projections {

/// Bumped whenever a view's fold or row layout changes (2: the audit view's
/// blocks; 3: the device rows and MAC index left executions for fleet).
/// `otaledger serve` compares it with the format recorded in the data
/// directory and refolds every view from the log when they differ
/// (reset_views_for_format, projector.hpp).
inline constexpr std::uint32_t view_format = 3;

/// A fast 64-bit hash of a key, for in-memory tables only (never stored).
std::uint64_t key_hash(std::string_view key) noexcept;

/// The audit view keeps one row per (correlation id, block of this many log
/// positions): the key ends with the block's first position (be64), the value
/// lists the positions in it as big-endian 16-bit offsets, in order.
inline constexpr std::uint64_t audit_block = 4096;

/// The rows of one view as one fold step sees them: reads fall through a
/// per-batch overlay to the kv store; writes stay in the overlay until the
/// projector commits the batch. Bounded by the batch, never by the view.
///
/// Rows written or read through the typed helpers (get_row, edit_row,
/// put_row) are kept decoded in the overlay and encoded once, when the batch
/// is written out (a row touched by many events of a batch is decoded once
/// and encoded once). The bytes are those of events::encode_binary(row), so
/// typed and raw access give the same stored rows.
///
/// In fresh mode (a rebuild or as-of build into an erased space that nobody
/// else touches) the overlay outlives batches: it is a write-back cache that
/// the projector spills (writes out in key order with kv_store::ingest, then
/// forgets) when it outgrows projector_options::fresh_cache_bytes and at the
/// end. Each spill keeps a Bloom filter of the keys it wrote, so a key not in
/// the overlay and in no filter is absent without asking the store.
class view_txn {
public:
  view_txn(storage::kv_store& kv, std::string space, bool fresh = false)
      : kv_(&kv), space_(std::move(space)), fresh_(fresh) {}

  /// The row's value, or nullptr when it does not exist. The pointer is valid
  /// until the next put/erase of the same key.
  const std::string* get(std::string_view key);
  void put(std::string_view key, std::string value);
  void erase(std::string_view key);
  /// Writes an empty-valued key that the fold guarantees is new in this view
  /// (never written before, e.g. it ends with the event's log position) and
  /// never reads or erases afterwards. Skips the overlay's index: the cheapest
  /// write there is.
  void append(std::string key);

  /// Typed access over the compact binary row codec. The row stays decoded in
  /// the overlay: the pointer returned by get_row_ptr/edit_row is valid until
  /// the next put/erase of the same key (or clear/spill).
  template <class Row> const Row* get_row_ptr(std::string_view key) {
    return typed<Row>(key, false);
  }
  /// A copy of the row, or nullopt when it does not exist.
  template <class Row> std::optional<Row> get_row(std::string_view key) {
    const Row* r = typed<Row>(key, false);
    if (!r) return std::nullopt;
    return *r;
  }
  /// The row to change in place (marked written), or nullptr when it does not
  /// exist (then nothing is marked).
  template <class Row> Row* edit_row(std::string_view key) { return typed<Row>(key, true); }
  template <class Row> Row& put_row(std::string_view key, Row row) {
    node& n = slot(key);
    auto* b =
        n.e.box && n.e.box->tag == &tag_of<Row> ? static_cast<box<Row>*>(n.e.box.get()) : nullptr;
    if (!b) {
      drop_box(n.e);
      auto fresh_box = std::make_unique<box<Row>>();
      b = fresh_box.get();
      n.e.box = std::move(fresh_box);
      bytes_ += b->size;
    }
    b->row = std::move(row);
    if (!n.e.value) n.e.value.emplace();
    n.e.stale = true;
    return b->row;
  }

  const std::string& space() const noexcept { return space_; }
  /// The first read error (the batch must not be committed when set).
  std::error_code error() const noexcept { return error_; }
  void fail(std::error_code ec) {
    if (!error_) error_ = ec;
  }

  /// A decoded row kept in the overlay (type-erased).
  struct boxed {
    const void* tag = nullptr;
    std::size_t size = 0; ///< approximate bytes, for the overlay's budget
    virtual ~boxed() = default;
    virtual void encode(std::string& out) const = 0;
  };
  /// One key's state in this batch.
  struct entry {
    std::optional<std::string> value; ///< nullopt: absent or erased
    std::unique_ptr<boxed> box;       ///< the decoded row, when read or written typed
    bool stale = false;               ///< value must be re-encoded from box
    bool written = false;             ///< true: flush it (put or erase)
    bool stored = true;               ///< false: known absent from the kv store
  };
  /// The entries to write (written, and not an erase of a key the store
  /// lacks), sorted by key, with typed rows encoded. Valid until the next
  /// get/put/erase/clear.
  std::vector<std::pair<const std::string*, entry*>> dirty_sorted();
  bool dirty() const noexcept { return dirty_; }
  bool fresh() const noexcept { return fresh_; }
  /// Approximate bytes the overlay holds.
  std::size_t bytes() const noexcept { return bytes_; }
  /// Keys the overlay holds.
  std::size_t size() const noexcept { return nodes_.size() + appended_.size(); }
  /// Forgets the batch (after a commit, or to bound memory between commits).
  void clear();
  /// Fresh mode: ingests the dirty rows in key order and forgets the overlay.
  result<void> spill();

private:
  template <class Row> static inline const char tag_of = 0;
  template <class Row> struct box final : boxed {
    Row row{};
    box() {
      tag = &tag_of<Row>;
      size = sizeof(box) + 32;
    }
    void encode(std::string& out) const override { out = events::encode_binary(row); }
  };
  template <class Row> Row* typed(std::string_view key, bool write) {
    node* n = lookup(key);
    if (!n || !n->e.value) return nullptr;
    if (!n->e.box || n->e.box->tag != &tag_of<Row>) {
      if (n->e.stale) {
        n->e.box->encode(*n->e.value);
        n->e.stale = false;
      }
      auto r = events::decode_binary<Row>(*n->e.value);
      if (!r) {
        fail(r.error());
        return nullptr;
      }
      auto b = std::make_unique<box<Row>>();
      b->row = std::move(r).value();
      drop_box(n->e);
      bytes_ += b->size;
      n->e.box = std::move(b);
    }
    if (write) {
      dirty_ = true;
      n->e.written = true;
      n->e.stale = true;
    }
    return &static_cast<box<Row>*>(n->e.box.get())->row;
  }

  // The overlay: nodes in a deque (stable addresses, so get()'s pointer
  // survives puts of other keys) indexed by an open-addressing table of
  // (32-bit hash tag, node index + 1) words with linear probing. No node is
  // ever removed before clear(): an erase keeps the key with no value.
  struct node {
    std::string key;
    std::uint64_t hash = 0;
    entry e;
  };
  static std::uint64_t hash(std::string_view key) noexcept;
  /// The node of `key`, or nullptr; `h` is hash(key).
  node* find(std::string_view key, std::uint64_t h) noexcept;
  /// The node of `key` with the store's value loaded when it was not in the
  /// overlay (nullptr only on a read error).
  node* lookup(std::string_view key);
  /// Adds a node for a key known not to be in the overlay.
  node& add(std::string_view key, std::uint64_t h, entry e);
  node& slot(std::string_view key);
  /// Forgets the decoded row of an entry (its value stays as encoded).
  void drop_box(entry& e) noexcept {
    if (!e.box) return;
    bytes_ -= std::min(bytes_, e.box->size);
    e.box.reset();
  }
  void grow();
  /// The written nodes to flush, in key order, with typed rows encoded.
  std::vector<node*> flush_order();

  /// Fresh mode: whether the key may have been written out by a spill (a
  /// Bloom filter per spill; no false negatives, so "no" means absent).
  bool maybe_spilled(std::uint64_t h) const noexcept;
  void remember_spilled(const std::vector<std::uint64_t>& hashes);

  storage::kv_store* kv_;
  std::string space_;
  std::vector<std::vector<std::uint64_t>> spilled_filters_; ///< 512-bit blocks
  std::deque<node> nodes_;
  std::deque<node> appended_;        ///< append(): not indexed, never read
  std::vector<std::uint64_t> index_; ///< 0: empty; else (tag << 32) | (node + 1)
  std::size_t bytes_ = 0;
  bool fresh_ = false;
  bool dirty_ = false;
  std::error_code error_;
};

/// A fresh fold held in memory in the fold's own columns (fresh mode only:
/// a rebuild or as-of fold from position 1 into an erased space). Ids are
/// interned to dense integers once, rows live in flat vectors indexed by them,
/// and nothing is written until the end, when `write` produces the view's rows
/// in key order. The rows are the same bytes the view_txn fold of the same
/// events writes (both run the same step function over their own row access).
class columnar_fold {
public:
  virtual ~columnar_fold() = default;
  /// Called before a run of events is applied: evs[i] is page[i]'s decoded
  /// event, or null where this fold does not want it. A fold may look up the
  /// ids of the whole run at once (their cache misses overlap instead of
  /// following one another). Default: nothing.
  virtual void look_ahead(std::span<const events::envelope_view> page,
                          std::span<const events::event* const> evs) {
    (void)page;
    (void)evs;
  }
  /// Folds one event the projection wants (`ev` as for projection::apply).
  virtual void apply(const events::envelope_view& env, const events::event* ev) = 0;
  /// The view's rows come in `parts()` parts, each in key order and each
  /// part's keys all below the next part's, so the parts can be written into
  /// separate ingests on separate threads: prepare() once (it may sort), then
  /// write_part(k, out) for each part, from any thread, concurrently. `out`
  /// is an ingest of the view's space (it refuses a key not above the
  /// previous one).
  virtual std::size_t parts() const { return 1; }
  /// What part `part` holds (storage::ingest_kind::index: only keys that
  /// are only ever scanned by prefix). Default: rows.
  virtual storage::ingest_kind part_kind(std::size_t part) const {
    (void)part;
    return storage::ingest_kind::rows;
  }
  virtual result<void> prepare() { return outcome::success(); }
  virtual result<void> write_part(std::size_t part, storage::ingest_writer& out) = 0;
  /// The first error met while folding (the fold must not be written then).
  std::error_code error() const noexcept { return error_; }

protected:
  void fail(std::error_code ec) {
    if (!error_) error_ = ec;
  }

private:
  std::error_code error_;
};

/// One view's fold.
class projection {
public:
  virtual ~projection() = default;
  /// The view's name ("tasks", "executions", ...): also its checkpoint's and
  /// its key space's stem.
  virtual std::string_view name() const = 0;
  /// Whether the fold cares about this event at all (a cheap filter on the
  /// envelope's type, so the projector skips decoding for no view).
  virtual bool wants(std::string_view type) const = 0;
  /// Whether `apply` needs the decoded event (false: the envelope is enough,
  /// and `ev` may be null).
  virtual bool needs_event() const { return true; }
  /// Folds one event into the rows. Must be deterministic. `ev` is the
  /// decoded envelope (non-null when needs_event()).
  virtual void apply(view_txn& tx, const events::envelope_view& env,
                     const events::event* ev) const = 0;
  /// A columnar fold of the same view for fresh folds from position 1, or
  /// nullptr when the view has none (then fresh folds use view_txn).
  virtual std::unique_ptr<columnar_fold> columnar() const { return nullptr; }
};

/// Key building: components joined by NUL (ids never contain NUL), so one
/// id's keys never interleave with a longer id's.
inline void key_part(std::string& k, std::string_view part) {
  k.append(part);
  k.push_back('\0');
}
template <class... P> std::string make_key(std::string_view first, const P&... rest) {
  std::string k;
  k.append(first);
  ((k.push_back('\0'), k.append(rest)), ...);
  return k;
}
/// make_key into a reused buffer (no allocation once it is big enough).
template <class... P>
std::string_view build_key(std::string& k, std::string_view first, const P&... rest) {
  k.clear();
  k.append(first);
  ((k.push_back('\0'), k.append(rest)), ...);
  return k;
}
/// Big-endian fixed 32-bit, for numeric key order.
inline std::string be32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 3; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return s;
}

} // namespace otaledger::projections
