// device_reports: device reports per second over HTTP on loopback, the whole
// device channel (Boost.Beast server, codec, credential check, device service,
// actor runtime, group commit) with every report state-changing and durable
// (synced log): each report flips the device's "online", so each appends one
// event and is acknowledged only after the WAL sync. Beside it, in the same
// run, the raw engine: the events the reports appended, read back and written
// to a fresh RocksDB in synced WriteBatches of 1,000 (raw_put_synced_batched),
// so "ratio" is events/s of the channel over events/s of the raw engine.
//
// device_download: Range downloads (1 MiB ranges, If-Range) of a package from
// the blob store over HTTP, MB/s, beside blob_store::read of the same ranges.
//
//   otaledger_bench --benchmarks=device_reports --num=4000 [--seconds=10]
//       [--connections=256] [--download_mb=256]
//
// The client is sim::http_pool (the simulator's pool of keep-alive
// connections) on its own thread; each connection carries one request at a
// time, and each device has at most one report in flight. cpu_us_per_report
// is the whole process's CPU time (server and client) over the timed part,
// per report: a figure that a busy machine disturbs less than wall time.
#include "actors/runtime.hpp"
#include "bench/bench.hpp"
#include "bench/raw_log_baseline.hpp"
#include "channel/auth.hpp"
#include "channel/http_routes.hpp"
#include "channel/service.hpp"
#include "domain/commands.hpp"
#include "sim/http_pool.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

namespace otaledger::bench {
namespace {

using clock_type = std::chrono::steady_clock;
namespace http = boost::beast::http;

domain::command parse_cmd(std::string_view name, const std::string& data) {
  std::string error;
  auto c = domain::command_from_json(name, events::json::parse(data), error);
  if (!c) throw std::runtime_error(fmt::format("bad bench command {}: {}", name, error));
  return std::move(c).value();
}

/// Runs `slots` request loops on the pool until `until`; each loop calls
/// make(slot, n) for its n-th request and check(answer) on the answer.
struct driver {
  boost::asio::io_context io;
  std::unique_ptr<sim::http_pool> pool;
  std::atomic<std::uint64_t> ok{0}, bad{0};
  clock_type::time_point until;
  std::function<sim::http_call(std::size_t, std::uint64_t)> make;
  std::function<bool(const sim::http_answer&)> check;
  std::string first_error;

  void loop(std::size_t slot, std::uint64_t n) {
    if (clock_type::now() >= until) return;
    pool->request(make(slot, n), [this, slot, n](sim::http_answer a) {
      if (check(a))
        ok++;
      else if (bad++ == 0)
        first_error =
            fmt::format("status {} {} {}", a.status, a.error.message(), a.body.substr(0, 200));
      loop(slot, n + 1);
    });
  }
  double run(std::uint16_t port, std::size_t slots, double seconds) {
    pool = std::make_unique<sim::http_pool>(
        io, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), port},
        slots);
    auto t0 = clock_type::now();
    until = t0 + std::chrono::duration_cast<clock_type::duration>(
                     std::chrono::duration<double>(seconds));
    for (std::size_t s = 0; s < slots; ++s)
      boost::asio::post(io, [this, s] { loop(s, 0); });
    io.run();
    return std::chrono::duration<double>(clock_type::now() - t0).count();
  }
};

void device_reports(const args& a) {
  // Defaults: 4,000 devices over 256 keep-alive connections (a large fleet
  // keeps many connections open at once; docs/sim.md has 64 and 512 too).
  const std::uint64_t n = a.num ? a.num : 4000;
  const double seconds = std::stod(a.get("seconds", "10"));
  const std::size_t conns = std::stoul(a.get("connections", "256"));
  const std::uint64_t download_mb = std::stoull(a.get("download_mb", "256"));
  storage::options so;
  so.path = a.dir + "/store";
  so.sync = true;
  auto db = storage::open_database(so);
  if (!db) throw std::runtime_error("cannot open the store: " + storage::error_detail());
  auto& store = *db.value().events;
  actors::runtime_options ro; // defaults: snapshots every 64 events, 100k resident devices
  auto rt = actors::runtime::start(store, ro).value();
  channel::credential_store creds{*db.value().views};
  channel::device_service svc{*rt, creds, db.value().blobs.get()};
  auto routes = std::make_shared<api::router>();
  channel::add_device_routes(*routes, svc);
  api::server_options hs;
  hs.port = 0;
  hs.threads = static_cast<unsigned>(std::stoul(a.get("server_threads", "2")));
  api::http_server server{hs, routes};
  if (!server.start()) throw std::runtime_error("cannot start the HTTP server");

  // Set-up (not timed): the catalog, N devices and their secrets.
  events::event_meta op{"operator:bench", "", "", ""};
  auto must = [&](std::string_view name, const std::string& data) {
    auto o = rt->execute(parse_cmd(name, data), op);
    if (!o.ok()) throw std::runtime_error(std::string{name} + " refused: " + o.message);
  };
  must("create_product", R"({"product":"P1","name":"Meter","require_verification":false})");
  {
    std::mutex m;
    std::condition_variable cv;
    std::uint64_t left = n;
    for (std::uint64_t i = 0; i < n; ++i) {
      auto id = fmt::format("D{}", i);
      if (!creds.set(id, fmt::format("secret-of-device-{:08}", i)))
        throw std::runtime_error("cannot store a credential");
      domain::register_device c;
      c.device = id;
      c.product = "P1";
      c.fota_version = "1.0";
      c.region.province = "GD";
      rt->submit(c, op, [&](actors::command_outcome) {
        std::lock_guard lock{m};
        if (--left == 0) cv.notify_all();
      });
    }
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return left == 0; });
  }

  // Timed: reports. Slot s reports for devices s, s+C, s+2C, ... in turn, so
  // no device has two reports in flight; each report flips "online".
  auto start_pos = store.head();
  std::vector<std::uint64_t> seq(n, 0);
  driver d;
  d.make = [&](std::size_t slot, std::uint64_t k) {
    std::uint64_t per_slot = (n + conns - 1 - slot) / conns; // devices of this slot
    auto dev = slot + conns * (k % std::max<std::uint64_t>(1, per_slot));
    auto s = ++seq[dev];
    sim::http_call c;
    c.method = http::verb::post;
    c.target = fmt::format("/v1/devices/D{}/report", dev);
    c.authorization = fmt::format("Bearer secret-of-device-{:08}", dev);
    c.body = fmt::format(R"({{"id":"r{}","online":{},"battery":80,"signal":20}})", s,
                         s % 2 == 0 ? "true" : "false");
    return c;
  };
  d.check = [](const sim::http_answer& x) { return x.status == 200; };
  auto cpu0 = process_cpu_seconds();
  double elapsed = d.run(server.port(), std::min<std::size_t>(conns, n), seconds);
  double cpu = process_cpu_seconds() - cpu0;
  auto end_pos = store.head();
  std::uint64_t reports = d.ok;
  auto events_appended = end_pos() - start_pos();
  if (d.bad)
    std::cerr << "device_reports: " << d.bad << " refused, first: " << d.first_error << "\n";

  // Download throughput: a 16 MiB package, device D0 notified in a task.
  std::string image(16u << 20, '\0'); // under the 30 MiB image limit
  std::mt19937_64 rng{5};
  for (std::size_t i = 0; i < image.size(); i += 8) {
    auto v = rng();
    std::memcpy(image.data() + i, &v, 8);
  }
  auto w = db.value().blobs->begin(0).value();
  if (!w->write(image)) throw std::runtime_error("blob write");
  auto blob = w->finish().value();
  auto file = fmt::format(R"("name":"big.bin","size":{},"md5":"{}","sha256":"{}","blob":"{}")",
                          blob.size, blob.md5, blob.sha256, blob.id);
  must("create_firmware",
       fmt::format(R"({{"firmware":"F11","product":"P1","vendor":"V","model":"M","version":"1.1",)"
                   R"("image":{{{}}}}})",
                   file));
  must("create_package",
       fmt::format(
           R"({{"package":"KF","firmware":"F11","type":"full","origin":"image","file":{{{}}}}})",
           file));
  must("create_task", R"({"task":"1","settings":{"name":"dl","package":"KF","product":"P1",)"
                      R"("targets":{"devices":["D0"]}}})");
  // D0 must be online to be notified.
  must("report_device_state", R"({"device":"D0","online":true})");
  must("start_task", R"({"task":"1"})");
  for (int i = 0; i < 1000; ++i) {
    auto s = rt->query_sync("device-D0");
    auto* dv = s ? std::get_if<domain::device_state>(&s.value()) : nullptr;
    if (dv && !dv->executions.empty() &&
        dv->executions[0].phase == events::execution_phase::notified)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10}); // polling a condition
  }
  const std::uint64_t range = 1u << 20;
  const std::uint64_t ranges = image.size() / range;
  driver dl;
  std::atomic<std::uint64_t> bytes{0};
  const std::uint64_t total_ranges = download_mb; // 1 MiB each
  std::atomic<std::uint64_t> issued{0};
  dl.make = [&](std::size_t, std::uint64_t) {
    auto k = issued++ % ranges;
    sim::http_call c;
    c.target = "/v1/devices/D0/packages/KF";
    c.authorization = "Bearer secret-of-device-00000000";
    c.range = fmt::format("bytes={}-{}", k * range, k * range + range - 1);
    c.if_range = "\"" + blob.sha256 + "\"";
    return c;
  };
  dl.check = [&](const sim::http_answer& x) {
    if (x.status != 206 || x.body.size() != range) return false;
    bytes += x.body.size();
    if (issued >= total_ranges) dl.until = clock_type::now();
    return true;
  };
  double dl_seconds = dl.run(server.port(), 4, 120);
  if (dl.bad)
    std::cerr << "device_download: " << dl.bad << " failed, first: " << dl.first_error << "\n";
  double mb_s = bytes / dl_seconds / 1e6;
  // The raw engine under it: blob_store::read of the same ranges.
  auto t = clock_type::now();
  std::uint64_t raw_bytes = 0;
  for (std::uint64_t i = 0; i < total_ranges; ++i)
    raw_bytes += db.value().blobs->read(blob.id, (i % ranges) * range, range).value().size();
  double raw_mb_s = raw_bytes / std::chrono::duration<double>(clock_type::now() - t).count() / 1e6;

  server.stop();
  rt->stop();
  rt.reset();

  auto raw_log =
      raw_put_synced_batched(store, log_position{start_pos() + 1}, end_pos, a.dir + "/raw");
  double raw = raw_log.ops_per_s;
  double events_per_s = events_appended / elapsed;
  emit("raw_put_synced_batched", {{"events", raw_log.events}, {"ops_per_s", raw}, {"batch", 1000}});
  emit("device_reports", {{"devices", n},
                          {"connections", std::min<std::size_t>(conns, n)},
                          {"seconds", elapsed},
                          {"reports", reports},
                          {"refused", d.bad.load()},
                          {"ops_per_s", reports / elapsed},
                          {"events", events_appended},
                          {"events_per_s", events_per_s},
                          {"ratio", raw > 0 ? events_per_s / raw : 0.0},
                          {"cpu_us_per_report", reports ? cpu * 1e6 / reports : 0.0},
                          {"sync", true}});
  emit("raw_blob_read", {{"bytes", raw_bytes}, {"mb_per_s", raw_mb_s}});
  emit("device_download", {{"bytes", bytes.load()},
                           {"range_bytes", range},
                           {"connections", 4},
                           {"seconds", dl_seconds},
                           {"mb_per_s", mb_s},
                           {"ratio", raw_mb_s > 0 ? mb_s / raw_mb_s : 0.0}});
}

registrar reg_device{"device_reports",
                     "device reports/s over HTTP (state-changing, synced log) beside raw RocksDB "
                     "synced batches of the same events; then Range downloads MB/s beside raw "
                     "blob reads",
                     device_reports};

} // namespace
} // namespace otaledger::bench
