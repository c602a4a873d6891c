// `otaledger serve`: opens the data directory and serves HTTP until SIGINT/SIGTERM.
#include "actors/runtime.hpp"
#include "api/http.hpp"
#include "api/operator_routes.hpp"
#include "channel/auth.hpp"
#include "channel/http_routes.hpp"
#include "channel/mqtt.hpp"
#include "channel/service.hpp"
#include "cli/commands.hpp"
#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

namespace otaledger::cli {
namespace {

constexpr const char* serve_help =
    R"(usage: otaledger serve [--data DIR] [--listen ADDR:PORT] [--unsynced]

Opens (or creates) the store in DIR and serves the HTTP API until Ctrl-C.

  --data DIR          data directory (RocksDB log, views, blobs). Default: ./data
  --listen ADDR:PORT  where to listen. Default: 127.0.0.1:8080
  --unsynced          do not fsync appends: for tests and benchmarks ONLY, a
                      machine crash may lose acknowledged commands
)";

bool parse_listen(const std::string& s, std::string& addr, std::uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  addr = s.substr(0, colon);
  try {
    auto p = std::stoul(s.substr(colon + 1));
    if (p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !addr.empty();
}

} // namespace

int serve_main(int argc, char** argv) {
  storage::options opts;
  opts.path = "./data";
  api::server_options http;
  std::string mqtt_url;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "otaledger serve: " << name << " needs a value (see --help)\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << serve_help;
      return 0;
    } else if (a == "--data") {
      opts.path = value("--data");
    } else if (a == "--listen") {
      auto v = value("--listen");
      if (!parse_listen(v, http.address, http.port)) {
        std::cerr << "otaledger serve: --listen wants ADDR:PORT, got '" << v << "'\n";
        return 2;
      }
    } else if (a == "--mqtt") {
      mqtt_url = value("--mqtt");
    } else if (a == "--unsynced") {
      opts.sync = false;
    } else {
      std::cerr << "otaledger serve: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }

  // Block the signals before any thread starts, so that every thread inherits
  // the mask and sigwait below is the only receiver.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto db = storage::open_database(opts);
  if (!db) {
    std::cerr << "otaledger serve: cannot open " << opts.path << ": " << db.error().message()
              << " (" << storage::error_detail() << ")\n";
    return 1;
  }
  auto& store = *db.value().events;
  auto& views = *db.value().views;

  // Views: catch up with the log, then follow it.
  projections::projector projector{store, views, projections::make_all_views()};
  if (auto r = projector.open(); !r) {
    std::cerr << "otaledger serve: cannot open the views: " << r.error().message() << "\n";
    return 1;
  }
  if (auto r = projector.catch_up(); !r) {
    std::cerr << "otaledger serve: cannot bring the views up to date: " << r.error().message()
              << "\n";
    return 1;
  }
  auto live_views = projector.run_live();

  // Devices: MQTT (optional) is also the runtime's device port.
  std::unique_ptr<channel::mqtt_channel> mqtt;
  if (!mqtt_url.empty()) {
    channel::mqtt_options mo;
    mo.url = mqtt_url;
    auto m = channel::mqtt_channel::start(mo);
    if (!m) {
      std::cerr << "otaledger serve: cannot start the MQTT channel on " << mqtt_url << ": "
                << m.error().message() << "\n";
      return 1;
    }
    mqtt = std::move(m).value();
  }
  actors::runtime_options ro;
  auto rt = actors::runtime::start(store, ro, mqtt.get());
  if (!rt) {
    std::cerr << "otaledger serve: cannot start the actor runtime: " << rt.error().message()
              << "\n";
    return 1;
  }
  auto& runtime = *rt.value();
  channel::credential_store credentials{views};
  channel::device_service devices{runtime, credentials, db.value().blobs.get()};
  if (mqtt) mqtt->attach(&devices);

  auto routes = std::make_shared<api::router>();
  // Operators' API (also /healthz, /openapi.json, /metrics) and the devices' channel.
  api::operator_context operators;
  operators.runtime = &runtime;
  operators.log = &store;
  operators.views = &views;
  operators.blobs = db.value().blobs.get();
  api::add_operator_routes(*routes, operators);
  channel::add_device_routes(*routes, devices);
  api::http_server server{http, routes};
  if (auto s = server.start(); !s) return 1;
  std::cout << "otaledger: serving " << opts.path << " (log head " << store.head()() << ", "
            << (opts.sync ? "durable" : "UNSYNCED") << ") on http://" << http.address << ":"
            << server.port() << "\notaledger: Ctrl-C stops\n"
            << std::flush;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "otaledger: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping\n";
  server.stop();
  if (mqtt) mqtt->attach(nullptr);
  runtime.stop();
  if (mqtt) mqtt->stop();
  if (live_views) live_views->stop();
  return 0;
}

} // namespace otaledger::cli
