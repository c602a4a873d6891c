// kafka_relay_child: a relay in a process of its own, for the tests that kill
// it with SIGKILL, and `otaledger consume` for the tests that run the command.
//
//   kafka_relay_child relay --brokers B --topic T --count N --streams S --seed X
//                           --dir D [--partitions P] [--window W]
//                           [--exit-when-done]
//     Opens the RocksDB event store in D/store (storage::open_event_store),
//     fills it on the first run with a deterministic log of N events (same
//     seed, same log), starts the relay and runs until killed, or, with
//     --exit-when-done, until everything is confirmed and the checkpoint
//     saved (exit 0). The relay's checkpoint lives in the store, so a run
//     after a SIGKILL resumes from it; the child copies it to D/checkpoint as
//     it moves, for the parent (which cannot open a store another process has
//     open).
//   kafka_relay_child consume ARGS...
//     Runs kafka::consume_main(ARGS).
#include "kafka/cli.hpp"
#include "kafka/relay.hpp"
#include "storage/open.hpp"
#include "tests/kafka/log_fill.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>

using namespace otaledger;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc >= 2 && std::string{argv[1]} == "consume")
    return kafka::consume_main(argc - 1, argv + 1);
  if (argc < 2 || std::string{argv[1]} != "relay") {
    std::cerr << "usage: kafka_relay_child relay ... | consume ...\n";
    return 2;
  }
  std::map<std::string, std::string> a;
  bool exit_when_done = false;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--exit-when-done") {
      exit_when_done = true;
    } else if (k.rfind("--", 0) == 0 && i + 1 < argc) {
      a[k.substr(2)] = argv[++i];
    } else {
      std::cerr << "kafka_relay_child: bad argument " << k << "\n";
      return 2;
    }
  }
  auto num = [&](const char* k, std::uint64_t d) { return a.count(k) ? std::stoull(a[k]) : d; };
  storage::options so;
  so.path = (std::filesystem::path(a["dir"]) / "store").string();
  // The log is written once, before the first relay runs: its durability is
  // not what the test is about. Checkpoints still reach the WAL at once, and
  // a SIGKILL does not lose what the kernel already has.
  so.sync = false;
  auto opened = storage::open_event_store(so);
  if (!opened) {
    std::cerr << "kafka_relay_child: opening " << so.path << ": " << opened.error().message()
              << "\n";
    return 1;
  }
  auto& store = *opened.value();
  auto count = num("count", 1000);
  if (store.head()() == 0) kafka::testing::fill(store, count, num("streams", 8), num("seed", 7));
  if (store.head()() != count) {
    std::cerr << "kafka_relay_child: the store holds " << store.head()() << " events, not " << count
              << "\n";
    return 1;
  }

  kafka::relay_options o;
  o.client.brokers = a["brokers"];
  o.client.topic = a["topic"];
  o.client.partitions = static_cast<int>(num("partitions", 4));
  o.client.properties = {{"socket.connection.setup.timeout.ms", "3000"},
                         {"reconnect.backoff.max.ms", "500"}};
  if (const char* dbg = std::getenv("OTALEDGER_KAFKA_DEBUG")) {
    // Troubleshooting: librdkafka's debug contexts (e.g. "eos,msg") to stderr.
    o.client.properties["debug"] = dbg;
    o.client.logger = [](kafka::log_level, std::string_view m) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(m.size()), m.data());
    };
  }
  o.source = "otaledger://child";
  o.checkpoint_interval = 5ms;
  o.max_in_flight = num("window", 100);
  o.linger_ms = 0;
  auto r = kafka::relay::create(store, o);
  if (!r) return 1;
  if (!r.value()->start()) return 1;
  auto mirror = std::filesystem::path(a["dir"]) / "checkpoint";
  std::uint64_t written = UINT64_MAX;
  auto publish_checkpoint = [&] {
    auto cp = r.value()->checkpoint()();
    if (cp == written) return;
    auto tmp = mirror.string() + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%llu\n", static_cast<unsigned long long>(cp));
      std::fclose(f);
      std::filesystem::rename(tmp, mirror);
      written = cp;
    }
  };
  if (exit_when_done) {
    if (!r.value()->flush(120s)) {
      std::cerr << "kafka_relay_child: not everything was confirmed in time: "
                << r.value()->stats().last_error << "\n";
      return 1;
    }
    r.value()->stop();
    publish_checkpoint();
    return 0;
  }
  for (;;) { // until SIGKILL
    publish_checkpoint();
    std::this_thread::sleep_for(2ms);
  }
}
