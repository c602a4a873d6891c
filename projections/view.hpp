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

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otaledger::storage {
class kv_store;
}

namespace otaledger::projections {

/// Bumped whenever a view's fold or row layout changes; the projector rebuilds
/// views whose stored format differs.
inline constexpr std::uint32_t view_format = 1;

/// The rows of one view as one fold step sees them: reads fall through a
/// per-batch overlay to the kv store; writes stay in the overlay until the
/// projector commits the batch. Bounded by the batch, never by the view.
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
  void put(std::string key, std::string value);
  void erase(std::string key);

  /// Typed helpers over the compact binary row codec.
  template <class Row> std::optional<Row> get_row(std::string_view key) {
    const std::string* v = get(key);
    if (!v) return std::nullopt;
    auto r = events::decode_binary<Row>(*v);
    if (!r) {
      fail(r.error());
      return std::nullopt;
    }
    return std::move(r).value();
  }
  template <class Row> void put_row(std::string key, const Row& row) {
    put(std::move(key), events::encode_binary(row));
  }

  const std::string& space() const noexcept { return space_; }
  /// The first read error (the batch must not be committed when set).
  std::error_code error() const noexcept { return error_; }
  void fail(std::error_code ec) {
    if (!error_) error_ = ec;
  }

  /// One key's state in this batch.
  struct entry {
    std::optional<std::string> value; ///< nullopt: absent or erased
    bool written = false;             ///< true: flush it (put or erase)
    bool stored = true;               ///< false: known absent from the kv store
  };
  /// The entries to write (written, and not an erase of a key the store
  /// lacks), sorted by key. Valid until the next get/put/erase/clear.
  std::vector<std::pair<const std::string*, entry*>> dirty_sorted();
  bool dirty() const noexcept { return dirty_; }
  bool fresh() const noexcept { return fresh_; }
  /// Approximate bytes the overlay holds.
  std::size_t bytes() const noexcept { return bytes_; }
  /// Keys the overlay holds.
  std::size_t size() const noexcept { return nodes_.size(); }
  /// Forgets the batch (after a commit, or to bound memory between commits).
  void clear();
  /// Fresh mode: ingests the dirty rows in key order and forgets the overlay.
  result<void> spill();

private:
  // The overlay: nodes in a deque (stable addresses, so get()'s pointer
  // survives puts of other keys) indexed by an open-addressing table of
  // (32-bit hash tag, node index + 1) words with linear probing. No node is
  // ever removed before clear(): an erase keeps the key with no value.
  struct node {
    std::string key;
    entry e;
  };
  static std::uint64_t hash(std::string_view key) noexcept;
  /// The node of `key`, or nullptr; `h` is hash(key).
  node* find(std::string_view key, std::uint64_t h) noexcept;
  /// Adds a node for a key known not to be in the overlay.
  node& add(std::string&& key, std::uint64_t h, entry e);
  node& slot(std::string&& key);
  void grow();

  /// Fresh mode: whether the key may have been written out by a spill (a
  /// Bloom filter per spill; no false negatives, so "no" means absent).
  bool maybe_spilled(std::uint64_t h) const noexcept;
  void remember_spilled(const std::vector<std::uint64_t>& hashes);

  storage::kv_store* kv_;
  std::string space_;
  std::vector<std::vector<std::uint64_t>> spilled_filters_; ///< 512-bit blocks
  std::deque<node> nodes_;
  std::vector<std::uint64_t> index_; ///< 0: empty; else (tag << 32) | (node + 1)
  std::size_t bytes_ = 0;
  bool fresh_ = false;
  bool dirty_ = false;
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
  virtual void apply(view_txn& tx, const events::envelope& env, const events::event* ev) const = 0;
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
