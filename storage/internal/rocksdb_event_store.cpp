#include "storage/internal/rocksdb_event_store.hpp"

#include "base/crc32c.hpp"
#include "base/time.hpp"
#include "storage/internal/append_core.hpp"
#include "storage/record.hpp"

#include <absl/container/flat_hash_map.h>
#include <rocksdb/write_batch.h>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace otaledger::storage::internal {

// ---------------------------------------------------------------------------
// A stream's head: its last `stream_index` entry. (Heads were also kept in
// the `streams` family, one more random key per append; that family is no
// longer written or read.)

/// The version of `stream`'s last event whose position is at most
/// `visible` (0: the stream has none).
result<std::uint64_t> index_head(const rocks& db, std::string_view stream, std::uint64_t visible) {
  std::string last;
  stream_index_key(last, stream, ~std::uint64_t{0});
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true; // the index is bucketed by stream (rocks.cpp)
  std::unique_ptr<rocksdb::Iterator> it{db.db->NewIterator(ro, db[cf_stream_index])};
  for (it->SeekForPrev(last); it->Valid(); it->Prev()) {
    const auto k = it->key().ToStringView();
    if (!is_index_key_of(stream, k)) break; // another stream's key: this one has none
    index_run run;
    if (!parse_index_entry(stream, k, it->value().ToStringView(), run))
      return fail(errc::corruption, fmt::format("a malformed index entry of stream {}", stream));
    if (run.first_position <= visible)
      return run.first_version + std::min(run.count - 1, visible - run.first_position);
  }
  if (!it->status().ok())
    return to_error(it->status(), fmt::format("reading the head of {}", stream));
  return std::uint64_t{0};
}

// ---------------------------------------------------------------------------
// log_state: the published head and the readers' view of the log.

class log_state {
public:
  log_state(std::shared_ptr<rocks> db, std::uint64_t head) : db_(std::move(db)), head_(head) {}

  std::uint64_t head() const noexcept { return head_.load(std::memory_order_acquire); }

  /// Makes positions up to `h` visible and wakes subscriptions.
  void publish(std::uint64_t h) {
    {
      std::lock_guard lock{mtx_};
      head_.store(h, std::memory_order_release);
    }
    cv_.notify_all();
  }

  /// Ends delivery to subscriptions and lets go of the database (a
  /// subscription that outlives the store must not keep it open).
  void close() {
    {
      std::lock_guard lock{mtx_};
      closed_ = true;
      db_.reset();
    }
    cv_.notify_all();
  }

  /// The database, or errc::closed.
  result<std::shared_ptr<rocks>> db() const {
    std::lock_guard lock{mtx_};
    if (!db_) return fail(errc::closed, "the event store was closed");
    return db_;
  }

  result<std::vector<events::envelope>> read_all(std::uint64_t from, std::size_t max) const {
    std::vector<events::envelope> out;
    OTA_TRYV(read_into(from, max, out));
    return out;
  }

  /// Appends the events from `from` (at most `max`) to `out`; on an error,
  /// `out` keeps the good events before the failing one.
  result<void> read_into(std::uint64_t from, std::size_t max,
                         std::vector<events::envelope>& out) const;

  /// event_store::read_page.
  result<void> read_page(std::uint64_t from, std::size_t max, log_page& page) const;

  /// event_store::read_forward (errc::closed once the store closed).
  result<std::unique_ptr<log_reader>> read_forward(std::uint64_t from, std::uint64_t until) const;

private:
  /// Calls `on_record(position, bytes)` for the records from `from` (at most
  /// `max`, never past the head) in order; stops at its first error.
  /// Missing positions are corruption.
  template <class F>
  result<void> scan_records(std::uint64_t from, std::size_t max, F&& on_record) const;

public:
  /// Waits until the head passes `pos`, `stop` is set or the log closes;
  /// true when there is something to read.
  bool wait_past(std::uint64_t pos, const std::atomic<bool>& stop) {
    std::unique_lock lock{mtx_};
    cv_.wait(lock, [&] { return closed_ || stop.load() || head() > pos; });
    return !closed_ && !stop.load();
  }

  /// Sets `flag` under the lock the waiters use, then wakes them.
  void raise(std::atomic<bool>& flag) {
    {
      std::lock_guard lock{mtx_};
      flag.store(true);
    }
    cv_.notify_all();
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::shared_ptr<rocks> db_; // guarded by mtx_ (reset on close)
  std::atomic<std::uint64_t> head_;
  bool closed_ = false; // guarded by mtx_
};

/// Positions `next`..`last` of the log read forward with one iterator, so a
/// reader of many pages keeps its read-ahead and its place in each file.
class log_cursor {
public:
  log_cursor(std::shared_ptr<rocks> db, std::uint64_t next, std::uint64_t last)
      : db_(std::move(db)), next_(next), last_(last) {}
  log_cursor(const log_cursor&) = delete; // the iterator points at upper_
  log_cursor& operator=(const log_cursor&) = delete;

  std::uint64_t next_position() const noexcept { return next_; }

  /// Calls `on_record(position, bytes)` for the next records (at most `max`)
  /// in order; stops at its first error. A missing position is corruption.
  template <class F> result<void> scan(std::size_t max, F&& on_record) {
    if (next_ > last_ || max == 0) return ok();
    if (!it_) {
      put_be64(upper_, last_ + 1);
      upper_slice_ = rocksdb::Slice{upper_, 8};
      rocksdb::ReadOptions ro;
      ro.iterate_upper_bound = &upper_slice_;
      if (last_ - next_ >= 255) {
        // A long read is a replay or a catch-up: read ahead, and keep its
        // blocks (read once, in order) out of the block cache, so a rebuild
        // does not evict what live reads and view pages use.
        ro.readahead_size = 2u << 20;
        ro.fill_cache = false;
      }
      it_.reset(db_->db->NewIterator(ro, (*db_)[cf_log]));
      char lower[8];
      put_be64(lower, next_);
      it_->Seek(rocksdb::Slice{lower, 8});
    }
    for (std::size_t got = 0; got < max && next_ <= last_; ++got) {
      if (!it_->Valid()) {
        if (!it_->status().ok()) return to_error(it_->status(), "reading the log");
        return fail(errc::corruption, fmt::format("the log has no record at position {}", next_));
      }
      const auto key = it_->key();
      const auto pos = key.size() == 8 ? read_be64(key.data()) : 0;
      if (pos != next_)
        return fail(errc::corruption,
                    fmt::format("the log has no record at position {} (found key of {} bytes, "
                                "position {} instead)",
                                next_, key.size(), pos));
      OTA_TRYV(on_record(pos, it_->value().ToStringView()));
      ++next_;
      it_->Next();
    }
    return ok();
  }

private:
  std::shared_ptr<rocks> db_; // outlives the iterator
  std::uint64_t next_, last_;
  char upper_[8];
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

template <class F>
result<void> log_state::scan_records(std::uint64_t from, std::size_t max, F&& on_record) const {
  const auto h = head();
  const auto start = std::max<std::uint64_t>(from, 1);
  if (start > h || max == 0) return ok();
  const auto n = std::min<std::uint64_t>(max, h - start + 1);
  OTA_TRY(db, this->db());
  log_cursor c{std::move(db), start, start + n - 1};
  return c.scan(static_cast<std::size_t>(n), std::forward<F>(on_record));
}

result<void> log_state::read_into(std::uint64_t from, std::size_t max,
                                  std::vector<events::envelope>& out) const {
  // Room for exactly what is there (a subscription asks for up to a page
  // but most reads find a few events).
  const auto h = head();
  const auto start = std::max<std::uint64_t>(from, 1);
  if (start <= h) out.reserve(out.size() + std::min<std::uint64_t>(max, h - start + 1));
  return scan_records(from, max, [&](std::uint64_t pos, std::string_view bytes) -> result<void> {
    auto& e = out.emplace_back();
    auto r = decode_record_at(pos, bytes, e);
    if (!r) out.pop_back();
    return r;
  });
}

namespace {

/// Reads up to `max` records of `c` into `page` (its events replaced) and,
/// with `decode`, decodes them: the records are copied into one buffer first
/// and decoded after, so the views never point into a buffer that grew.
result<void> read_page_from(log_cursor& c, std::size_t max, log_page& page, bool decode = true) {
  page.clear_events();
  page.bytes.clear();
  page.ends.clear();
  page.owned.clear();
  page.first = c.next_position();
  auto r = c.scan(max, [&](std::uint64_t, std::string_view bytes) -> result<void> {
    page.bytes.append(bytes);
    page.ends.push_back(page.bytes.size());
    return ok();
  });
  page.undecoded = true;
  if (decode)
    if (auto d = page.decode(); !d) return d;
  return r;
}

} // namespace

result<void> log_state::read_page(std::uint64_t from, std::size_t max, log_page& page) const {
  const auto h = head();
  const auto start = std::max<std::uint64_t>(from, 1);
  if (start > h || max == 0) {
    page.events.clear();
    return ok();
  }
  OTA_TRY(db, this->db());
  log_cursor c{std::move(db), start, std::min<std::uint64_t>(h, start + max - 1)};
  return read_page_from(c, max, page);
}

result<std::unique_ptr<log_reader>> log_state::read_forward(std::uint64_t from,
                                                            std::uint64_t until) const {
  class reader final : public log_reader {
  public:
    reader(std::shared_ptr<rocks> db, std::uint64_t next, std::uint64_t last)
        : c_(std::move(db), next, last) {}

  private:
    result<void> read_next(std::size_t max, log_page& page, bool decode) override {
      return read_page_from(c_, max, page, decode);
    }

    log_cursor c_;
  };
  OTA_TRY(db, this->db());
  return std::unique_ptr<log_reader>{std::make_unique<reader>(
      std::move(db), std::max<std::uint64_t>(from, 1), std::min(until, head()))};
}

// ---------------------------------------------------------------------------
// Subscriptions: catch up page by page from RocksDB, then wait for the
// writer's publish; the position only ever moves past what the handler got.

namespace {

struct sub_state {
  std::shared_ptr<log_state> log;
  subscription_handler handler;
  std::size_t page;
  std::atomic<std::uint64_t> pos;
  std::atomic<bool> stop{false};

  void run() {
    std::vector<events::envelope> events;
    while (log->wait_past(pos.load(), stop)) {
      events.clear();
      // On a read error, the events before the failing one are still
      // delivered; then the subscription stops and says where.
      auto read = log->read_into(pos.load() + 1, page, events);
      std::string read_error = read ? std::string{} : error_detail();
      if (stop.load()) return;
      if (!events.empty()) {
        auto handled = handler(events);
        if (!handled) {
          std::fprintf(stderr,
                       "otaledger storage: subscription handler failed on positions %llu-%llu: "
                       "%s\n",
                       static_cast<unsigned long long>(events.front().position()),
                       static_cast<unsigned long long>(events.back().position()),
                       handled.error().message().c_str());
          return;
        }
        pos.store(events.back().position());
      }
      if (!read) {
        if (read.error() != errc::closed)
          std::fprintf(stderr, "otaledger storage: subscription stopped after position %llu: %s\n",
                       static_cast<unsigned long long>(pos.load()), read_error.c_str());
        return;
      }
    }
  }
};

class rocksdb_subscription final : public subscription {
public:
  explicit rocksdb_subscription(std::shared_ptr<sub_state> st) : st_(std::move(st)) {
    thread_ = std::thread([st = st_] { st->run(); });
  }
  ~rocksdb_subscription() override { stop(); }

  void stop() override {
    st_->log->raise(st_->stop);
    if (!thread_.joinable()) return;
    // Called from the handler itself: the thread ends when the handler returns.
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }

  log_position position() const override { return log_position{st_->pos.load()}; }

private:
  std::shared_ptr<sub_state> st_;
  std::thread thread_;
};

std::string encode_result(const append_result& r) {
  std::string s(24, '\0');
  put_be64(s.data(), r.first());
  put_be64(s.data() + 8, r.last());
  put_be64(s.data() + 16, r.version());
  return s;
}

result<append_result> decode_result(std::string_view s, const std::string& command) {
  if (s.size() != 24)
    return fail(errc::corruption,
                fmt::format("the stored result of command {} has {} bytes", command, s.size()));
  return append_result{log_position{read_be64(s.data())}, log_position{read_be64(s.data() + 8)},
                       stream_version{read_be64(s.data() + 16)}, true};
}

} // namespace

// ---------------------------------------------------------------------------
// The writer: group commit on one thread.

class append_writer {
public:
  append_writer(std::shared_ptr<rocks> db, std::shared_ptr<log_state> log)
      : db_(std::move(db)), log_(std::move(log)), opts_(db_->opts),
        clock_(opts_.clock ? opts_.clock : &system_clock_), committed_(log_->head()) {
    thread_ = std::thread([this] { run(); });
  }

  ~append_writer() {
    {
      std::lock_guard lock{queue_mtx_};
      closing_ = true;
    }
    queue_cv_.notify_one();
    thread_.join();
  }

  void submit(append_request req, append_callback done) {
    std::error_code refused;
    {
      std::lock_guard lock{queue_mtx_};
      if (closing_)
        refused = fail(errc::closed, "the event store is closing");
      else if (queue_.size() >= opts_.max_queued_appends)
        refused = fail(errc::busy,
                       fmt::format("the write queue holds {} appends; retry later", queue_.size()));
      else
        queue_.push_back({std::move(req), std::move(done)});
    }
    if (refused) {
      if (done) done(refused);
      return;
    }
    queue_cv_.notify_one();
  }

private:
  struct pending {
    append_request req;
    append_callback done;
  };
  struct outcome {
    result<append_result> r{append_result{}};
    std::string detail;
    bool appended = false; ///< written by this group (fails if the write fails)
  };

  void run() {
    std::vector<pending> work;
    for (;;) {
      {
        std::unique_lock lock{queue_mtx_};
        queue_cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return; // closing, and everything queued was completed
        work.swap(queue_);
      }
      for (std::size_t i = 0; i < work.size();) {
        std::size_t j = i, bytes = 0;
        while (j < work.size() &&
               (j == i || (bytes < opts_.max_batch_bytes && j - i < opts_.max_batch_appends))) {
          bytes += estimated_bytes(work[j].req);
          ++j;
        }
        commit_group(std::span<pending>{work.data() + i, j - i});
        i = j;
      }
      work.clear();
    }
  }

  /// The committed head of a stream (from the cache, else from the index:
  /// only this thread writes, so everything in it is committed).
  /// The cache entry is returned so that the append updates it in place.
  result<std::uint64_t*> stream_head(const std::string& stream) {
    if (auto it = heads_.find(stream); it != heads_.end()) return &it->second;
    OTA_TRY(v, index_head(*db_, stream, ~std::uint64_t{0}));
    return &heads_.emplace(stream, v).first->second;
  }

  /// Adds one accepted append to the group's batch: one `stream_index`
  /// entry, per event a `log` record, then the command id. On a failure the batch
  /// is rolled back to where it was.
  result<append_result> encode_append(const append_request& req, std::uint64_t pos,
                                      std::uint64_t head, std::int64_t now) {
    batch_.SetSavePoint();
    const std::uint64_t count = req.events.size();
    const append_result r{log_position{pos}, log_position{pos + count - 1},
                          stream_version{head + count}, false};
    rocksdb::Status s;
    char pos_key[8];
    // One index entry for the whole append: its first version -> its first
    // position and, for more than one event, the count (record.hpp).
    char run_value[16];
    put_be64(run_value, pos);
    put_be64(run_value + 8, count);
    stream_index_key(index_key_, req.stream, head + 1);
    s = batch_.Put((*db_)[cf_stream_index], index_key_,
                   rocksdb::Slice{run_value, count > 1 ? std::size_t{16} : std::size_t{8}});
    for (std::size_t k = 0; k < count && s.ok(); ++k) {
      const auto& ne = req.events[k];
      record_.clear();
      events::envelope_view r;
      r.position = log_position{pos + k};
      r.stream = req.stream;
      r.version = stream_version{head + 1 + k};
      r.id = ne.id.is_nil() ? base::uuid::random() : ne.id;
      r.type = ne.type;
      r.schema = ne.schema;
      r.time.micros = ne.time.micros == 0 ? now : ne.time.micros;
      r.meta = {ne.meta.principal, ne.meta.command, ne.meta.correlation, ne.meta.reason};
      r.data = ne.data;
      encode_record(r, record_);
      put_be64(pos_key, pos + k);
      s = batch_.Put((*db_)[cf_log], rocksdb::Slice{pos_key, 8}, record_);
    }
    if (s.ok() && !req.command_id.empty())
      s = batch_.Put((*db_)[cf_commands], req.command_id, encode_result(r));
    if (!s.ok()) {
      auto ec = to_error(s, fmt::format("adding the append to {} to a commit group", req.stream));
      // Neither can fail: a save point was set above.
      batch_.RollbackToSavePoint().PermitUncheckedError();
      return ec;
    }
    batch_.PopSavePoint().PermitUncheckedError();
    return r;
  }

  void commit_group(std::span<pending> group) {
    const std::size_t n = group.size();
    outcomes_.clear();
    outcomes_.resize(n);
    batch_.Clear();
    in_group_.clear();
    if (heads_.size() >= opts_.stream_head_cache) heads_.clear();

    if (failed_) {
      for (auto& o : outcomes_) {
        o.r = make_error_code(errc::io_error);
        o.detail = failure_;
      }
      complete(group);
      return;
    }

    // Look every command id up in one MultiGet (only this thread writes them,
    // so what it returns is current).
    cmd_keys_.clear();
    cmd_index_.assign(n, -1);
    for (std::size_t i = 0; i < n; ++i)
      if (!group[i].req.command_id.empty()) {
        cmd_index_[i] = static_cast<int>(cmd_keys_.size());
        cmd_keys_.emplace_back(group[i].req.command_id);
      }
    if (!cmd_keys_.empty()) {
      cmd_values_.clear();
      cmd_values_.resize(cmd_keys_.size());
      cmd_status_.assign(cmd_keys_.size(), rocksdb::Status{});
      db_->db->MultiGet(rocksdb::ReadOptions{}, (*db_)[cf_commands], cmd_keys_.size(),
                        cmd_keys_.data(), cmd_values_.data(), cmd_status_.data());
    }

    const auto now = clock_->now().micros;
    std::uint64_t pos = committed_ + 1;
    for (std::size_t i = 0; i < n; ++i) {
      auto& req = group[i].req;
      auto& out = outcomes_[i];
      auto refuse = [&](std::error_code ec) {
        out.r = ec;
        out.detail = error_detail();
      };
      if (cmd_index_[i] >= 0) {
        if (auto it = in_group_.find(req.command_id); it != in_group_.end()) {
          auto first = outcomes_[it->second].r.value();
          first.duplicate = true;
          out.r = first;
          out.appended = true; // it stands or falls with the first
          continue;
        }
        const auto k = static_cast<std::size_t>(cmd_index_[i]);
        if (cmd_status_[k].ok()) {
          auto stored = decode_result(cmd_values_[k].ToStringView(), req.command_id);
          if (stored) {
            out.r = stored.value();
          } else {
            refuse(stored.error());
          }
          continue;
        }
        if (!cmd_status_[k].IsNotFound()) {
          refuse(to_error(cmd_status_[k], fmt::format("reading command {}", req.command_id)));
          continue;
        }
      }
      if (auto v = validate(req, opts_.max_events_per_append, opts_.max_append_bytes); !v) {
        refuse(v.error());
        continue;
      }
      auto current = stream_head(req.stream);
      if (!current) {
        refuse(current.error());
        continue;
      }
      if (auto c = check_expected(req, *current.value()); !c) {
        refuse(c.error());
        continue;
      }
      auto r = encode_append(req, pos, *current.value(), now);
      if (!r) {
        refuse(r.error());
        continue;
      }
      if (!req.command_id.empty()) in_group_.emplace(req.command_id, i);
      const auto count = req.events.size();
      *current.value() = r.value().version();
      pos += count;
      out.r = r.value();
      out.appended = true;
    }

    if (batch_.Count() > 0) {
      rocksdb::WriteOptions wo;
      wo.sync = opts_.sync;
      auto s = db_->db->Write(wo, &batch_);

      if (s.ok()) {
        committed_ = pos - 1;
        log_->publish(committed_);
      } else {
        // RocksDB stops accepting writes after a failed WAL write; so do we,
        // rather than guess what reached the disk. Reopening recovers.
        auto ec = to_error(s, "writing a commit group");
        failed_ = true;
        failure_ = error_detail() + " (the store refuses appends until it is reopened)";
        heads_.clear();
        for (auto& o : outcomes_)
          if (o.appended) {
            o.r = ec;
            o.detail = failure_;
          }
      }
    }
    complete(group);
  }

  void complete(std::span<pending> group) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      auto& o = outcomes_[i];
      if (!o.r) set_error_detail(std::move(o.detail));
      if (group[i].done) group[i].done(std::move(o.r));
    }
  }

  std::shared_ptr<rocks> db_;
  std::shared_ptr<log_state> log_;
  const options opts_;
  base::system_clock system_clock_;
  const base::clock* clock_;

  std::mutex queue_mtx_;
  std::condition_variable queue_cv_;
  std::vector<pending> queue_; // guarded by queue_mtx_
  bool closing_ = false;       // guarded by queue_mtx_
  std::thread thread_;

  // Writer thread only.
  std::uint64_t committed_;
  bool failed_ = false;
  std::string failure_;
  // Flat (open addressing): at a million streams a node-based map's lookup
  // costs two or three cache misses (2.5 % of a rollout's CPU).
  absl::flat_hash_map<std::string, std::uint64_t> heads_;
  std::unordered_map<std::string_view, std::size_t> in_group_; // command id -> index
  std::vector<outcome> outcomes_;
  std::vector<int> cmd_index_;
  std::vector<rocksdb::Slice> cmd_keys_;
  std::vector<rocksdb::PinnableSlice> cmd_values_;
  std::vector<rocksdb::Status> cmd_status_;
  rocksdb::WriteBatch batch_;
  std::string record_, index_key_;
};

// ---------------------------------------------------------------------------
// The store.

result<std::unique_ptr<rocksdb_event_store>> rocksdb_event_store::open(std::shared_ptr<rocks> db) {
  // The head is the last key of `log`: the log is written only in whole
  // batches, so recovery never leaves a partial group behind it.
  std::uint64_t head = 0;
  std::unique_ptr<rocksdb::Iterator> it{db->db->NewIterator(rocksdb::ReadOptions{}, (*db)[cf_log])};
  it->SeekToLast();
  if (it->Valid()) {
    if (it->key().size() != 8)
      return fail(errc::corruption,
                  fmt::format("the last key of the log has {} bytes", it->key().size()));
    head = read_be64(it->key().data());
  }
  if (!it->status().ok()) return to_error(it->status(), "finding the end of the log");
  it.reset();
  return std::unique_ptr<rocksdb_event_store>{new rocksdb_event_store(std::move(db), head)};
}

rocksdb_event_store::rocksdb_event_store(std::shared_ptr<rocks> db, std::uint64_t head)
    : db_(std::move(db)), log_(std::make_shared<log_state>(db_, head)),
      writer_(std::make_unique<append_writer>(db_, log_)) {}

rocksdb_event_store::~rocksdb_event_store() {
  writer_.reset();
  log_->close();
}

result<append_result> rocksdb_event_store::append(append_request req) {
  struct waiter {
    std::atomic<std::uint32_t> done{0};
    result<append_result> r{append_result{}};
    std::string detail;
  } w;
  writer_->submit(std::move(req), [&w](result<append_result> r) {
    if (!r) w.detail = error_detail();
    w.r = std::move(r);
    w.done.store(1, std::memory_order_release);
    w.done.notify_one();
  });
  while (w.done.load(std::memory_order_acquire) == 0)
    w.done.wait(0, std::memory_order_acquire);
  if (!w.r) set_error_detail(std::move(w.detail));
  return std::move(w.r);
}

void rocksdb_event_store::append_async(append_request req, append_callback done) {
  writer_->submit(std::move(req), std::move(done));
}

result<std::vector<events::envelope>> rocksdb_event_store::read_all(log_position from,
                                                                    std::size_t max) {
  return log_->read_all(from(), max);
}

result<void> rocksdb_event_store::read_page(log_position from, std::size_t max, log_page& page) {
  return log_->read_page(from(), max, page);
}

std::unique_ptr<log_reader> rocksdb_event_store::read_forward(log_position from,
                                                              log_position until) {
  auto r = log_->read_forward(from(), until());
  if (r) return std::move(r).value();
  // Closed: every read fails as read_page would.
  return event_store::read_forward(from, until);
}

result<std::vector<events::envelope>>
rocksdb_event_store::read_stream(std::string_view stream, stream_version from, std::size_t max) {
  std::vector<events::envelope> out;
  OTA_TRYV(validate_stream_name(stream));
  const auto head = log_->head();
  std::string lower, upper{stream};
  stream_index_key(lower, stream, std::max<std::uint64_t>(from(), 1));
  upper.push_back('\x01');
  rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  ro.prefix_same_as_start = true; // the index is hashed by stream (rocks.cpp)
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator(ro, (*db_)[cf_stream_index])};
  std::vector<std::uint64_t> versions, positions;
  // One entry per append: `from` may lie inside the entry that starts at or
  // before it.
  it->SeekForPrev(lower);
  if (!it->Valid() || !is_index_key_of(stream, it->key().ToStringView())) it->Seek(lower);
  bool done = false;
  for (; !done && it->Valid() && positions.size() < max; it->Next()) {
    index_run run;
    if (!parse_index_entry(stream, it->key().ToStringView(), it->value().ToStringView(), run))
      return fail(errc::corruption, fmt::format("a malformed index entry of stream {}", stream));
    for (std::uint64_t k = 0; k < run.count && positions.size() < max; ++k) {
      if (run.first_version + k < from()) continue;
      const auto pos = run.first_position + k;
      if (pos > head) { // written by a group that is not published yet
        done = true;
        break;
      }
      versions.push_back(run.first_version + k);
      positions.push_back(pos);
    }
  }
  if (!it->status().ok()) return to_error(it->status(), "reading the stream index");
  if (positions.empty()) return out;

  std::vector<std::string> keys(positions.size());
  std::vector<rocksdb::Slice> slices(positions.size());
  for (std::size_t i = 0; i < positions.size(); ++i) {
    keys[i] = be64(positions[i]);
    slices[i] = keys[i];
  }
  std::vector<rocksdb::PinnableSlice> values(positions.size());
  std::vector<rocksdb::Status> statuses(positions.size());
  db_->db->MultiGet(rocksdb::ReadOptions{}, (*db_)[cf_log], slices.size(), slices.data(),
                    values.data(), statuses.data(), /*sorted_input=*/true);
  out.reserve(positions.size());
  for (std::size_t i = 0; i < positions.size(); ++i) {
    const auto pos = positions[i];
    if (statuses[i].IsNotFound())
      return fail(errc::corruption,
                  fmt::format("the index of {} names position {}, which is missing", stream, pos));
    if (!statuses[i].ok())
      return to_error(statuses[i], fmt::format("reading position {} of {}", pos, stream));
    auto& e = out.emplace_back();
    if (auto r = decode_record(values[i].ToStringView(), e); !r)
      return fail(errc::corruption, fmt::format("record at position {}: {}", pos, error_detail()));
    if (e.position() != pos || e.stream != stream || e.version() != versions[i])
      return fail(errc::corruption,
                  fmt::format("record at position {}: the index of {} says version {}, the "
                              "record says {} version {}",
                              pos, stream, versions[i], e.stream, e.version()));
  }
  return out;
}

log_position rocksdb_event_store::head() const {
  return log_position{log_->head()};
}

result<stream_version> rocksdb_event_store::stream_head(std::string_view stream) {
  OTA_TRYV(validate_stream_name(stream));
  OTA_TRY(v, index_head(*db_, stream, log_->head()));
  return stream_version{v};
}

result<std::optional<append_result>>
rocksdb_event_store::find_command(std::string_view command_id) {
  if (command_id.empty()) return std::optional<append_result>{};
  rocksdb::PinnableSlice value;
  auto s = db_->db->Get(rocksdb::ReadOptions{}, (*db_)[cf_commands],
                        rocksdb::Slice{command_id.data(), command_id.size()}, &value);
  if (s.IsNotFound()) return std::optional<append_result>{};
  if (!s.ok()) return to_error(s, fmt::format("reading command {}", command_id));
  OTA_TRY(r, decode_result(value.ToStringView(), std::string{command_id}));
  return std::optional<append_result>{r};
}

std::unique_ptr<subscription> rocksdb_event_store::subscribe(log_position after,
                                                             subscription_handler handler) {
  auto st = std::make_shared<sub_state>();
  st->log = log_;
  st->handler = std::move(handler);
  st->page = db_->opts.subscription_page;
  st->pos.store(after());
  return std::make_unique<rocksdb_subscription>(std::move(st));
}

// Snapshot value: format (1), CRC32C LE of the rest, be64 version, be16
// schema, data.
result<void> rocksdb_event_store::save_snapshot(std::string_view stream, const snapshot& s) {
  OTA_TRYV(validate_stream_name(stream));
  std::string value(5 + 8 + 2, '\0');
  value[0] = 1;
  put_be64(value.data() + 5, s.version());
  value[13] = static_cast<char>(s.schema >> 8);
  value[14] = static_cast<char>(s.schema & 0xFF);
  value += s.data;
  const auto crc = base::crc32c(std::string_view{value}.substr(5));
  for (std::size_t i = 0; i < 4; ++i)
    value[1 + i] = static_cast<char>(crc >> (8 * i));
  rocksdb::WriteOptions wo;
  wo.sync = db_->opts.sync;
  auto st = db_->db->Put(wo, (*db_)[cf_snapshots], stream, value);
  if (!st.ok()) return to_error(st, fmt::format("writing the snapshot of {}", stream));
  return ok();
}

result<std::optional<snapshot>> rocksdb_event_store::load_snapshot(std::string_view stream) {
  OTA_TRYV(validate_stream_name(stream));
  std::string value;
  auto st = db_->db->Get(rocksdb::ReadOptions{}, (*db_)[cf_snapshots], stream, &value);
  if (st.IsNotFound()) return std::optional<snapshot>{};
  if (!st.ok()) return to_error(st, fmt::format("reading the snapshot of {}", stream));
  if (value.size() < 15 || value[0] != 1)
    return fail(errc::corruption, fmt::format("the snapshot of {} is malformed", stream));
  std::uint32_t crc = 0;
  for (std::size_t i = 0; i < 4; ++i)
    crc |= static_cast<std::uint32_t>(static_cast<unsigned char>(value[1 + i])) << (8 * i);
  if (base::crc32c(std::string_view{value}.substr(5)) != crc)
    return fail(errc::corruption,
                fmt::format("the snapshot of {} failed its CRC32C check", stream));
  snapshot s;
  s.version = stream_version{read_be64(value.data() + 5)};
  s.schema = static_cast<std::uint16_t>((static_cast<unsigned char>(value[13]) << 8) |
                                        static_cast<unsigned char>(value[14]));
  s.data = value.substr(15);
  return std::optional<snapshot>{std::move(s)};
}

result<void> rocksdb_event_store::save_checkpoint(std::string_view name, log_position p) {
  if (name.empty()) return fail(errc::invalid_argument, "the checkpoint name is empty");
  char value[8];
  put_be64(value, p());
  rocksdb::WriteOptions wo;
  wo.sync = db_->opts.sync;
  auto st = db_->db->Put(wo, (*db_)[cf_checkpoints], name, rocksdb::Slice{value, 8});
  if (!st.ok()) return to_error(st, fmt::format("writing checkpoint {}", name));
  return ok();
}

result<log_position> rocksdb_event_store::load_checkpoint(std::string_view name) {
  rocksdb::PinnableSlice value;
  auto st = db_->db->Get(rocksdb::ReadOptions{}, (*db_)[cf_checkpoints], name, &value);
  if (st.IsNotFound()) return log_position{0};
  if (!st.ok()) return to_error(st, fmt::format("reading checkpoint {}", name));
  if (value.size() != 8)
    return fail(errc::corruption, fmt::format("checkpoint {} has {} bytes", name, value.size()));
  return log_position{read_be64(value.data())};
}

} // namespace otaledger::storage::internal
