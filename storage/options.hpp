// storage::options: how a data directory is opened (RocksDB's WriteOptions
// style: every field says what it means, what it costs, and its default).
//
// Options are validated once, by open_database / open_event_store; a bad value
// is errc::invalid_argument and storage::error_detail() names the field.
// Nothing here is read again after open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace otaledger::base {
class clock;
}

namespace otaledger::storage {

struct options {
  /// The data directory: RocksDB lives in <path>/db, blobs in <path>/blobs.
  /// Required (an empty path is refused).
  /// Default: "" (must be set).
  std::string path;

  /// Create the directory and the database when they do not exist. When false,
  /// opening a missing store fails (errc::invalid_argument from RocksDB).
  /// Default: true.
  bool create_if_missing = true;

  /// Durable mode. true: an append (and a snapshot, checkpoint or blob
  /// metadata write) is acknowledged only after the WAL write holding it was
  /// synced; acknowledged data survives kill -9 and a machine crash.
  /// false is the UNSYNCED mode, FOR TESTS AND BENCHMARKS ONLY: the WAL is
  /// still written before the acknowledgement, so a process crash loses
  /// nothing, but a machine or power failure may lose recent appends.
  /// Default: true.
  bool sync = true;

  /// Most events one append (one command) may carry; more is
  /// errc::invalid_argument. Bounds the size of one WriteBatch.
  /// Default: 10,000.
  std::size_t max_events_per_append = 10'000;

  /// Most bytes one append may carry (its events' data, types and metadata,
  /// approximately as encoded); more is errc::too_large. Bounds the memory
  /// and the WriteBatch of one command.
  /// Default: 64 MiB.
  std::size_t max_append_bytes = 64u << 20;

  /// Group commit: the writer thread closes a commit group (one WriteBatch,
  /// one WAL sync) once the encoded bytes of its appends reach this size.
  /// Larger groups amortise the sync over more appends; the group never
  /// splits an append, so one append larger than this is a group of its own.
  /// Must be at least 4 KiB.
  /// Default: 4 MiB.
  std::size_t max_batch_bytes = 4u << 20;

  /// Group commit: most appends in one commit group.
  /// Default: 4,096.
  std::size_t max_batch_appends = 4096;

  /// Appends queued for the writer beyond this are refused at once with
  /// errc::busy (back-pressure instead of unbounded memory).
  /// Default: 100,000.
  std::size_t max_queued_appends = 100'000;

  /// Stream heads (stream -> version) the writer keeps in memory for the
  /// expected-version check. On a miss the head is read from the `streams`
  /// column family, so the cache only affects speed, never correctness.
  /// Default: 1,000,000.
  std::size_t stream_head_cache = 1'000'000;

  /// Events a subscription reads from the log per catch-up page (and so the
  /// largest span its handler receives).
  /// Default: 1,024.
  std::size_t subscription_page = 1024;

  /// Bytes of the RocksDB block cache shared by every column family.
  /// Default: 64 MiB.
  std::size_t block_cache_bytes = 64u << 20;

  /// Bytes of one RocksDB memtable per column family (`write_buffer_size`).
  /// Larger memtables mean fewer flushes and longer recovery after a crash.
  /// Default: 64 MiB.
  std::size_t memtable_bytes = 64u << 20;

  /// Largest blob (firmware image, package) the blob store accepts; a
  /// blob_store::begin asking for more is errc::too_large.
  /// Default: 2 GiB.
  std::uint64_t max_blob_bytes = 2ull << 30;

  /// Where event times come from when an event carries none (time zero).
  /// Not owned; must outlive the store. nullptr: the system clock.
  /// Default: nullptr.
  const base::clock* clock = nullptr;
};

} // namespace otaledger::storage
