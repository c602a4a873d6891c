#include "sim/demo.hpp"

#include "actors/runtime.hpp"
#include "channel/auth.hpp"
#include "domain/commands.hpp"
#include "sim/fleet.hpp"
#include "storage/blob_store.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>

namespace otaledger::sim {

namespace {

class demo_impl final : public demo {
public:
  demo_impl(actors::runtime& rt, storage::blob_store& blobs, demo_options o)
      : rt_(rt), blobs_(blobs), o_(std::move(o)) {
    thread_ = std::thread{[this] { run(); }};
  }
  ~demo_impl() override { stop(); }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fleet_) fleet_->stop();
  }

private:
  bool must(std::string_view name, const std::string& data, bool may_exist = false) {
    std::string error;
    auto c = domain::command_from_json(name, nlohmann::json::parse(data), error);
    if (!c) {
      std::cerr << "otaledger demo: bad command " << name << ": " << error << "\n";
      return false;
    }
    auto r = rt_.execute(std::move(c).value(), events::event_meta{"operator:demo", "", "", ""});
    if (r.ok() || (may_exist && r.error == domain::errc::already_exists)) return true;
    std::cerr << "otaledger demo: " << name << " refused: " << r.message << "\n";
    return false;
  }

  void run() {
    if (!catalog()) return;
    rollout();
  }

  bool catalog() {
    // Once per data directory.
    auto existing = rt_.query_sync("package-demo-1.1-full");
    if (existing)
      if (auto* p = std::get_if<domain::package_state>(&existing.value()); p && p->exists)
        return true;
    // A deterministic 256 KiB "firmware image".
    std::string image(256 * 1024, '\0');
    std::mt19937_64 rng{11};
    for (auto& c : image)
      c = static_cast<char>(rng());
    auto w = blobs_.begin(image.size());
    if (!w || !w.value()->write(image)) {
      std::cerr << "otaledger demo: cannot store the demo image\n";
      return false;
    }
    auto blob = w.value()->finish();
    if (!blob) {
      std::cerr << "otaledger demo: cannot store the demo image\n";
      return false;
    }
    auto file = fmt::format(R"("name":"demo-1.1.bin","size":{},"md5":"{}","sha256":"{}","blob":"{}")",
                            blob.value().size, blob.value().md5, blob.value().sha256,
                            blob.value().id);
    if (!must("create_product",
              fmt::format(R"({{"product":"demo","name":"Demo meter","secret_hash":"{}",)"
                          R"("require_verification":false}})",
                          channel::sha256_hex("demo-secret")),
              true) ||
        !must("create_firmware",
              fmt::format(R"({{"firmware":"demo-1.1","product":"demo","vendor":"otaledger",)"
                          R"("model":"sim","version":"1.1","image":{{{}}}}})",
                          file),
              true) ||
        !must("create_package",
              fmt::format(R"({{"package":"demo-1.1-full","firmware":"demo-1.1","type":"full",)"
                          R"("origin":"image","file":{{{}}}}})",
                          file),
              true))
      return false;
    return true;
  }

  void rollout() {
    fleet_options fo;
    fo.server = fmt::format("http://127.0.0.1:{}", o_.port);
    fo.devices = o_.devices;
    fo.product = "demo";
    fo.product_secret = "demo-secret";
    fo.id_prefix = "demo-";
    fo.province = "Demo";
    fo.failure_rate = o_.failure_rate;
    fo.broken_download_rate = 0.05;
    fo.low_battery_rate = 0.02;
    fo.bandwidth = 512 * 1024;
    fo.chunk_bytes = 32 * 1024;
    fo.poll_seconds = 1;
    fo.ramp_seconds = 2;
    fo.install_seconds = 1;
    if (!o_.mqtt_url.empty()) {
      fo.mqtt_url = o_.mqtt_url;
      fo.mqtt_share = o_.mqtt_share;
      fo.topic_prefix = o_.topic_prefix;
      fo.mqtt_client_prefix = fmt::format("otaledger-demo-{}", ::getpid());
    }
    fleet_ = std::make_unique<fleet>(fo);
    if (auto e = fleet_->start(); !e.empty()) {
      std::cerr << "otaledger demo: " << e << "\n";
      return;
    }
    std::cerr << fmt::format("otaledger demo: {} simulated devices registering...\n", o_.devices);
    auto t0 = std::chrono::steady_clock::now();
    while (!stop_ && fleet_->tally().registered < o_.devices) {
      std::this_thread::sleep_for(std::chrono::milliseconds{100}); // polling the fleet's tally
      if (std::chrono::steady_clock::now() - t0 > std::chrono::minutes{5}) break;
    }
    // Every device reported once (online): give the last reports a moment to land.
    std::this_thread::sleep_for(std::chrono::seconds{1});
    auto task = fmt::format("demo-{}", std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
    if (!must("create_task",
              fmt::format(R"({{"task":"{}","settings":{{"name":"Demo rollout","package":)"
                          R"("demo-1.1-full","product":"demo","targets":{{"regions":)"
                          R"([{{"province":"Demo","city":""}}]}}}}}})",
                          task)) ||
        !must("start_task", fmt::format(R"({{"task":"{}"}})", task)))
      return;
    std::cerr << fmt::format("otaledger demo: task {} started (GET /v1/tasks/{}/devices)\n", task,
                             task);
    bool tty = ::isatty(2);
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds{250}); // the progress bar's refresh
      auto t = fleet_->tally();
      task_tally tt;
      if (t.tasks.count(task)) tt = t.tasks.at(task);
      auto done = tt.succeeded + tt.failed + tt.canceled;
      if (tty) {
        int width = 40;
        int filled = static_cast<int>(width * done / std::max<std::uint64_t>(1, o_.devices));
        std::cerr << fmt::format("\r[{}{}] {}/{} succeeded {} failed {} resumed downloads {} ",
                                 std::string(filled, '#'), std::string(width - filled, '.'), done,
                                 o_.devices, tt.succeeded, tt.failed, t.broken)
                  << std::flush;
      }
      if (done >= o_.devices) {
        if (tty) std::cerr << "\n";
        std::cerr << "otaledger demo: rollout done; the fleet's tally: "
                  << t.to_json().dump() << "\notaledger demo: Ctrl-C stops the server\n";
        break;
      }
    }
  }

  actors::runtime& rt_;
  storage::blob_store& blobs_;
  demo_options o_;
  std::unique_ptr<fleet> fleet_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace

std::unique_ptr<demo> demo::start(actors::runtime& rt, storage::blob_store& blobs,
                                  demo_options options) {
  return std::make_unique<demo_impl>(rt, blobs, std::move(options));
}

} // namespace otaledger::sim
