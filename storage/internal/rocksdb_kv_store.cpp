#include "storage/internal/rocksdb_kv_store.hpp"

#include "base/bytes.hpp"
#include "storage/internal/append_core.hpp"
#include "storage/record.hpp"

#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <fmt/format.h>

#include <atomic>
#include <filesystem>

#include <unistd.h>

namespace otaledger::storage::internal {
namespace {

std::string view_key(std::string_view space, std::string_view key) {
  std::string k;
  k.reserve(space.size() + 1 + key.size());
  k.append(space);
  k.push_back('\0');
  k.append(key);
  return k;
}

/// The smallest key greater than every key starting with `prefix` ("" when
/// there is none, i.e. the prefix is all 0xFF bytes).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF)
    prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

} // namespace

result<void> validate_space(std::string_view space) {
  if (space.empty()) return fail(errc::invalid_argument, "a view space name is empty");
  if (space.find('\0') != std::string_view::npos)
    return fail(errc::invalid_argument, "a view space name contains a NUL byte");
  return ok();
}

result<void> validate(const write_batch& batch) {
  for (const auto& op : batch.ops()) {
    if (op.kind == write_batch::op_kind::checkpoint) {
      if (op.space.empty()) return fail(errc::invalid_argument, "a checkpoint name is empty");
      continue;
    }
    OTA_TRYV(validate_space(op.space));
    if (op.kind != write_batch::op_kind::erase_space && op.key.empty())
      return fail(errc::invalid_argument, fmt::format("an empty key in view space {}", op.space));
  }
  return ok();
}

result<std::size_t> check_ingest_key(std::string_view space, bool first, std::string_view previous,
                                     std::string_view key) {
  if (key.empty())
    return fail(errc::invalid_argument, fmt::format("an empty key in view space {}", space));
  if (first) return std::size_t{0};
  // Above the previous key: longer than their shared bytes, and either
  // extending it or greater at the first byte that differs.
  const std::size_t same = base::common_prefix(previous, key);
  if (same == key.size() ||
      (same < previous.size() &&
       static_cast<unsigned char>(key[same]) < static_cast<unsigned char>(previous[same])))
    return fail(errc::invalid_argument,
                fmt::format("ingest into view space {}: keys not sorted or not unique (at {})",
                            space, escape_key(key)));
  return same;
}

namespace {

/// Writes rows into SST files (a new one past max_file_bytes) and ingests
/// them all with one IngestExternalFile.
class rocks_ingest_writer final : public ingest_writer {
public:
  rocks_ingest_writer(std::shared_ptr<rocks> db, std::string space, ingest_kind kind)
      : ingest_writer(space, view_key(space, {})), db_(std::move(db)), kind_(kind) {}
  ~rocks_ingest_writer() override {
    if (writer_) writer_->Finish().PermitUncheckedError(); // closes the file
    for (const auto& f : files_) {
      std::error_code ignored;
      std::filesystem::remove(f, ignored);
    }
  }

private:
  static constexpr std::uint64_t max_file_bytes = std::uint64_t{256} << 20;

  result<void> write(std::string_view, std::string_view stored,
                     const std::string_view* value) override {
    if (writer_ && writer_->FileSize() >= max_file_bytes) {
      auto s = writer_->Finish();
      writer_.reset();
      if (!s.ok()) return fail_io(s);
    }
    if (!writer_) {
      OTA_TRYV(open_file());
    }
    return check(value ? writer_->Put(stored, rocksdb::Slice{value->data(), value->size()})
                       : writer_->Delete(stored));
  }
  result<void> ingest_written() override {
    if (writer_) {
      auto s = writer_->Finish();
      writer_.reset();
      if (!s.ok()) return fail_io(s);
    }
    if (files_.empty()) return ok();
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;
    auto s = db_->db->IngestExternalFile((*db_)[cf_views], files_, io);
    if (!s.ok()) return to_error(s, fmt::format("ingesting rows into view space {}", space()));
    files_.clear(); // moved into the store
    return ok();
  }
  result<void> open_file() {
    static std::atomic<std::uint64_t> counter{0};
    auto* cf = (*db_)[cf_views];
    const std::filesystem::path dir = std::filesystem::path{db_->opts.path} / "ingest";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return fail(errc::io_error, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    files_.push_back(
        (dir / fmt::format("views-{}-{}.sst", ::getpid(), counter.fetch_add(1))).string());
    // The written pages stay in the page cache (invalidate_page_cache off):
    // the ingested rows are what the next view queries read, and dropping
    // them every megabyte (the default, meant for bulk loads) cost CPU too.
    auto options = db_->db->GetOptions(cf);
    if (kind_ == ingest_kind::index) {
      // Keys only ever scanned by prefix: a Bloom filter would never be
      // read, and larger blocks cost less per key to build. Each file keeps
      // its own table properties: readers and compactions need nothing else.
      auto table = *options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
      table.filter_policy.reset();
      table.block_size = 16 * 1024;
      options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    }
    writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions{}, options, cf,
                                                       /*invalidate_page_cache=*/false);
    return check(writer_->Open(files_.back()));
  }
  result<void> check(const rocksdb::Status& s) {
    if (s.ok()) return ok();
    return fail_io(s);
  }
  std::error_code fail_io(const rocksdb::Status& s) {
    return to_error(s, fmt::format("writing an ingest file for view space {}", space()));
  }

  std::shared_ptr<rocks> db_;
  ingest_kind kind_;
  std::vector<std::string> files_;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
};

} // namespace

result<void> rocksdb_kv_store::ingest(std::string_view space, const std::vector<ingest_row>& rows) {
  OTA_TRY(w, start_ingest(space));
  for (const auto& [k, v] : rows) {
    auto r = v ? w->put(k, *v) : w->erase(k);
    if (!r) return r;
  }
  return w->finish();
}

result<std::unique_ptr<ingest_writer>> rocksdb_kv_store::start_ingest(std::string_view space,
                                                                      ingest_kind kind) {
  OTA_TRYV(validate_space(space));
  return std::unique_ptr<ingest_writer>{
      std::make_unique<rocks_ingest_writer>(db_, std::string{space}, kind)};
}

result<std::optional<std::string>> rocksdb_kv_store::get(std::string_view space,
                                                         std::string_view key) {
  OTA_TRYV(validate_space(space));
  std::string value;
  auto s = db_->db->Get(rocksdb::ReadOptions{}, (*db_)[cf_views], view_key(space, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return to_error(s, fmt::format("reading view space {}", space));
  return std::optional<std::string>{std::move(value)};
}

result<scan_page> rocksdb_kv_store::scan(std::string_view space, const scan_range& range,
                                         std::size_t limit) {
  OTA_TRYV(validate_space(space));
  scan_page page;
  // Upper bound: the smallest of the space's end, the prefix's end and `before`.
  std::string upper{space};
  upper.push_back('\x01');
  if (!range.prefix.empty()) {
    auto end = prefix_end(view_key(space, range.prefix));
    if (end < upper) upper = std::move(end);
  }
  if (!range.before.empty()) {
    auto before = view_key(space, range.before);
    if (before < upper) upper = std::move(before);
  }
  std::string start = view_key(space, range.prefix);
  const bool resume = !range.after.empty();
  if (resume) {
    auto after = view_key(space, range.after);
    if (after >= start) start = std::move(after);
  }
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator(ro, (*db_)[cf_views])};
  it->Seek(start);
  const auto strip = space.size() + 1;
  for (; it->Valid(); it->Next()) {
    auto k = it->key().ToStringView();
    if (resume && k.substr(strip) <= range.after) continue;
    if (page.rows.size() == limit) {
      page.more = true;
      break;
    }
    page.rows.emplace_back(std::string{k.substr(strip)}, std::string{it->value().ToStringView()});
  }
  if (!it->status().ok())
    return to_error(it->status(), fmt::format("scanning view space {}", space));
  return page;
}

result<void> rocksdb_kv_store::write(const write_batch& batch, write_mode mode) {
  OTA_TRYV(validate(batch));
  if (batch.empty()) return ok();
  rocksdb::WriteBatch wb;
  for (const auto& op : batch.ops()) {
    rocksdb::Status s;
    switch (op.kind) {
    case write_batch::op_kind::put:
      s = wb.Put((*db_)[cf_views], view_key(op.space, op.key), op.value);
      break;
    case write_batch::op_kind::erase:
      s = wb.Delete((*db_)[cf_views], view_key(op.space, op.key));
      break;
    case write_batch::op_kind::erase_space: {
      std::string from{op.space}, to{op.space};
      from.push_back('\0');
      to.push_back('\x01');
      s = wb.DeleteRange((*db_)[cf_views], from, to);
      break;
    }
    case write_batch::op_kind::checkpoint: {
      char value[8];
      put_be64(value, op.position());
      s = wb.Put((*db_)[cf_checkpoints], op.space, rocksdb::Slice{value, 8});
      break;
    }
    }
    if (!s.ok()) return to_error(s, "building a view batch");
  }
  rocksdb::WriteOptions wo;
  // The unsynced store mode (tests, benchmarks) turns every sync off.
  wo.sync = mode == write_mode::sync && db_->opts.sync;
  auto s = db_->db->Write(wo, &wb);
  if (!s.ok()) return to_error(s, "writing a view batch");
  return ok();
}

result<log_position> rocksdb_kv_store::load_checkpoint(std::string_view name) {
  rocksdb::PinnableSlice value;
  auto st = db_->db->Get(rocksdb::ReadOptions{}, (*db_)[cf_checkpoints], name, &value);
  if (st.IsNotFound()) return log_position{0};
  if (!st.ok()) return to_error(st, fmt::format("reading checkpoint {}", name));
  if (value.size() != 8)
    return fail(errc::corruption, fmt::format("checkpoint {} has {} bytes", name, value.size()));
  return log_position{read_be64(value.data())};
}

} // namespace otaledger::storage::internal

namespace otaledger::storage {

namespace {

/// The default ingest_writer: collects the rows, then one ingest().
class collecting_ingest final : public ingest_writer {
public:
  collecting_ingest(kv_store& kv, std::string space)
      : ingest_writer(std::move(space), {}), kv_(&kv) {}

private:
  result<void> write(std::string_view key, std::string_view,
                     const std::string_view* value) override {
    rows_.emplace_back(std::string{key},
                       value ? std::optional<std::string>{std::string{*value}} : std::nullopt);
    return outcome::success();
  }
  result<void> ingest_written() override {
    auto r = kv_->ingest(space(), rows_);
    rows_.clear();
    return r;
  }

  kv_store* kv_;
  std::vector<kv_store::ingest_row> rows_;
};

} // namespace

result<void> kv_store::ingest(std::string_view space, const std::vector<ingest_row>& rows) {
  OTA_TRYV(internal::validate_space(space));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto r = internal::check_ingest_key(space, i == 0, i ? rows[i - 1].first : std::string_view{},
                                        rows[i].first);
    if (!r) return r.error();
  }
  write_batch b;
  for (const auto& [k, v] : rows) {
    if (v)
      b.put(space, k, *v);
    else
      b.erase(space, k);
  }
  return write(b, write_mode::sync);
}

std::string escape_key(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (c == 0)
      out += '/';
    else if (c < 0x20 || c >= 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

ingest_writer::ingest_writer(std::string space, std::string_view key_prefix)
    : space_(std::move(space)), stored_(key_prefix), prefix_(key_prefix.size()) {}

result<void> ingest_writer::add(std::string_view key, const std::string_view* value) {
  if (failed_)
    return internal::fail(errc::invalid_argument, "an earlier row of this ingest was refused");
  const std::string_view previous = std::string_view{stored_}.substr(prefix_);
  auto same = internal::check_ingest_key(space_, !any_, previous, key);
  result<void> r = outcome::success();
  if (same) {
    // Only the bytes after those shared with the previous key are copied.
    stored_.resize(prefix_ + same.value());
    stored_.append(key.substr(same.value()));
    any_ = true;
    r = write(key, stored_, value);
  } else {
    r = same.error();
  }
  if (!r) failed_ = true;
  return r;
}

result<void> ingest_writer::finish() {
  if (failed_)
    return internal::fail(errc::invalid_argument, "an earlier row of this ingest was refused");
  auto r = ingest_written();
  if (!r) failed_ = true;
  return r;
}

result<std::unique_ptr<ingest_writer>> kv_store::start_ingest(std::string_view space, ingest_kind) {
  OTA_TRYV(internal::validate_space(space));
  return std::unique_ptr<ingest_writer>{
      std::make_unique<collecting_ingest>(*this, std::string{space})};
}

} // namespace otaledger::storage
