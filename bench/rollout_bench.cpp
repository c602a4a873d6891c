// rollout: a task over N simulated devices (instant devices, synced log), from
// start_task until task.completed, through the whole actor runtime
// (coordinator, device actors, catalog actor, group commit).
//
//   otaledger_bench --benchmarks=rollout --num=100000 [--idle_ms=10000]
//       [--resident=N] (devices with nothing in progress kept in memory;
//       default: runtime_options::resident_limit) [--memtable_mib=N]
//       [--block_cache_mib=N] (storage::options::memtable_bytes and
//       block_cache_bytes in MiB)
//
// Set-up (not timed): the catalog through the runtime, then N devices
// registered and online, appended straight to the store in parallel appends.
// Timed: start_task -> task.completed. Then, in the same run, the raw engine:
// the events the rollout appended, read back and written to a fresh RocksDB in
// synced WriteBatches of 1,000 (raw_put_synced_batched), so "ratio" is events/s
// of the rollout over events/s of the raw engine writing the same bytes.
// peak_rss_bytes_per_device is VmHWM (set-up included, baseline excluded) / N;
// cpu_us_per_device is the process's CPU time over the timed part / N.
#include "actors/runtime.hpp"
#include "actors/sim_fleet.hpp"
#include "bench/bench.hpp"
#include "bench/raw_log_baseline.hpp"
#include "domain/commands.hpp"
#include "events/event.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

namespace otaledger::bench {
namespace {

using clock_type = std::chrono::steady_clock;

domain::command parse(std::string_view name, const std::string& data) {
  std::string error;
  auto c = domain::command_from_json(name, events::json::parse(data), error);
  if (!c) throw std::runtime_error(fmt::format("bad bench command {}: {}", name, error));
  return std::move(c).value();
}

storage::new_event make(const events::event& e, base::timestamp at) {
  storage::new_event ne;
  ne.type = std::string{events::type_name_of(e)};
  ne.schema = events::schema_of(e);
  ne.time = at;
  ne.meta.principal = "operator:bench";
  ne.data = events::encode_payload(e);
  return ne;
}

void register_devices(storage::event_store& store, std::uint64_t n) {
  std::mutex m;
  std::condition_variable cv;
  std::uint64_t left = n;
  std::uint64_t in_flight = 0;
  bool failed = false;
  auto now = base::system_clock{}.now();
  for (std::uint64_t i = 0; i < n; ++i) {
    auto id = fmt::format("D{}", i);
    events::device_registered reg;
    reg.device = id;
    reg.product = "P1";
    reg.fota_version = "1.0";
    reg.region.province = "GD";
    reg.at = now;
    storage::append_request req;
    req.stream = "device-" + id;
    req.expected = storage::expected_version::no_stream();
    req.events.push_back(make(events::event{reg}, now));
    req.events.push_back(make(events::event{events::device_came_online{id}}, now));
    {
      std::unique_lock lock{m};
      cv.wait(lock, [&] { return in_flight < 20'000; });
      ++in_flight;
    }
    store.append_async(std::move(req), [&](result<storage::append_result> r) {
      std::lock_guard lock{m};
      if (!r) failed = true;
      --in_flight;
      --left;
      cv.notify_all();
    });
  }
  std::unique_lock lock{m};
  cv.wait(lock, [&] { return left == 0; });
  if (failed) throw std::runtime_error("registration append failed: " + storage::error_detail());
}

bool wait_for_event(storage::event_store& store, log_position after, std::string_view stream,
                    std::string_view type) {
  std::mutex m;
  std::condition_variable cv;
  bool seen = false;
  auto sub = store.subscribe(after, [&](std::span<const events::envelope> b) -> result<void> {
    for (const auto& e : b)
      if (e.stream == stream && e.type == type) {
        std::lock_guard lock{m};
        seen = true;
        cv.notify_all();
      }
    return outcome::success();
  });
  std::unique_lock lock{m};
  cv.wait_for(lock, std::chrono::minutes{30}, [&] { return seen; });
  lock.unlock();
  sub->stop();
  return seen;
}

void rollout(const args& a) {
  const std::uint64_t n = a.num ? a.num : 100'000;
  storage::options so;
  so.path = a.dir + "/store";
  so.sync = true;
  if (!a.get("memtable_mib").empty()) so.memtable_bytes = std::stoull(a.get("memtable_mib")) << 20;
  if (!a.get("block_cache_mib").empty())
    so.block_cache_bytes = std::stoull(a.get("block_cache_mib")) << 20;
  auto db = storage::open_database(so);
  if (!db) throw std::runtime_error("cannot open the store: " + storage::error_detail());
  auto& store = *db.value().events;

  actors::sim_options sim;
  sim.seed = a.seed;
  actors::simulated_fleet fleet{sim};
  actors::runtime_options ro;
  ro.idle_timeout = std::chrono::milliseconds{std::stoul(a.get("idle_ms", "10000"))};
  ro.snapshot_every = 0;
  if (!a.get("resident").empty()) ro.resident_limit = std::stoull(a.get("resident"));
  ro.coordinator_window = std::stoul(a.get("window", "8192"));
  ro.scheduler_policy = a.get("policy", "sharing");
  ro.scheduler_threads = static_cast<unsigned>(std::stoul(a.get("threads", "0")));
  {
    // The catalog through the runtime (no coordinator needed yet).
    ro.coordinator = false;
    auto rt = actors::runtime::start(store, ro).value();
    events::event_meta m{"operator:bench", "", "", ""};
    const char* file =
        R"("name":"m-1.1.bin","size":1000,"md5":"0123456789abcdef0123456789abcdef","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","blob":"blob-1")";
    for (
        auto [name, data] : std::vector<std::pair<std::string, std::string>>{
            {"create_product", R"({"product":"P1","name":"Meter","require_verification":false})"},
            {"create_firmware",
             fmt::format(
                 R"({{"firmware":"F11","product":"P1","vendor":"CMCC","model":"M5330","version":"1.1","image":{{{}}}}})",
                 file)},
            {"create_package",
             fmt::format(
                 R"({{"package":"KF","firmware":"F11","type":"full","origin":"image","file":{{{}}}}})",
                 file)},
            {"create_task",
             R"({"task":"1","settings":{"name":"bench","package":"KF","product":"P1","targets":{"regions":[{"province":"GD","city":""}]}}})"}}) {
      auto o = rt->execute(parse(name, data), m);
      if (!o.ok()) throw std::runtime_error(name + " refused: " + o.message);
    }
    rt->stop();
  }
  register_devices(store, n);

  ro.coordinator = true;
  auto rt = actors::runtime::start(store, ro, &fleet).value();
  fleet.attach(rt.get());
  rt->wait_until_settled(store.head()); // the coordinator caught up with the set-up
  auto start_pos = store.head();
  auto t = clock_type::now();
  auto cpu0 = process_cpu_seconds();
  events::event_meta m{"operator:bench", "", "", ""};
  auto o = rt->execute(parse("start_task", R"({"task":"1"})"), m);
  if (!o.ok()) throw std::runtime_error("start_task refused: " + o.message);
  std::atomic<bool> done{false};
  std::thread progress;
  if (a.get("trace") == "1")
    progress = std::thread{[&] {
      while (!done) {
        std::this_thread::sleep_for(std::chrono::milliseconds{500});
        auto st = rt->stats();
        std::cerr << fmt::format("head {} coordinator {} live {} fleet {}\n", store.head()(),
                                 st.coordinator_position(), st.live_hosts, fleet.tally().succeeded);
      }
    }};
  bool completed = wait_for_event(store, start_pos, "task-1", "task.completed");
  done = true;
  if (progress.joinable()) progress.join();
  if (!completed) throw std::runtime_error("the rollout did not complete");
  double seconds = std::chrono::duration<double>(clock_type::now() - t).count();
  double cpu = process_cpu_seconds() - cpu0;
  auto end_pos = store.head();
  auto peak = peak_rss_bytes();
  auto stats = rt->stats();
  auto tally = fleet.tally();
  fleet.detach();
  rt->stop();
  rt.reset();

  auto events_appended = end_pos() - start_pos();
  double events_per_s = events_appended / seconds;
  double raw = raw_put_synced_batched(store, log_position{start_pos() + 1}, end_pos, a.dir + "/raw")
                   .ops_per_s;
  emit("raw_put_synced_batched",
       {{"events", events_appended}, {"ops_per_s", raw}, {"batch", 1000}});
  emit("rollout", {{"devices", n},
                   {"seconds", seconds},
                   {"ops_per_s", n / seconds},
                   {"events", events_appended},
                   {"events_per_s", events_per_s},
                   {"events_per_device", static_cast<double>(events_appended) / n},
                   {"ratio", raw > 0 ? events_per_s / raw : 0.0},
                   {"succeeded", tally.succeeded},
                   {"actors_spawned", stats.spawned},
                   {"actors_passivated", stats.passivated},
                   {"peak_rss_bytes", peak},
                   {"peak_rss_bytes_per_device", static_cast<double>(peak) / n},
                   {"cpu_us_per_device", cpu * 1e6 / n},
                   {"sync", true}});
}

registrar reg_rollout{"rollout",
                      "a task over --num simulated instant devices (default 100000), synced log, "
                      "start_task -> task.completed, beside raw RocksDB synced batches of the "
                      "same events",
                      rollout};

} // namespace
} // namespace otaledger::bench
