// A rollout on a real RocksDB store in a temporary directory, driven by the
// actor runtime and the in-process simulated fleet, on a manual clock.
#pragma once

#include "actors/runtime.hpp"
#include "actors/sim_fleet.hpp"
#include "base/time.hpp"
#include "domain/commands.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <fmt/format.h>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

namespace otaledger::testing {

inline std::string make_temp_dir(const char* tag) {
  auto base = std::filesystem::temp_directory_path() / fmt::format("otaledger-{}-XXXXXX", tag);
  std::string s = base.string();
  if (!mkdtemp(s.data())) throw std::runtime_error("mkdtemp failed");
  return s;
}

/// 2026-01-01T00:00:00Z.
inline constexpr std::int64_t t0 = 1'767'225'600'000'000;

inline domain::command parse_command(std::string_view name, std::string_view data) {
  std::string error;
  auto c = domain::command_from_json(name, events::json::parse(data), error);
  if (!c) throw std::runtime_error(fmt::format("bad test command {}: {}", name, error));
  return std::move(c).value();
}

struct fleet_env {
  std::string dir = make_temp_dir("actors");
  storage::options opts;
  storage::database db;
  base::manual_clock clock{base::timestamp{t0}};
  std::unique_ptr<actors::simulated_fleet> fleet;
  std::unique_ptr<actors::runtime> rt;
  actors::sim_options sim;
  /// The runtime's options (the clock and I/O threads are the fixture's).
  actors::runtime_options options;

  bool keep = false; ///< leave the directory behind (a child process's store)

  explicit fleet_env(actors::sim_options s = {}, std::string at = {}) : sim{std::move(s)} {
    if (!at.empty()) {
      std::filesystem::remove_all(dir);
      dir = std::move(at);
      keep = true;
    }
    opts.path = dir;
    open_store();
    start();
  }
  ~fleet_env() {
    stop();
    db = {};
    if (!keep) std::filesystem::remove_all(dir);
  }
  void open_store() {
    auto r = storage::open_database(opts);
    if (!r) throw std::runtime_error("cannot open the store: " + storage::error_detail());
    db = std::move(r).value();
  }
  void start() {
    fleet = std::make_unique<actors::simulated_fleet>(sim);
    actors::runtime_options ro = options;
    ro.clock = &clock;
    ro.io_threads = 2;
    rt = actors::runtime::start(*db.events, ro, fleet.get()).value();
    fleet->attach(rt.get());
  }
  void stop() {
    if (fleet) fleet->detach();
    if (rt) rt->stop();
    rt.reset();
    fleet.reset();
  }
  /// Stops the actor system abruptly and starts a new one on the same store.
  void restart() {
    stop();
    start();
  }

  actors::command_outcome run(std::string_view name, std::string_view data,
                              std::string principal = "operator:test") {
    events::event_meta m;
    m.principal = std::move(principal);
    return rt->execute(parse_command(name, data), m);
  }
  void must(std::string_view name, std::string_view data) {
    auto o = run(name, data);
    if (!o.ok())
      throw std::runtime_error(
          fmt::format("{} refused: {} ({})", name, o.message, o.error.message()));
  }

  /// Product P1, firmware 1.0 -> 1.1 (full package KF), `n` online devices D0..D<n-1> on 1.0.
  void catalog_and_devices(int n) {
    must("create_product", R"({"product":"P1","name":"Meter","require_verification":false})");
    const char* file =
        R"("name":"m-1.1.bin","size":1000,"md5":"0123456789abcdef0123456789abcdef","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","blob":"blob-1")";
    must(
        "create_firmware",
        fmt::format(
            R"({{"firmware":"F11","product":"P1","vendor":"CMCC","model":"M5330","version":"1.1","image":{{{}}}}})",
            file));
    must("create_package",
         fmt::format(
             R"({{"package":"KF","firmware":"F11","type":"full","origin":"image","file":{{{}}}}})",
             file));
    register_devices(0, n);
  }
  void register_devices(int from, int to) {
    std::mutex m;
    std::condition_variable cv;
    int left = 2 * (to - from);
    std::string failure;
    auto done = [&](actors::command_outcome o) {
      std::lock_guard lock{m};
      if (!o.ok() && failure.empty()) failure = o.message;
      if (--left == 0) cv.notify_all();
    };
    for (int i = from; i < to; ++i) {
      auto id = fmt::format("D{}", i);
      events::event_meta meta{"operator:test", "", "", ""};
      rt->submit(
          parse_command(
              "register_device",
              fmt::format(
                  R"({{"device":"{}","product":"P1","fota_version":"1.0","region":{{"province":"GD"}}}})",
                  id)),
          meta, [&, id, meta](actors::command_outcome o) {
            if (!o.ok()) return done(std::move(o));
            done(std::move(o));
            rt->submit(parse_command("report_device_state",
                                     fmt::format(R"({{"device":"{}","online":true}})", id)),
                       events::event_meta{"device:" + id, "", "", ""}, done);
          });
    }
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return left == 0; });
    if (!failure.empty()) throw std::runtime_error("registration refused: " + failure);
  }
  void create_task(std::string_view id, std::string_view extra_settings = "") {
    must(
        "create_task",
        fmt::format(
            R"({{"task":"{}","settings":{{"name":"rollout {}","package":"KF","product":"P1","targets":{{"regions":[{{"province":"GD","city":""}}]}}{}}}}})",
            id, id, extra_settings.empty() ? "" : fmt::format(",{}", extra_settings)));
  }

  domain::task_state task(std::string_view id) {
    auto s = rt->query_sync(fmt::format("task-{}", id));
    BOOST_REQUIRE(s);
    return std::get<domain::task_state>(s.value());
  }
  domain::device_state device(std::string_view id) {
    auto s = rt->query_sync(fmt::format("device-{}", id));
    BOOST_REQUIRE(s);
    return std::get<domain::device_state>(s.value());
  }

  /// The event types of a stream, one per line with position and reason (for
  /// failure messages).
  std::string history(const std::string& stream) {
    std::string out;
    auto evs = db.events->read_stream(stream, stream_version{1}, 10000);
    if (!evs) return "cannot read " + stream;
    for (const auto& e : evs.value())
      out += fmt::format("  {} v{} {} [{}] {}\n", e.position(), e.version(), e.type,
                         e.meta.principal, e.meta.command);
    return out;
  }

  /// Waits until the coordinator folded everything and nothing more is appended.
  void settle() {
    for (;;) {
      auto p = db.events->head();
      rt->wait_until_settled(p);
      fleet->wait_idle();
      rt->wait_until_settled(db.events->head());
      if (db.events->head() == p) return;
    }
  }

  /// Waits (at most `limit`) until an event of `type` on `stream` is in the log.
  bool wait_for(std::string_view stream, std::string_view type,
                std::chrono::seconds limit = std::chrono::seconds{120}) {
    std::mutex m;
    std::condition_variable cv;
    bool seen = false;
    auto sub = db.events->subscribe(log_position{0},
                                    [&](std::span<const events::envelope> b) -> result<void> {
                                      for (const auto& e : b)
                                        if (e.stream == stream && e.type == type) {
                                          std::lock_guard lock{m};
                                          seen = true;
                                          cv.notify_all();
                                        }
                                      return outcome::success();
                                    });
    std::unique_lock lock{m};
    cv.wait_for(lock, limit, [&] { return seen; });
    lock.unlock();
    sub->stop();
    return seen;
  }

  /// Why a task did not finish: its devices' phases, and the streams of the
  /// first few devices that are not final (for failure messages).
  std::string stuck(std::string_view task, int n) {
    std::string out;
    for (const auto& [phase, count] : phases(task, n))
      out += fmt::format("{}: {}\n", phase, count);
    int shown = 0;
    for (int i = 0; i < n && shown < 3; ++i) {
      auto id = fmt::format("D{}", i);
      auto d = device(id);
      const auto* x = d.execution(task);
      if (!x || x->phase == events::execution_phase::succeeded ||
          x->phase == events::execution_phase::failed ||
          x->phase == events::execution_phase::canceled)
        continue;
      ++shown;
      out += id + ":\n" + history("device-" + id);
    }
    return out;
  }

  /// Phase of every device's execution in `task`, by phase name.
  std::map<std::string, int> phases(std::string_view task, int n) {
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i) {
      auto d = device(fmt::format("D{}", i));
      const auto* x = d.execution(task);
      auto name = x ? std::string{events::enum_names(x->phase)[static_cast<std::size_t>(x->phase)]}
                    : std::string{"none"};
      ++out[name];
    }
    return out;
  }
};

} // namespace otaledger::testing
