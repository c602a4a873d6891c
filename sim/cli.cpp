// `otaledger simulate`: a fleet of simulated devices against a running server.
#include "sim/fleet.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

namespace otaledger::sim {

namespace {

constexpr const char* help = R"(usage: otaledger simulate [options]

A fleet of simulated devices on the network against a running server (docs/sim.md).
Prints a live progress bar to stderr (when it is a terminal) and, at the end,
the fleet's own tally as one JSON object on stdout.

  --server URL            http://HOST:PORT of the server. Default: http://127.0.0.1:8080
  --devices N             fleet size. Default: 100
  --mqtt URL              mqtt://HOST:PORT of the broker (needed by --mqtt-share)
  --mqtt-share X          share of devices (0..1) on MQTT, the rest on HTTP. Default: 0
  --topic-prefix P        the server's MQTT topic prefix. Default: otaledger/v1/devices
  --mqtt-connections N    gateway connections carrying the MQTT devices. Default: 4
  --http-connections N    keep-alive connections shared by the HTTP devices. Default: 32
  --prefix P              device ids are P0 .. P(N-1). Default: sim-
  --product ID            product to register under. Default: P1
  --product-secret S      the product's self-registration secret (required unless --no-register)
  --no-register           devices are registered already (with the secrets this seed derives)
  --version V             initial firmware version. Default: 1.0
  --province P --city C   region reported at registration. Default: GD, ""
  --seed N                deterministic choices. Default: 1
  --failure-rate X        share of installs that fail. Default: 0
  --download-failure-rate X  share of downloads that fail verification. Default: 0
  --offline-rate X        share of devices that start offline. Default: 0
  --low-battery-rate X    share of devices with a low battery at first. Default: 0
  --low-signal-rate X     share of devices with a weak signal at first. Default: 0
  --offline-seconds S     how long they stay offline. Default: 3
  --recover-seconds S     when battery and signal recover. Default: 3
  --broken-rate X         share of download requests whose connection breaks. Default: 0
  --bandwidth BYTES/S     modelled download bandwidth per device (0: unlimited). Default: 0
  --chunk BYTES           bytes per Range request. Default: 65536
  --poll S                HTTP polling interval. Default: 2
  --report S              report interval. Default: 60
  --install S             install duration. Default: 0.2
  --ramp S                spread registrations over S seconds. Default: 1
  --task T                the task to watch (for --until-done and the progress bar)
  --until-done            exit when every device finished --task T
  --duration S            exit after S seconds (0: until Ctrl-C or --until-done). Default: 0
)";

std::atomic<int> signalled{0};

} // namespace

int simulate_main(int argc, char** argv) {
  fleet_options o;
  std::string task;
  bool until_done = false;
  double duration = 0;
  auto number = [](const std::string& flag, const std::string& v) -> double {
    try {
      std::size_t used = 0;
      double d = std::stod(v, &used);
      if (used != v.size() || d < 0) throw std::invalid_argument{v};
      return d;
    } catch (...) {
      std::cerr << "otaledger simulate: " << flag << " wants a non-negative number, got '" << v
                << "'\n";
      std::exit(2);
    }
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "otaledger simulate: " << a << " needs a value (see --help)\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << help;
      return 0;
    } else if (a == "--server") o.server = value();
    else if (a == "--devices") o.devices = static_cast<std::uint64_t>(number(a, value()));
    else if (a == "--mqtt") o.mqtt_url = value();
    else if (a == "--mqtt-share") o.mqtt_share = number(a, value());
    else if (a == "--topic-prefix") o.topic_prefix = value();
    else if (a == "--mqtt-connections") o.mqtt_connections = static_cast<std::size_t>(number(a, value()));
    else if (a == "--http-connections") o.http_connections = static_cast<std::size_t>(number(a, value()));
    else if (a == "--prefix") o.id_prefix = value();
    else if (a == "--product") o.product = value();
    else if (a == "--product-secret") o.product_secret = value();
    else if (a == "--no-register") o.self_register = false;
    else if (a == "--version") o.fota_version = value();
    else if (a == "--province") o.province = value();
    else if (a == "--city") o.city = value();
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(number(a, value()));
    else if (a == "--failure-rate") o.failure_rate = number(a, value());
    else if (a == "--download-failure-rate") o.download_failure_rate = number(a, value());
    else if (a == "--offline-rate") o.offline_rate = number(a, value());
    else if (a == "--low-battery-rate") o.low_battery_rate = number(a, value());
    else if (a == "--low-signal-rate") o.low_signal_rate = number(a, value());
    else if (a == "--offline-seconds") o.offline_seconds = number(a, value());
    else if (a == "--recover-seconds") o.recover_seconds = number(a, value());
    else if (a == "--broken-rate") o.broken_download_rate = number(a, value());
    else if (a == "--bandwidth") o.bandwidth = number(a, value());
    else if (a == "--chunk") o.chunk_bytes = static_cast<std::size_t>(number(a, value()));
    else if (a == "--poll") o.poll_seconds = number(a, value());
    else if (a == "--report") o.report_seconds = number(a, value());
    else if (a == "--install") o.install_seconds = number(a, value());
    else if (a == "--ramp") o.ramp_seconds = number(a, value());
    else if (a == "--task") task = value();
    else if (a == "--until-done") until_done = true;
    else if (a == "--duration") duration = number(a, value());
    else {
      std::cerr << "otaledger simulate: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (until_done && task.empty()) {
    std::cerr << "otaledger simulate: --until-done needs --task T\n";
    return 2;
  }
  o.mqtt_client_prefix = fmt::format("otaledger-sim-{}", ::getpid());
  fleet f{o};
  if (auto e = f.start(); !e.empty()) {
    std::cerr << "otaledger simulate: " << e << "\n";
    return 2;
  }
  std::signal(SIGINT, [](int) { signalled = 1; });
  std::signal(SIGTERM, [](int) { signalled = 1; });
  bool tty = ::isatty(2);
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{200}); // the progress bar's refresh
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto t = f.tally();
    task_tally tt;
    if (!task.empty() && t.tasks.count(task)) tt = t.tasks.at(task);
    if (tty) {
      std::uint64_t done = tt.succeeded + tt.failed + tt.canceled;
      int width = 30;
      int filled = static_cast<int>(width * done / std::max<std::uint64_t>(1, o.devices));
      std::cerr << fmt::format("\r[{}{}] {:>6}/{} registered {} ok {} failed {} canceled {} "
                               "downloads {} broken {} {:.0f}s ",
                               std::string(filled, '#'), std::string(width - filled, '.'), done,
                               o.devices, t.registered, tt.succeeded, tt.failed, tt.canceled,
                               t.downloads, t.broken, el)
                << std::flush;
    }
    if (signalled) break;
    if (duration > 0 && el >= duration) break;
    if (until_done && f.finished(task) >= o.devices) break;
  }
  if (tty) std::cerr << "\n";
  f.stop();
  std::cout << f.tally().to_json().dump() << std::endl;
  return 0;
}

} // namespace otaledger::sim
