// `otaledger serve`: opens the data directory and serves HTTP until SIGINT/SIGTERM.
#include "api/http.hpp"
#include "cli/commands.hpp"
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

  auto routes = std::make_shared<api::router>();
  routes->add("GET", "/healthz", [&store](api::http_request&, api::responder reply) {
    reply(api::http_response::json(
        200, "{\"status\":\"ok\",\"log_head\":" + std::to_string(store.head()()) + "}"));
  });
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
  return 0;
}

} // namespace otaledger::cli
