// The RocksDB event store: group commit on one writer thread, reads and
// subscriptions straight from RocksDB. See storage/event_store.hpp for the
// contract and docs/storage.md for the layout.
#include "storage/internal/rocksdb_event_store.hpp"

#include "base/crc32c.hpp"
#include "base/time.hpp"
#include "storage/internal/append_core.hpp"
#include "storage/internal/record.hpp"

#include <rocksdb/write_batch.h>

#include <fmt/format.h>

#include <condition_variable>
#include <iostream>
#include <thread>
#include <unordered_map>

namespace otaledger::storage::internal {
namespace {

std::string encode_result(const append_result& r) {
  return be64(r.first()) + be64(r.last()) + be64(r.version());
}

append_result decode_result(std::string_view s) {
  append_result r;
  if (s.size() >= 24) {
    r.first = log_position{read_be64(s.substr(0, 8))};
    r.last = log_position{read_be64(s.substr(8, 8))};
    r.version = stream_version{read_be64(s.substr(16, 8))};
  }
  return r;
}

std::string index_key(std::string_view stream, std::uint64_t version) {
  std::string k{stream};
  k.push_back('\0');
  k += be64(version);
  return k;
}

class rocksdb_subscription;

} // namespace

struct rocksdb_event_store::impl {
  std::shared_ptr<rocks> db;
  options opts;
  base::system_clock clock;

  // The committed head, published after each group's write.
  std::atomic<std::uint64_t> head{0};
  std::mutex notify_mtx;
  std::condition_variable notify_cv;

  // The writer's queue.
  struct pending {
    append_request req;
    append_callback done;
  };
  std::mutex queue_mtx;
  std::condition_variable queue_cv;
  std::vector<pending> queue;
  bool closing = false;
  std::thread writer;

  // Writer-thread only: stream heads known to be current.
  std::unordered_map<std::string, std::uint64_t> heads;

  std::mutex subs_mtx;
  std::vector<rocksdb_subscription*> subs;

  void writer_loop();
  void commit_group(std::vector<pending>& group);
  result<std::uint64_t> stream_head_for_writer(const std::string& stream);
};

namespace {

class rocksdb_subscription final : public subscription {
public:
  rocksdb_subscription(rocksdb_event_store* store, rocksdb_event_store::impl* impl,
                       log_position after, subscription_handler handler)
      : store_(store), impl_(impl), pos_(after()), handler_(std::move(handler)) {
    thread_ = std::thread([this] { run(); });
  }
  ~rocksdb_subscription() override { stop(); }

  void stop() override {
    {
      std::lock_guard lock{impl_->notify_mtx};
      if (stopped_) {
        if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
        return;
      }
      stopped_ = true;
    }
    impl_->notify_cv.notify_all();
    if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
    std::lock_guard lock{impl_->subs_mtx};
    std::erase(impl_->subs, this);
  }

  log_position position() const override { return log_position{pos_.load()}; }

private:
  void run() {
    for (;;) {
      {
        std::unique_lock lock{impl_->notify_mtx};
        impl_->notify_cv.wait(lock, [&] { return stopped_ || impl_->head.load() > pos_.load(); });
        if (stopped_) return;
      }
      auto batch = store_->read_all(log_position{pos_.load() + 1}, 4096);
      if (!batch) {
        std::cerr << "otaledger: subscription stopped at position " << pos_.load() << ": "
                  << batch.error().message() << " (" << error_detail() << ")\n";
        return;
      }
      if (batch.value().empty()) continue;
      auto handled = handler_(batch.value());
      if (!handled) {
        std::cerr << "otaledger: subscription handler failed at position "
                  << batch.value().front().position() << ": " << handled.error().message() << "\n";
        return;
      }
      pos_.store(batch.value().back().position());
    }
  }

  rocksdb_event_store* store_;
  rocksdb_event_store::impl* impl_;
  std::atomic<std::uint64_t> pos_;
  subscription_handler handler_;
  bool stopped_ = false; // guarded by impl_->notify_mtx
  std::thread thread_;
};

} // namespace

rocksdb_event_store::rocksdb_event_store(std::shared_ptr<rocks> db, const options& opts)
    : impl_(std::make_unique<impl>()) {
  impl_->db = std::move(db);
  impl_->opts = opts;
  std::unique_ptr<rocksdb::Iterator> it{
      impl_->db->db->NewIterator(rocksdb::ReadOptions{}, impl_->db->cf[cf_log])};
  it->SeekToLast();
  if (it->Valid()) impl_->head.store(read_be64(it->key().ToStringView()));
  impl_->writer = std::thread([this] { impl_->writer_loop(); });
}

rocksdb_event_store::~rocksdb_event_store() {
  {
    std::lock_guard lock{impl_->queue_mtx};
    impl_->closing = true;
  }
  impl_->queue_cv.notify_all();
  impl_->writer.join();
  std::vector<rocksdb_subscription*> live;
  {
    std::lock_guard lock{impl_->subs_mtx};
    live = impl_->subs;
  }
  for (auto* s : live)
    s->stop();
}

void rocksdb_event_store::impl::writer_loop() {
  std::vector<pending> group;
  for (;;) {
    {
      std::unique_lock lock{queue_mtx};
      queue_cv.wait(lock, [&] { return closing || !queue.empty(); });
      if (queue.empty()) return; // closing, and everything queued was written
      // Take what waits, up to the group's byte budget.
      std::size_t bytes = 0, n = 0;
      while (n < queue.size() && (n == 0 || bytes < opts.max_group_bytes)) {
        for (auto& e : queue[n].req.events)
          bytes += e.data.size() + 64;
        ++n;
      }
      group.assign(std::make_move_iterator(queue.begin()),
                   std::make_move_iterator(queue.begin() + static_cast<std::ptrdiff_t>(n)));
      queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
    }
    commit_group(group);
    group.clear();
  }
}

result<std::uint64_t> rocksdb_event_store::impl::stream_head_for_writer(const std::string& stream) {
  auto it = heads.find(stream);
  if (it != heads.end()) return it->second;
  std::string value;
  auto s = db->db->Get(rocksdb::ReadOptions{}, db->cf[cf_streams], stream, &value);
  std::uint64_t v = 0;
  if (s.ok())
    v = read_be64(value);
  else if (!s.IsNotFound())
    return to_error(s, "reading the head of " + stream);
  if (heads.size() >= opts.stream_head_cache) heads.clear();
  heads.emplace(stream, v);
  return v;
}

void rocksdb_event_store::impl::commit_group(std::vector<pending>& group) {
  rocksdb::WriteBatch batch;
  std::vector<result<append_result>> results;
  results.reserve(group.size());
  std::unordered_map<std::string, std::uint64_t> group_heads;
  std::unordered_map<std::string, append_result> group_commands;
  std::vector<std::string> details(group.size());
  std::uint64_t pos = head.load() + 1;
  auto now = clock.now();
  std::string record;

  for (std::size_t i = 0; i < group.size(); ++i) {
    auto& req = group[i].req;
    auto fail = [&](std::error_code ec) {
      details[i] = error_detail();
      results.emplace_back(ec);
    };
    if (auto v = validate(req, opts.max_events_per_append); !v) {
      fail(v.error());
      continue;
    }
    if (!req.command_id.empty()) {
      auto g = group_commands.find(req.command_id);
      if (g != group_commands.end()) {
        auto r = g->second;
        r.duplicate = true;
        results.emplace_back(r);
        continue;
      }
      std::string value;
      auto s = db->db->Get(rocksdb::ReadOptions{}, db->cf[cf_commands], req.command_id, &value);
      if (s.ok()) {
        auto r = decode_result(value);
        r.duplicate = true;
        results.emplace_back(r);
        continue;
      }
      if (!s.IsNotFound()) {
        fail(to_error(s, "reading command " + req.command_id));
        continue;
      }
    }
    std::uint64_t current;
    if (auto g = group_heads.find(req.stream); g != group_heads.end()) {
      current = g->second;
    } else {
      auto h = stream_head_for_writer(req.stream);
      if (!h) {
        fail(h.error());
        continue;
      }
      current = h.value();
    }
    if (auto c = check_expected(req, stream_version{current}); !c) {
      fail(c.error());
      continue;
    }
    auto envs = make_envelopes(req, log_position{pos}, stream_version{current}, now);
    for (auto& e : envs) {
      record.clear();
      encode_record(e, record);
      batch.Put(db->cf[cf_log], be64(e.position()), record);
      batch.Put(db->cf[cf_stream_index], index_key(e.stream, e.version()), be64(e.position()));
    }
    append_result r{log_position{pos}, log_position{pos + envs.size() - 1},
                    stream_version{current + envs.size()}, false};
    batch.Put(db->cf[cf_streams], req.stream, be64(r.version()));
    if (!req.command_id.empty()) {
      batch.Put(db->cf[cf_commands], req.command_id, encode_result(r));
      group_commands.emplace(req.command_id, r);
    }
    group_heads[req.stream] = r.version();
    pos += envs.size();
    results.emplace_back(r);
  }

  if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = opts.sync;
    auto s = db->db->Write(wo, &batch);
    if (!s.ok()) {
      auto ec = to_error(s, "writing a commit group");
      auto detail = error_detail();
      for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i] && !results[i].value().duplicate) {
          results[i] = ec;
          details[i] = detail;
        }
      }
      heads.clear(); // nothing of this group is in the store
    } else {
      for (auto& [stream, v] : group_heads)
        heads[stream] = v;
      {
        std::lock_guard lock{notify_mtx};
        head.store(pos - 1);
      }
      notify_cv.notify_all();
    }
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (!results[i]) set_error_detail(details[i]);
    if (group[i].done) group[i].done(std::move(results[i]));
  }
}

result<append_result> rocksdb_event_store::append(append_request req) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  result<append_result> out{append_result{}};
  std::string detail;
  append_async(std::move(req), [&](result<append_result> r) {
    std::lock_guard lock{m};
    if (!r) detail = error_detail();
    out = std::move(r);
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock{m};
  cv.wait(lock, [&] { return done; });
  if (!out) set_error_detail(detail);
  return out;
}

void rocksdb_event_store::append_async(append_request req, append_callback done) {
  {
    std::lock_guard lock{impl_->queue_mtx};
    if (!impl_->closing) {
      impl_->queue.push_back({std::move(req), std::move(done)});
      impl_->queue_cv.notify_one();
      return;
    }
  }
  set_error_detail("the store is closing");
  if (done) done(make_error_code(errc::closed));
}

result<std::vector<events::envelope>> rocksdb_event_store::read_all(log_position from,
                                                                    std::size_t max) {
  std::vector<events::envelope> out;
  auto head = impl_->head.load();
  auto start = std::max<std::uint64_t>(from(), 1);
  if (start > head || max == 0) return out;
  auto upper_key = be64(head + 1);
  rocksdb::Slice upper{upper_key};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->db->NewIterator(ro, impl_->db->cf[cf_log])};
  out.reserve(std::min<std::size_t>(max, head - start + 1));
  std::uint64_t expect = start;
  for (it->Seek(be64(start)); it->Valid() && out.size() < max; it->Next()) {
    auto pos = read_be64(it->key().ToStringView());
    auto rec = decode_record(it->value().ToStringView());
    if (!rec) {
      set_error_detail(fmt::format("record at position {}: {}", pos, error_detail()));
      return rec.error();
    }
    if (pos != expect || rec.value().position() != pos) {
      set_error_detail(
          fmt::format("the log has a gap or a misplaced record at position {}", expect));
      return make_error_code(errc::corruption);
    }
    ++expect;
    out.push_back(std::move(rec).value());
  }
  if (!it->status().ok()) return to_error(it->status(), "reading the log");
  return out;
}

result<std::vector<events::envelope>>
rocksdb_event_store::read_stream(std::string_view stream, stream_version from, std::size_t max) {
  std::vector<events::envelope> out;
  std::string lower = index_key(stream, std::max<std::uint64_t>(from(), 1));
  std::string upper_key{stream};
  upper_key.push_back('\x01');
  rocksdb::Slice upper{upper_key};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{
      impl_->db->db->NewIterator(ro, impl_->db->cf[cf_stream_index])};
  std::vector<std::string> keys;
  auto head = impl_->head.load();
  for (it->Seek(lower); it->Valid() && keys.size() < max; it->Next()) {
    auto pos = read_be64(it->value().ToStringView());
    if (pos > head) break; // committed but not yet published
    keys.push_back(be64(pos));
  }
  if (!it->status().ok()) return to_error(it->status(), "reading the stream index");
  if (keys.empty()) return out;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), impl_->db->cf[cf_log]);
  auto statuses = impl_->db->db->MultiGet(rocksdb::ReadOptions{}, cfs, slices, &values);
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto pos = read_be64(keys[i]);
    if (!statuses[i].ok()) {
      auto ec = to_error(statuses[i], fmt::format("reading position {} of {}", pos, stream));
      if (statuses[i].IsNotFound()) {
        set_error_detail(
            fmt::format("the stream index of {} names position {}, which is missing", stream, pos));
        return make_error_code(errc::corruption);
      }
      return ec;
    }
    auto rec = decode_record(values[i]);
    if (!rec) {
      set_error_detail(fmt::format("record at position {}: {}", pos, error_detail()));
      return rec.error();
    }
    out.push_back(std::move(rec).value());
  }
  return out;
}

log_position rocksdb_event_store::head() const {
  return log_position{impl_->head.load()};
}

result<stream_version> rocksdb_event_store::stream_head(std::string_view stream) {
  std::string value;
  auto s = impl_->db->db->Get(rocksdb::ReadOptions{}, impl_->db->cf[cf_streams], stream, &value);
  if (s.IsNotFound()) return stream_version{0};
  if (!s.ok()) return to_error(s, "reading a stream head");
  return stream_version{read_be64(value)};
}

std::unique_ptr<subscription> rocksdb_event_store::subscribe(log_position after,
                                                             subscription_handler handler) {
  auto sub = std::make_unique<rocksdb_subscription>(this, impl_.get(), after, std::move(handler));
  std::lock_guard lock{impl_->subs_mtx};
  impl_->subs.push_back(sub.get());
  return sub;
}

result<void> rocksdb_event_store::save_snapshot(std::string_view stream, const snapshot& s) {
  std::string value = be64(s.version());
  value.push_back(static_cast<char>(s.schema & 0xFF));
  value.push_back(static_cast<char>(s.schema >> 8));
  value += s.data;
  auto crc = base::crc32c(value);
  std::string stored(4, '\0');
  for (int i = 0; i < 4; ++i)
    stored[static_cast<std::size_t>(i)] = static_cast<char>(crc >> (8 * i));
  stored += value;
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  auto st = impl_->db->db->Put(wo, impl_->db->cf[cf_snapshots], stream, stored);
  if (!st.ok()) return to_error(st, "writing a snapshot");
  return ok();
}

result<std::optional<snapshot>> rocksdb_event_store::load_snapshot(std::string_view stream) {
  std::string value;
  auto st = impl_->db->db->Get(rocksdb::ReadOptions{}, impl_->db->cf[cf_snapshots], stream, &value);
  if (st.IsNotFound()) return std::optional<snapshot>{};
  if (!st.ok()) return to_error(st, "reading a snapshot");
  if (value.size() < 14) {
    set_error_detail(fmt::format("the snapshot of {} is truncated", stream));
    return make_error_code(errc::corruption);
  }
  std::uint32_t crc = 0;
  for (int i = 0; i < 4; ++i)
    crc |=
        static_cast<std::uint32_t>(static_cast<unsigned char>(value[static_cast<std::size_t>(i)]))
        << (8 * i);
  std::string_view body{value.data() + 4, value.size() - 4};
  if (base::crc32c(body) != crc) {
    set_error_detail(fmt::format("the snapshot of {} failed its CRC32C check", stream));
    return make_error_code(errc::corruption);
  }
  snapshot s;
  s.version = stream_version{read_be64(body.substr(0, 8))};
  s.schema = static_cast<std::uint16_t>(static_cast<unsigned char>(body[8]) |
                                        (static_cast<unsigned char>(body[9]) << 8));
  s.data = std::string{body.substr(10)};
  return std::optional<snapshot>{std::move(s)};
}

result<void> rocksdb_event_store::save_checkpoint(std::string_view name, log_position p) {
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  auto st = impl_->db->db->Put(wo, impl_->db->cf[cf_checkpoints], name, be64(p()));
  if (!st.ok()) return to_error(st, "writing a checkpoint");
  return ok();
}

result<log_position> rocksdb_event_store::load_checkpoint(std::string_view name) {
  std::string value;
  auto st = impl_->db->db->Get(rocksdb::ReadOptions{}, impl_->db->cf[cf_checkpoints], name, &value);
  if (st.IsNotFound()) return log_position{0};
  if (!st.ok()) return to_error(st, "reading a checkpoint");
  return log_position{read_be64(value)};
}

} // namespace otaledger::storage::internal
