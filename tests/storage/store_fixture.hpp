// Test environments for storage: a RocksDB store in a fresh temporary
// directory (durable or unsynced) and the in-memory store, behind the same
// small interface so contract tests run against all of them.
#pragma once

#include "storage/errc.hpp"
#include "storage/memory_event_store.hpp"
#include "storage/open.hpp"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace otaledger::testing {

inline std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto p = std::filesystem::temp_directory_path() /
           ("otaledger-" + tag + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter.fetch_add(1)) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(p);
  return p.string();
}

inline storage::new_event make_event(std::string type = "test.happened",
                                     std::string data = "payload") {
  storage::new_event e;
  e.type = std::move(type);
  e.data = std::move(data);
  e.meta.principal = "operator:test";
  return e;
}

inline storage::append_request make_append(std::string stream, storage::expected_version x,
                                           std::size_t n = 1, std::string command = {}) {
  storage::append_request r;
  r.stream = std::move(stream);
  r.expected = x;
  for (std::size_t i = 0; i < n; ++i)
    r.events.push_back(make_event("test.happened", "payload-" + std::to_string(i)));
  r.command_id = std::move(command);
  for (auto& e : r.events)
    e.meta.command = r.command_id;
  return r;
}

/// A RocksDB data directory, removed afterwards.
struct rocks_env {
  static constexpr bool durable = true;
  static constexpr const char* name = "rocksdb";
  std::string dir = temp_dir("store");
  storage::options opts;
  storage::database db;

  explicit rocks_env(bool sync = true) {
    opts.path = dir;
    opts.sync = sync;
    open();
  }
  ~rocks_env() {
    db = {};
    std::filesystem::remove_all(dir);
  }
  void open() {
    auto r = storage::open_database(opts);
    if (!r) throw std::runtime_error("cannot open the store: " + storage::error_detail());
    db = std::move(r).value();
  }
  void close() { db = {}; }
  void reopen() {
    close();
    open();
  }
  storage::event_store& store() { return *db.events; }
  storage::kv_store& views() { return *db.views; }
};

/// The unsynced mode (tests and benchmarks only) keeps the same contract.
struct rocks_unsynced_env : rocks_env {
  static constexpr const char* name = "rocksdb-unsynced";
  rocks_unsynced_env() : rocks_env(false) {}
};

/// The in-memory stores; "reopen" keeps the same objects (nothing to recover).
struct memory_env {
  static constexpr bool durable = false;
  static constexpr const char* name = "memory";
  std::unique_ptr<storage::event_store> events = storage::make_memory_event_store();
  std::unique_ptr<storage::kv_store> kv = storage::make_memory_kv_store();
  void reopen() {}
  storage::event_store& store() { return *events; }
  storage::kv_store& views() { return *kv; }
};

/// Collects what a subscription delivers, and waits for a count.
struct collector {
  std::mutex m;
  std::condition_variable cv;
  std::vector<events::envelope> seen;

  storage::subscription_handler handler() {
    return [this](std::span<const events::envelope> batch) -> result<void> {
      std::lock_guard lock{m};
      seen.insert(seen.end(), batch.begin(), batch.end());
      cv.notify_all();
      return ok();
    };
  }
  /// Waits until at least n events arrived (false after a generous deadline,
  /// which only a broken store reaches).
  bool wait_for(std::size_t n) {
    std::unique_lock lock{m};
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return seen.size() >= n; });
  }
  std::vector<std::uint64_t> positions() {
    std::lock_guard lock{m};
    std::vector<std::uint64_t> out;
    for (auto& e : seen)
      out.push_back(e.position());
    return out;
  }
};

/// Holds the RocksDB store's writer thread inside an append_async callback
/// until released, so that everything queued meanwhile forms one commit group.
struct writer_gate {
  std::mutex m;
  std::condition_variable cv;
  bool entered = false, released = false;

  /// Queues a blocking append; returns once the writer is held.
  void hold(storage::event_store& s, const std::string& stream) {
    s.append_async(make_append(stream, storage::expected_version::any()),
                   [this](result<storage::append_result>) {
                     std::unique_lock lock{m};
                     entered = true;
                     cv.notify_all();
                     cv.wait(lock, [&] { return released; });
                   });
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return entered; });
  }
  void release() {
    std::lock_guard lock{m};
    released = true;
    cv.notify_all();
  }
};

/// Results of append_async calls, gathered in submission order.
struct async_results {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::optional<result<storage::append_result>>> slots;
  std::vector<std::string> details;
  std::size_t done = 0;

  storage::append_callback slot() {
    std::lock_guard lock{m};
    auto i = slots.size();
    slots.emplace_back();
    details.emplace_back();
    return [this, i](result<storage::append_result> r) {
      std::lock_guard lock{m};
      if (!r) details[i] = storage::error_detail();
      slots[i] = std::move(r);
      ++done;
      cv.notify_all();
    };
  }
  void wait_all() {
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return done == slots.size(); });
  }
  const result<storage::append_result>& operator[](std::size_t i) { return *slots[i]; }
};

} // namespace otaledger::testing
