#include "storage/internal/rocks.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_partitioner.h>
#include <rocksdb/table.h>

#include <fmt/format.h>

#include <filesystem>
#include <vector>

namespace otaledger::storage::internal {

namespace {

/// The stream part of a `stream_index` key (stream NUL be64 version): every
/// read of that family is a scan of one stream (prefix Bloom filters), and
/// its memtable has a prefix Bloom filter for seeks of streams it lacks.
class stream_prefix final : public rocksdb::SliceTransform {
public:
  const char* Name() const override { return "otaledger.stream_index_prefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - 8};
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() >= 9; }
};

/// The space part of a `views` key (space NUL key); the whole key when it
/// has no NUL.
std::string_view space_of(const rocksdb::Slice& key) {
  const std::string_view k = key.ToStringView();
  return k.substr(0, k.find('\0'));
}

/// Compaction output files of the `views` family never hold two spaces. A
/// rebuild folds into a new space ("<view>@<generation>"); when no file
/// spans that space's key range, its ingested files go straight to the
/// bottom level instead of L0, and ingesting them compacts nothing.
class space_partitioner final : public rocksdb::SstPartitioner {
public:
  const char* Name() const override { return "otaledger.view_space_partitioner"; }
  rocksdb::PartitionerResult ShouldPartition(const rocksdb::PartitionerRequest& r) override {
    return space_of(*r.prev_user_key) == space_of(*r.current_user_key) ? rocksdb::kNotRequired
                                                                       : rocksdb::kRequired;
  }
  bool CanDoTrivialMove(const rocksdb::Slice& smallest, const rocksdb::Slice& largest) override {
    return space_of(smallest) == space_of(largest);
  }
};

class space_partitioner_factory final : public rocksdb::SstPartitionerFactory {
public:
  const char* Name() const override { return "otaledger.view_space_partitioner"; }
  std::unique_ptr<rocksdb::SstPartitioner>
  CreatePartitioner(const rocksdb::SstPartitioner::Context&) const override {
    return std::make_unique<space_partitioner>();
  }
};

} // namespace

rocks::~rocks() {
  if (!db) return;
  for (auto* h : cf)
    if (h) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  // Close() flushes nothing we need (the WAL holds everything) but releases
  // the LOCK file; its status is only informative here.
  db->Close().PermitUncheckedError();
}

std::error_code to_error(const rocksdb::Status& s, std::string_view what) {
  set_error_detail(fmt::format("{}: {}", what, s.ToString()));
  if (s.IsNotFound()) return make_error_code(errc::not_found);
  if (s.IsCorruption()) return make_error_code(errc::corruption);
  if (s.IsInvalidArgument()) return make_error_code(errc::invalid_argument);
  if (s.IsBusy() || s.IsTryAgain()) return make_error_code(errc::busy);
  return make_error_code(errc::io_error);
}

result<std::shared_ptr<rocks>> open_rocks(const options& opts) {
  std::error_code ec;
  std::filesystem::path dir{opts.path};
  if (opts.create_if_missing) std::filesystem::create_directories(dir, ec);
  if (ec) {
    set_error_detail(
        fmt::format("cannot create the data directory {}: {}", opts.path, ec.message()));
    return make_error_code(errc::io_error);
  }

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = opts.create_if_missing;
  dbo.create_missing_column_families = true;
  dbo.max_background_jobs = 2;
  dbo.bytes_per_sync = 1 << 20;
  // Rarely written column families (checkpoints, snapshots) would otherwise
  // pin old WAL files until their memtable fills.
  dbo.max_total_wal_size = 4 * static_cast<std::uint64_t>(opts.memtable_bytes);
  dbo.keep_log_file_num = 4;
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // One thread (the append writer) writes.
  dbo.allow_concurrent_memtable_write = false;

  auto cache = rocksdb::NewLRUCache(opts.block_cache_bytes);
  auto cf_options = [&](bool point_lookups, std::size_t block_size, bool prefix_filter = false,
                        bool memtable_filter = false) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.block_size = block_size;
    if (point_lookups || prefix_filter)
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Per-stream (prefix) filters: a recovering aggregate's seek skips every
    // table file that holds none of its stream.
    if (prefix_filter) table.whole_key_filtering = false;
    rocksdb::ColumnFamilyOptions cfo;
    cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cfo.write_buffer_size = opts.memtable_bytes;
    cfo.compression = rocksdb::kLZ4Compression;
    cfo.level_compaction_dynamic_level_bytes = true;
    if (memtable_filter) {
      // Most command-id lookups miss (a new command): a memtable Bloom filter
      // answers them without walking the skip list. Only where lookups are
      // frequent: each memtable's filter is 5 % of its size (3.2 MiB),
      // allocated and zeroed when the memtable is created, so one on every
      // family held 22 MiB from the start (docs/storage.md).
      cfo.memtable_whole_key_filtering = point_lookups; // stream_index: by prefix
      cfo.memtable_prefix_bloom_size_ratio = 0.05;
    }
    return cfo;
  };

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (std::size_t i = 0; i < cf_count; ++i) {
    const bool scans = i == cf_log || i == cf_stream_index;
    auto cfo = cf_options(!scans, i == cf_log ? 16 * 1024 : 4 * 1024, i == cf_stream_index,
                          i == cf_commands || i == cf_views || i == cf_stream_index);
    // A seek of a stream absent from the index's memtable is answered by
    // its prefix Bloom filter. (Hash memtables made inserts cheap, but every
    // flush re-sorted the whole memtable into a new skip list: 15 % of the
    // CPU of a 1,000,000-device rollout. Per-stream insert hints cost more
    // in their hint map than they saved: docs/storage.md.) Stream heads are
    // the index's last entries.
    if (i == cf_stream_index) cfo.prefix_extractor = std::make_shared<stream_prefix>();
    if (i == cf_views) cfo.sst_partitioner_factory = std::make_shared<space_partitioner_factory>();
    cfs.emplace_back(cf_names[i], std::move(cfo));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(dbo, (dir / "db").string(), cfs, &handles, &raw);
  if (!s.ok()) return to_error(s, fmt::format("opening the store at {}", opts.path));
  auto r = std::make_shared<rocks>();
  r->db.reset(raw);
  for (std::size_t i = 0; i < handles.size() && i < cf_count; ++i)
    r->cf[i] = handles[i];
  r->opts = opts;
  return r;
}

} // namespace otaledger::storage::internal
