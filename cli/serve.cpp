// `otaledger serve`: opens the data directory and serves HTTP until SIGINT/SIGTERM.
#include "actors/runtime.hpp"
#include "api/http.hpp"
#include "api/operator_routes.hpp"
#include "channel/auth.hpp"
#include "channel/ddi.hpp"
#include "channel/http_routes.hpp"
#include "channel/mqtt.hpp"
#include "channel/service.hpp"
#include "cli/commands.hpp"
#include "kafka/relay.hpp"
#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "sim/demo.hpp"
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
                       [--max-image-mib N] [--max-delta-mib N] [--memtable-mib N]

Opens (or creates) the store in DIR and serves the HTTP API until Ctrl-C.

  --data DIR          data directory (RocksDB log, views, blobs). Default: ./data
  --listen ADDR:PORT  where to listen. Default: 127.0.0.1:8080
  --unsynced          do not fsync appends: for tests and benchmarks ONLY, a
                      machine crash may lose acknowledged commands
  --kafka-brokers B   also relay the log to Kafka (HOST:PORT[,...]); without it, no relay
                      (docs/kafka.md)
  --kafka-topic T     the topic. Default: otaledger.events
  --kafka-partitions N  partitions the topic must have (created with them if missing).
                      Default: whatever the topic has
  --kafka-property K=V  a librdkafka property, repeatable (security.protocol, sasl.*,
                      ssl.*, compression.type...)
  --mqtt URL          also serve devices over MQTT through the broker at mqtt://HOST:PORT
  --mqtt-prefix P     MQTT topic prefix. Default: otaledger/v1/devices
  --mqtt-client-id C  the server's MQTT client id (its persistent session). Default: otaledger-server
  --simulate N        demo: a catalog, N simulated devices on the network and a
                      started task over them, with a live progress bar (docs/sim.md)
  --max-image-mib N   largest full image (firmware image, full package), MiB. Default: 30
  --max-delta-mib N   largest uploaded delta package, MiB. Default: 2
  --memtable-mib N    RocksDB write buffer per column family, MiB. Default: 64
                      (lower saves memory on a small fleet; at a million
                      devices 32 ran a rollout about 5 % slower: docs/actors.md)
)";

/// A whole number of MiB, 1..1024, as bytes.
bool parse_mib(const std::string& s, std::uint64_t& bytes) {
  if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto n = std::stoull(s);
  if (n == 0 || n > 1024) return false;
  bytes = n << 20;
  return true;
}

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
  std::uint64_t max_image = 30ull << 20, max_delta = 2ull << 20; // --max-image-mib, --max-delta-mib
  std::uint64_t memtable = opts.memtable_bytes;                  // --memtable-mib
  kafka::relay_options kafka_opts; // relayed when kafka_opts.client.brokers is set
  std::string mqtt_prefix = "otaledger/v1/devices", mqtt_client_id = "otaledger-server";
  std::uint64_t simulate = 0;
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
    } else if (a == "--mqtt-prefix") {
      mqtt_prefix = value("--mqtt-prefix");
    } else if (a == "--mqtt-client-id") {
      mqtt_client_id = value("--mqtt-client-id");
    } else if (a == "--simulate") {
      auto v = value("--simulate");
      try {
        std::size_t used = 0;
        simulate = std::stoull(v, &used);
        if (used != v.size() || simulate == 0) throw std::invalid_argument{v};
      } catch (...) {
        std::cerr << "otaledger serve: --simulate wants a number of devices, got '" << v << "'\n";
        return 2;
      }
    } else if (a == "--kafka-brokers") {
      kafka_opts.client.brokers = value("--kafka-brokers");
    } else if (a == "--kafka-topic") {
      kafka_opts.client.topic = value("--kafka-topic");
    } else if (a == "--kafka-partitions") {
      auto v = value("--kafka-partitions");
      try {
        std::size_t used = 0;
        kafka_opts.client.partitions = std::stoi(v, &used);
        if (used != v.size() || kafka_opts.client.partitions <= 0) throw std::invalid_argument{v};
      } catch (...) {
        std::cerr << "otaledger serve: --kafka-partitions wants a positive number, got '" << v
                  << "'\n";
        return 2;
      }
    } else if (a == "--kafka-property") {
      auto kv = value("--kafka-property");
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "otaledger serve: --kafka-property wants KEY=VALUE, got '" << kv << "'\n";
        return 2;
      }
      kafka_opts.client.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "--max-image-mib" || a == "--max-delta-mib" || a == "--memtable-mib") {
      auto v = value(a.c_str());
      if (!parse_mib(v, a == "--max-image-mib"   ? max_image
                        : a == "--max-delta-mib" ? max_delta
                                                 : memtable)) {
        std::cerr << "otaledger serve: " << a
                  << " wants a whole number of MiB from 1 to 1024, got '" << v << "'\n";
        return 2;
      }
    } else if (a == "--unsynced") {
      opts.sync = false;
    } else {
      std::cerr << "otaledger serve: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }

  if (!kafka_opts.client.brokers.empty()) {
    if (auto why = kafka::validate(kafka_opts); !why.empty()) {
      std::cerr << "otaledger serve: invalid Kafka settings: " << why << "\n";
      return 2;
    }
  } else if (kafka_opts.client.topic != "otaledger.events" || kafka_opts.client.partitions != 0 ||
             !kafka_opts.client.properties.empty()) {
    std::cerr << "otaledger serve: --kafka-topic, --kafka-partitions and --kafka-property need "
                 "--kafka-brokers\n";
    return 2;
  }

  // Block the signals before any thread starts, so that every thread inherits
  // the mask and sigwait below is the only receiver.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  opts.memtable_bytes = static_cast<std::size_t>(memtable);
  auto db = storage::open_database(opts);
  if (!db) {
    std::cerr << "otaledger serve: cannot open " << opts.path << ": " << db.error().message()
              << " (" << storage::error_detail() << ")\n";
    return 1;
  }
  auto& store = *db.value().events;
  auto& views = *db.value().views;

  // Views: catch up with the log, then follow it. Views written in an older
  // layout are refolded from the log first.
  if (auto reset = projections::reset_views_for_format(views); !reset) {
    std::cerr << "otaledger serve: cannot check the views' format: " << reset.error().message()
              << "\n";
    return 1;
  } else if (reset.value()) {
    std::cout << "otaledger: the views were written in an older layout; folding them again from "
                 "the log\n";
  }
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

  // Kafka (optional): the relay publishes the log from its checkpoint on.
  std::unique_ptr<kafka::relay> relay;
  if (!kafka_opts.client.brokers.empty()) {
    auto r = kafka::relay::create(store, kafka_opts);
    if (!r) {
      std::cerr << "otaledger serve: invalid Kafka settings: " << r.error().message() << "\n";
      return 2;
    }
    relay = std::move(r).value();
    if (auto s = relay->start(); !s) {
      std::cerr << "otaledger serve: cannot start the Kafka relay: " << s.error().message() << "\n";
      return 1;
    }
    std::cout << "otaledger: relaying the log to Kafka topic " << kafka_opts.client.topic << " on "
              << kafka_opts.client.brokers << "\n"
              << std::flush;
  }

  // Devices: MQTT (optional) is also the runtime's device port.
  std::unique_ptr<channel::mqtt_channel> mqtt;
  if (!mqtt_url.empty()) {
    channel::mqtt_options mo;
    mo.url = mqtt_url;
    mo.topic_prefix = mqtt_prefix;
    mo.client_id = mqtt_client_id;
    auto m = channel::mqtt_channel::start(mo);
    if (!m) {
      std::cerr << "otaledger serve: cannot start the MQTT channel on " << mqtt_url << ": "
                << m.error().message() << "\n";
      return 1;
    }
    mqtt = std::move(m).value();
  }
  actors::runtime_options ro;
  ro.limits.max_image_bytes = max_image;
  ro.limits.max_delta_bytes = max_delta;
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
  operators.max_image_bytes = max_image;
  operators.max_delta_bytes = max_delta;
  api::add_operator_routes(*routes, operators);
  channel::add_device_routes(*routes, devices);
  channel::add_ddi_routes(*routes, devices, runtime, views); // hawkBit DDI (SWUpdate)
  api::http_server server{http, routes};
  if (auto s = server.start(); !s) return 1;
  std::cout << "otaledger: serving " << opts.path << " (log head " << store.head()() << ", "
            << (opts.sync ? "durable" : "UNSYNCED") << ") on http://" << http.address << ":"
            << server.port() << "\notaledger: Ctrl-C stops\n"
            << std::flush;

  std::unique_ptr<sim::demo> demo;
  if (simulate > 0) {
    sim::demo_options d;
    d.devices = simulate;
    d.port = server.port();
    d.mqtt_url = mqtt_url;
    d.topic_prefix = mqtt_prefix;
    demo = sim::demo::start(runtime, *db.value().blobs, d);
  }

  int sig = 0;
  sigwait(&signals, &sig);
  if (demo) demo->stop();
  std::cout << "otaledger: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping\n";
  server.stop();
  if (mqtt) mqtt->attach(nullptr);
  runtime.stop();
  if (mqtt) mqtt->stop();
  if (live_views) live_views->stop();
  if (relay) relay->stop(); // publishes what it can within its stop_timeout
  return 0;
}

} // namespace otaledger::cli
