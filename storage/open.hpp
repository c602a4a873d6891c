// Opening a data directory. One RocksDB database (<path>/db) holds the event
// log, stream heads and indexes, command ids, snapshots, checkpoints, the
// projections' views and the blobs' metadata; blob bytes live in <path>/blobs.
// A directory can be open in one process at a time (RocksDB's LOCK file).
//
// The objects share the database: it closes when the last of them (and the
// last subscription) is destroyed, in any order. Closing the event store
// drains its write queue (every queued append is completed) and ends its
// subscriptions' delivery.
#pragma once

#include "base/result.hpp"
#include "storage/blob_store.hpp"
#include "storage/event_store.hpp"
#include "storage/kv_store.hpp"
#include "storage/options.hpp"

#include <memory>

namespace otaledger::storage {

/// Everything one data directory holds.
struct database {
  std::unique_ptr<event_store> events;
  std::unique_ptr<kv_store> views;
  std::unique_ptr<blob_store> blobs;
};

/// Opens (or creates) the data directory at options::path. Invalid options
/// are errc::invalid_argument with storage::error_detail() naming the field;
/// a store that cannot be opened is errc::io_error (or errc::corruption).
result<database> open_database(const options& opts);

/// Just the event store of a data directory (the other parts stay closed).
result<std::unique_ptr<event_store>> open_event_store(const options& opts);

/// Checks options without opening anything (what open_* does first).
result<void> validate(const options& opts);

} // namespace otaledger::storage
