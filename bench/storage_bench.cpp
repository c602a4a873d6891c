// Storage workloads: the event store against raw RocksDB on the same engine
// setup (storage::internal::open_rocks, so the same column families, table
// options and WAL settings).
//
//   append_synced    W threads (--writers=16,256), each appending one command
//                    of one ~200-byte event to its own stream with an exact
//                    expected version and a command id, durable (group commit);
//                    then raw_put_synced: the same W threads calling
//                    DB::Write(sync=true) with WriteBatches holding the same
//                    bytes (record, stream index entry, command id).
//                    Lines: append_synced, raw_put_synced; "ratio" =
//                    append ops/s / raw ops/s at the same W.
//   append_unsynced  the same with sync=false (append_unsynced, raw_put_unsynced).
//   replay_all       fills the log (--events, default 400,000 events of ~200
//                    bytes over 1,000 streams), reopens, then read_all in pages
//                    of --page (4,096) over everything (decoding and CRC check
//                    included), and raw_scan: a raw RocksDB iterator over the
//                    same `log` column family touching every key and value.
//                    "ratio" = replay events/s / raw scan entries/s.
//   storage          all three.
// --num: appends per run (default 20,000 synced, 60,000 unsynced); --reps:
// runs per side, alternating baseline and store, best kept (default 2).
// RocksDB is only used here as the baseline; the store itself hides it.
#include "bench/bench.hpp"
#include "storage/internal/rocks.hpp"
#include "storage/open.hpp"
#include "storage/record.hpp"

#include <rocksdb/write_batch.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace otaledger::bench {
namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using namespace otaledger::storage;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

std::vector<std::size_t> parse_list(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    out.push_back(std::stoull(item));
  return out;
}

/// A ~200-byte payload that compresses like real event data (partly).
std::string payload(std::mt19937_64& rng, std::size_t n = 200) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = i % 4 == 0 ? static_cast<char>(rng()) : static_cast<char>('a' + i % 23);
  return s;
}

struct run_result {
  double ops_per_s = 0, seconds = 0, p50_us = 0, p99_us = 0;
  std::uint64_t ops = 0;
};

/// Runs `per_thread` operations on each of `writers` threads; `op(thread, i)`
/// returns false on failure. Latencies of every operation are kept.
template <class Op> run_result drive(std::size_t writers, std::size_t per_thread, Op op) {
  std::vector<std::vector<double>> lat(writers);
  std::barrier start(static_cast<std::ptrdiff_t>(writers + 1));
  std::atomic<bool> failed{false};
  std::vector<std::thread> ts;
  for (std::size_t w = 0; w < writers; ++w)
    ts.emplace_back([&, w] {
      lat[w].reserve(per_thread);
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_thread; ++i) {
        auto t0 = steady::now();
        if (!op(w, i)) {
          failed = true;
          return;
        }
        lat[w].push_back(std::chrono::duration<double, std::micro>(steady::now() - t0).count());
      }
    });
  start.arrive_and_wait();
  auto t0 = steady::now();
  for (auto& t : ts)
    t.join();
  run_result r;
  r.seconds = seconds_since(t0);
  if (failed) {
    std::cerr << "storage bench: an operation failed: " << error_detail() << "\n";
    return r;
  }
  std::vector<double> all;
  all.reserve(writers * per_thread);
  for (auto& l : lat)
    all.insert(all.end(), l.begin(), l.end());
  r.ops = all.size();
  r.ops_per_s = static_cast<double>(r.ops) / r.seconds;
  r.p50_us = percentile(all, 50);
  r.p99_us = percentile(all, 99);
  return r;
}

run_result run_store(const std::string& dir, bool sync, std::size_t writers,
                     std::size_t per_thread) {
  options o;
  o.path = dir;
  o.sync = sync;
  auto store = open_event_store(o);
  if (!store) {
    std::cerr << "storage bench: " << error_detail() << "\n";
    return {};
  }
  auto& s = *store.value();
  std::vector<std::uint64_t> versions(writers, 0);
  std::vector<std::string> data(writers);
  std::mt19937_64 rng{42};
  for (auto& d : data)
    d = payload(rng);
  return drive(writers, per_thread, [&](std::size_t w, std::size_t i) {
    append_request req;
    req.stream = "device-" + std::to_string(w);
    req.expected = expected_version::at(stream_version{versions[w]});
    req.command_id = "cmd-" + std::to_string(w) + "-" + std::to_string(i);
    auto& e = req.events.emplace_back();
    e.type = "device.reported";
    e.meta.principal = "device:" + std::to_string(w);
    e.meta.command = req.command_id;
    e.data = data[w];
    auto r = s.append(std::move(req));
    if (!r) return false;
    versions[w] = r.value().version();
    return true;
  });
}

run_result run_raw(const std::string& dir, bool sync, std::size_t writers, std::size_t per_thread) {
  options o;
  o.path = dir;
  o.sync = sync;
  auto opened = internal::open_rocks(o);
  if (!opened) {
    std::cerr << "storage bench: " << error_detail() << "\n";
    return {};
  }
  auto& db = *opened.value();
  std::atomic<std::uint64_t> next_position{1};
  std::vector<std::string> data(writers);
  std::mt19937_64 rng{42};
  for (auto& d : data)
    d = payload(rng);
  auto rr = drive(writers, per_thread, [&](std::size_t w, std::size_t i) {
    // The same bytes the store writes for this append.
    const auto pos = next_position.fetch_add(1);
    const std::string stream = "device-" + std::to_string(w);
    const std::string command = "cmd-" + std::to_string(w) + "-" + std::to_string(i);
    const std::string principal = "device:" + std::to_string(w);
    std::string rec, index_key;
    events::envelope_view r;
    r.position = log_position{pos};
    r.stream = stream;
    r.version = stream_version{i + 1};
    r.id = base::uuid::random();
    r.type = "device.reported";
    r.time.micros = 1'700'000'000'000'000;
    r.meta.principal = principal;
    r.meta.command = command;
    r.data = data[w];
    encode_record(r, rec);
    const auto pos_key = be64(pos);
    stream_index_key(index_key, stream, i + 1);
    rocksdb::WriteBatch b;
    bool good = b.Put(db[internal::cf_log], pos_key, rec).ok() &&
                b.Put(db[internal::cf_stream_index], index_key, pos_key).ok() &&
                b.Put(db[internal::cf_commands], command, std::string(24, '\0')).ok();
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return good && db.db->Write(wo, &b).ok();
  });
  return rr;
}

void emit_run(const std::string& name, std::size_t writers, bool sync, const run_result& r,
              std::optional<double> ratio) {
  nlohmann::json j{
      {"writers", writers},       {"sync", sync},       {"ops", r.ops},      {"seconds", r.seconds},
      {"ops_per_s", r.ops_per_s}, {"p50_us", r.p50_us}, {"p99_us", r.p99_us}};
  if (ratio) j["ratio"] = *ratio;
  emit(name, j);
}

void appends(const args& a, bool sync) {
  const auto writer_counts = parse_list(a.get("writers", "16,256"));
  const std::size_t num = a.num ? a.num : (sync ? 20'000 : 60'000);
  const std::size_t reps = std::stoull(a.get("reps", "2"));
  const std::string suffix = sync ? "synced" : "unsynced";
  for (auto writers : writer_counts) {
    const auto per_thread = std::max<std::size_t>(1, num / writers);
    const auto raw_dir = (fs::path(a.dir) / ("raw-" + std::to_string(writers))).string();
    const auto store_dir = (fs::path(a.dir) / ("store-" + std::to_string(writers))).string();
    // Alternate baseline and store (each on a fresh directory) and keep each
    // side's best of --reps runs: fsync latency on a shared machine is noisy.
    run_result raw, store;
    for (std::size_t rep = 0; rep < reps; ++rep) {
      auto r = run_raw(raw_dir, sync, writers, per_thread);
      fs::remove_all(raw_dir);
      auto s = run_store(store_dir, sync, writers, per_thread);
      fs::remove_all(store_dir);
      if (r.ops_per_s > raw.ops_per_s) raw = r;
      if (s.ops_per_s > store.ops_per_s) store = s;
    }
    emit_run("raw_put_" + suffix, writers, sync, raw, std::nullopt);
    emit_run("append_" + suffix, writers, sync, store,
             raw.ops_per_s > 0 ? std::optional<double>{store.ops_per_s / raw.ops_per_s}
                               : std::nullopt);
  }
}

void replay(const args& a) {
  const std::size_t events = std::stoull(a.get("events", "400000"));
  const std::size_t page = std::stoull(a.get("page", "4096"));
  const std::size_t streams = 1000;
  double fill_seconds = 0;
  options o;
  o.path = (fs::path(a.dir) / "replay").string();
  o.sync = false; // filling only; the replay reads what recovery left in SST files
  {
    auto store = open_event_store(o);
    if (!store) {
      std::cerr << "storage bench: " << error_detail() << "\n";
      return;
    }
    std::mt19937_64 rng{a.seed};
    std::atomic<std::size_t> pending{0};
    std::atomic<bool> failed{false};
    const auto t0 = steady::now();
    constexpr std::size_t per_append = 4;
    for (std::size_t i = 0; i < events; i += per_append) {
      while (pending.load() > 5'000)
        pending.wait(pending.load());
      append_request req;
      req.stream = "device-" + std::to_string((i / per_append) % streams);
      req.expected = expected_version::any();
      for (std::size_t k = 0; k < per_append && i + k < events; ++k) {
        auto& e = req.events.emplace_back();
        e.type = "device.reported";
        e.meta.principal = req.stream;
        e.data = payload(rng);
      }
      pending.fetch_add(1);
      store.value()->append_async(std::move(req), [&](result<append_result> r) {
        if (!r) failed = true;
        pending.fetch_sub(1);
        pending.notify_all();
      });
    }
    while (pending.load() > 0)
      pending.wait(pending.load());
    if (failed) {
      std::cerr << "storage bench: filling the log failed\n";
      return;
    }
    fill_seconds = seconds_since(t0);
  }

  auto replay_once = [&]() -> std::pair<double, std::size_t> {
    auto store = open_event_store(o);
    if (!store) return {0, 0};
    auto& s = *store.value();
    std::size_t n = 0, bytes = 0;
    auto t0 = steady::now();
    for (std::uint64_t from = 1;;) {
      auto batch = s.read_all(log_position{from}, page);
      if (!batch) {
        std::cerr << "storage bench: replay: " << error_detail() << "\n";
        return {0, 0};
      }
      if (batch.value().empty()) break;
      for (auto& e : batch.value())
        bytes += e.data.size();
      n += batch.value().size();
      from = batch.value().back().position() + 1;
    }
    auto secs = seconds_since(t0);
    if (bytes == 0) std::cerr << "storage bench: replay read no data\n";
    return {secs, n};
  };
  auto scan_once = [&]() -> std::pair<double, std::size_t> {
    auto opened = internal::open_rocks(o);
    if (!opened) return {0, 0};
    auto& db = *opened.value();
    rocksdb::ReadOptions ro;
    ro.readahead_size = 2u << 20;
    std::size_t n = 0, bytes = 0;
    auto t0 = steady::now();
    std::unique_ptr<rocksdb::Iterator> it{db.db->NewIterator(ro, db[internal::cf_log])};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->key().size() + it->value().size();
      ++n;
    }
    auto secs = seconds_since(t0);
    if (!it->status().ok() || bytes == 0) std::cerr << "storage bench: raw scan failed\n";
    return {secs, n};
  };
  // Warm the OS cache once, then alternate and keep each side's best run.
  scan_once();
  std::pair<double, std::size_t> best_replay{1e30, 0}, best_scan{1e30, 0};
  for (int round = 0; round < 3; ++round) {
    auto s = scan_once();
    auto r = replay_once();
    if (s.first > 0 && s.first < best_scan.first) best_scan = s;
    if (r.first > 0 && r.first < best_replay.first) best_replay = r;
  }
  const double scan_rate = static_cast<double>(best_scan.second) / best_scan.first;
  const double replay_rate = static_cast<double>(best_replay.second) / best_replay.first;
  emit("raw_scan",
       {{"events", best_scan.second}, {"seconds", best_scan.first}, {"ops_per_s", scan_rate}});
  emit("replay_all", {{"events", best_replay.second},
                      {"page", page},
                      {"fill_seconds", fill_seconds},
                      {"seconds", best_replay.first},
                      {"ops_per_s", replay_rate},
                      {"ratio", replay_rate / scan_rate}});
}

registrar append_synced_reg{
    "append_synced",
    "durable appends from --writers=16,256 threads (one ~200 B event, own stream, exact version, "
    "command id) vs raw RocksDB Write(sync=true) of the same bytes (raw_put_synced)",
    [](const args& a) { appends(a, true); }};
registrar append_unsynced_reg{"append_unsynced",
                              "append_synced with sync=false (tests and benchmarks only), vs "
                              "raw_put_unsynced",
                              [](const args& a) { appends(a, false); }};
registrar replay_reg{"replay_all",
                     "read_all over --events=400000 stored events in pages of --page=4096 "
                     "(decode + CRC) vs a raw RocksDB scan of the log column family (raw_scan)",
                     [](const args& a) { replay(a); }};
registrar storage_reg{"storage", "append_synced, append_unsynced and replay_all",
                      [](const args& a) {
                        appends(a, true);
                        appends(a, false);
                        replay(a);
                      }};

} // namespace
} // namespace otaledger::bench
