// kv_store: ordered key-value spaces for projections (read models), stored in
// the `views` column family beside the log.
//
// A space is a named, independent, bytewise-ordered map (e.g. "task_progress",
// "device_status"). A projection folds events into rows and writes its rows
// AND its checkpoint in one write_batch, which is one RocksDB WriteBatch: after
// a crash a view is never ahead of or behind its checkpoint (STYLE.md §9).
// Checkpoints set here are the same ones event_store::load_checkpoint reads.
// Reads page through a space (scan) so no view is ever loaded whole.
//
// Thread safety: any member from any thread. Each space should have one writer
// (its projection); concurrent batches are applied in some order, each atomically.
// On a crash: a batch written with write_mode::sync is there after restart; a
// write_mode::no_sync batch survives a process crash but may be lost, whole, on
// a machine crash (then the projection resumes from the older checkpoint).
#pragma once

#include "base/result.hpp"
#include "base/strong_id.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otaledger::storage {

/// Puts, deletes and checkpoint moves that are applied together or not at all.
/// Operations apply in the order they were added (a put after an erase_space
/// of the same space survives it).
/// Space names and keys must be non-empty and space names free of NUL bytes;
/// kv_store::write refuses a batch that breaks this (errc::invalid_argument).
class write_batch {
public:
  enum class op_kind : std::uint8_t { put, erase, erase_space, checkpoint };
  struct op {
    op_kind kind;
    std::string space; ///< the space, or the checkpoint's name
    std::string key;
    std::string value;
    log_position position; ///< for checkpoint
  };

  void put(std::string_view space, std::string_view key, std::string_view value) {
    ops_.push_back({op_kind::put, std::string{space}, std::string{key}, std::string{value}, {}});
  }
  void erase(std::string_view space, std::string_view key) {
    ops_.push_back({op_kind::erase, std::string{space}, std::string{key}, {}, {}});
  }
  /// Removes every key of a space (e.g. before rebuilding it from position 0).
  void erase_space(std::string_view space) {
    ops_.push_back({op_kind::erase_space, std::string{space}, {}, {}, {}});
  }
  /// Moves a named checkpoint in the same batch.
  void set_checkpoint(std::string_view name, log_position p) {
    ops_.push_back({op_kind::checkpoint, std::string{name}, {}, {}, p});
  }

  bool empty() const noexcept { return ops_.empty(); }
  std::size_t size() const noexcept { return ops_.size(); }
  void clear() noexcept { ops_.clear(); }
  const std::vector<op>& ops() const noexcept { return ops_; }

private:
  std::vector<op> ops_;
};

/// How a write_batch is made durable.
enum class write_mode : std::uint8_t {
  sync,    ///< returns after the WAL write was synced (survives a machine crash)
  no_sync, ///< returns after the WAL write (survives a process crash only); cheaper
};

/// Which keys of a space scan returns, and from where it resumes.
struct scan_range {
  std::string_view prefix{}; ///< only keys starting with it ("": every key)
  std::string_view after{};  ///< only keys > after ("": from the first); pass a page's last key
  std::string_view before{}; ///< only keys < before ("": no upper bound)
};

/// One page of a scan, in key order.
struct scan_page {
  std::vector<std::pair<std::string, std::string>> rows;
  bool more = false; ///< true: rows beyond this page exist (resume after rows.back().first)
};

/// A key for a message: NUL (the separator of a key's parts) as '/', other
/// bytes outside printable ASCII as \xHH.
std::string escape_key(std::string_view key);

/// What an ingest writes, so a store can lay its files out for how they are
/// read.
enum class ingest_kind {
  rows,  ///< rows looked up by key (and scanned)
  index, ///< keys with empty values, only ever scanned by prefix: the RocksDB
         ///< store writes them with no Bloom filter, in 16 KiB blocks
};

/// Rows of one space written in key order and ingested together
/// (kv_store::start_ingest). Used by one thread. The RocksDB store's writer
/// holds the database open until it is destroyed.
class ingest_writer {
public:
  virtual ~ingest_writer() = default;
  /// Adds a row (put) or an erase of a key. Keys must be non-empty and
  /// increase; otherwise errc::invalid_argument. After any error (a key
  /// refused, a write failed) nothing is ever ingested by this writer.
  result<void> put(std::string_view key, std::string_view value) { return add(key, &value); }
  result<void> erase(std::string_view key) { return add(key, nullptr); }
  /// Ingests every row added, atomically and durably (nothing when none);
  /// the kv_store::ingest contract. A writer dropped unfinished ingests
  /// nothing.
  result<void> finish();

protected:
  /// `key_prefix`: what the store puts before every key it writes.
  ingest_writer(std::string space, std::string_view key_prefix);
  const std::string& space() const noexcept { return space_; }
  /// Writes a checked row (`value` null: an erase); `stored` is the key
  /// prefix + key.
  virtual result<void> write(std::string_view key, std::string_view stored,
                             const std::string_view* value) = 0;
  /// Ingests every row written.
  virtual result<void> ingest_written() = 0;

private:
  result<void> add(std::string_view key, const std::string_view* value);

  std::string space_;
  std::string stored_;  ///< key prefix + the last key
  std::size_t prefix_;  ///< the key prefix's size
  bool any_ = false;    ///< a row was added
  bool failed_ = false; ///< an error: nothing is ingested
};

class kv_store {
public:
  virtual ~kv_store() = default;

  /// The value of `key` in `space`, or nullopt.
  virtual result<std::optional<std::string>> get(std::string_view space, std::string_view key) = 0;

  /// Up to `limit` rows of `space` within `range`, in key order.
  virtual result<scan_page> scan(std::string_view space, const scan_range& range,
                                 std::size_t limit) = 0;

  /// Applies the batch atomically (rows and checkpoints together).
  virtual result<void> write(const write_batch& batch, write_mode mode) = 0;

  /// A named checkpoint (0 if unset); the same value event_store::load_checkpoint returns.
  virtual result<log_position> load_checkpoint(std::string_view name) = 0;

  /// One row of a bulk load: a value, or nullopt to erase the key.
  using ingest_row = std::pair<std::string, std::optional<std::string>>;

  /// Bulk-loads rows of one space, bypassing the write-ahead log and the
  /// memtables (RocksDB: one SST file written with SstFileWriter and added by
  /// IngestExternalFile), for a space nobody else reads or writes meanwhile
  /// (a rebuild's fresh generation). `rows` must be sorted by key with no
  /// duplicates (errc::invalid_argument otherwise). Atomic, and durable when
  /// it returns; it overrides every earlier write of its keys and is
  /// overridden by later ones (erase_space included). Moves no checkpoint:
  /// write the checkpoint afterwards, so it is never ahead of the rows.
  /// Default: one synced write_batch.
  virtual result<void> ingest(std::string_view space, const std::vector<ingest_row>& rows);

  /// ingest() row by row, for rows produced in key order: none is held in
  /// memory (RocksDB: written straight into SST files, all ingested by one
  /// IngestExternalFile at finish). Default: collects the rows and calls
  /// ingest() at finish.
  virtual result<std::unique_ptr<ingest_writer>> start_ingest(std::string_view space,
                                                              ingest_kind kind);
  result<std::unique_ptr<ingest_writer>> start_ingest(std::string_view space) {
    return start_ingest(space, ingest_kind::rows);
  }
};

/// A kv_store in memory with the same semantics, for unit tests of
/// projections. Its checkpoints are its own (not shared with an event store).
std::unique_ptr<kv_store> make_memory_kv_store();

} // namespace otaledger::storage
