// The shared RocksDB handle: one database, one column family per kind of data
// (docs/storage.md has the key layout). Only storage/internal/ sees RocksDB
// types; the event store, the kv store and the blob store each hold a
// shared_ptr to one `rocks`, so the database closes after the last of them.
#pragma once

#include "base/result.hpp"
#include "storage/errc.hpp"
#include "storage/options.hpp"

#include <rocksdb/db.h>
#include <rocksdb/status.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace otaledger::storage::internal {

/// Column families. The numbering is this code's; RocksDB knows them by name
/// (cf_names), so entries may be added but a name must never be reused.
enum cf_id : std::size_t {
  cf_default,      ///< unused (RocksDB requires it)
  cf_log,          ///< be64 position -> record (record.hpp)
  cf_streams,      ///< stream -> be64 head version
  cf_stream_index, ///< stream NUL be64 version -> be64 position
  cf_commands,     ///< command id -> be64 first, be64 last, be64 version
  cf_snapshots,    ///< stream -> snapshot (format, CRC, version, schema, data)
  cf_checkpoints,  ///< name -> be64 position
  cf_blobs_meta,   ///< blob id -> format, be64 size, sha256[32], md5[16]
  cf_views,        ///< space NUL key -> value (kv_store)
  cf_count
};

inline constexpr std::array<const char*, cf_count> cf_names = {
    "default",   "log",         "streams",    "stream_index", "commands",
    "snapshots", "checkpoints", "blobs_meta", "views"};

struct rocks {
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, cf_count> cf{};
  options opts; ///< the options the directory was opened with (validated)

  rocks() = default;
  rocks(const rocks&) = delete;
  rocks& operator=(const rocks&) = delete;
  ~rocks();

  rocksdb::ColumnFamilyHandle* operator[](cf_id id) const noexcept { return cf[id]; }
};

/// Opens <opts.path>/db with every column family and otaledger's tuning.
/// `opts` must have been validated. (Also used by the storage benchmark's raw
/// RocksDB baseline and by fault tests, so they run on the same engine setup.)
result<std::shared_ptr<rocks>> open_rocks(const options& opts);

/// Converts a RocksDB status into our error, with the detail set to
/// "<what>: <status>".
std::error_code to_error(const rocksdb::Status& s, std::string_view what);

} // namespace otaledger::storage::internal
