// `otaledger serve --simulate N`: the README's one-command demo. Inside the
// server process, after it listens: a demo catalog (product "demo" with the
// self-registration secret "demo-secret", firmware 1.1 and its package, an
// image of 256 KiB stored in the blob store), N simulated devices on the
// network (sim::fleet, against the server's own port: real HTTP, and MQTT
// too when the server has a broker), then a task over all of them, started.
// The live progress bar goes to stderr; the tally is printed when the task
// is done. Running it again on the same data adds a new task.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace otaledger::actors {
class runtime;
}
namespace otaledger::storage {
class blob_store;
}

namespace otaledger::sim {

struct demo_options {
  std::uint64_t devices = 1000;
  std::uint16_t port = 8080;          ///< the server's HTTP port
  std::string mqtt_url;               ///< the server's broker, or empty
  std::string topic_prefix = "otaledger/v1/devices";
  double mqtt_share = 0.5;            ///< when mqtt_url is set
  double failure_rate = 0.02;
};

class demo {
public:
  /// Starts the demo on its own thread. The runtime and blob store must outlive it.
  static std::unique_ptr<demo> start(actors::runtime& rt, storage::blob_store& blobs,
                                     demo_options options);
  virtual ~demo() = default;
  /// Stops the fleet and joins the thread.
  virtual void stop() = 0;
};

} // namespace otaledger::sim
