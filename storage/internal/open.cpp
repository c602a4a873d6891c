#include "storage/open.hpp"

#include "storage/internal/file_blob_store.hpp"
#include "storage/internal/rocks.hpp"
#include "storage/internal/rocksdb_event_store.hpp"
#include "storage/internal/rocksdb_kv_store.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace otaledger::storage {

result<void> validate(const options& o) {
  auto bad = [](std::string what) {
    set_error_detail("invalid storage option: " + std::move(what));
    return make_error_code(errc::invalid_argument);
  };
  if (o.path.empty()) return bad("path is empty; the store needs a data directory");
  if (o.max_events_per_append == 0) return bad("max_events_per_append must be at least 1");
  if (o.max_append_bytes == 0) return bad("max_append_bytes must be at least 1");
  if (o.max_batch_bytes < 4096)
    return bad(fmt::format("max_batch_bytes is {}; it must be at least 4096", o.max_batch_bytes));
  if (o.max_batch_appends == 0) return bad("max_batch_appends must be at least 1");
  if (o.max_queued_appends == 0) return bad("max_queued_appends must be at least 1");
  if (o.subscription_page == 0) return bad("subscription_page must be at least 1");
  if (o.memtable_bytes < (1u << 20))
    return bad(fmt::format("memtable_bytes is {}; it must be at least 1 MiB", o.memtable_bytes));
  if (o.max_blob_bytes == 0) return bad("max_blob_bytes must be at least 1");
  return ok();
}

result<database> open_database(const options& opts) {
  OTA_TRYV(validate(opts));
  OTA_TRY(db, internal::open_rocks(opts));
  OTA_TRY(events, internal::rocksdb_event_store::open(db));
  OTA_TRY(blobs, internal::file_blob_store::open(db, (std::filesystem::path{opts.path} / "blobs")));
  database out;
  out.events = std::move(events);
  out.views = std::make_unique<internal::rocksdb_kv_store>(db);
  out.blobs = std::move(blobs);
  return out;
}

result<std::unique_ptr<event_store>> open_event_store(const options& opts) {
  OTA_TRYV(validate(opts));
  OTA_TRY(db, internal::open_rocks(opts));
  OTA_TRY(events, internal::rocksdb_event_store::open(db));
  return std::unique_ptr<event_store>{std::move(events)};
}

} // namespace otaledger::storage
