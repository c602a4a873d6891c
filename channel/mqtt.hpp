// The device channel over MQTT: otaledger is a client of an external broker
// (Mosquitto; scripts/mosquitto.sh runs one for tests). Same canonical JSON
// messages as HTTP (docs/device-protocol.md), QoS 1 both ways:
//
//   device -> server   otaledger/v1/devices/<id>/register | report | progress | result
//   server -> device   otaledger/v1/devices/<id>/instruction   (pushed notices)
//                      otaledger/v1/devices/<id>/reply         (one answer per message)
//
// Authentication: the broker authenticates connections, but otaledger cannot
// see who published a message, so each message carries the device secret in
// an "auth" field (register carries the product secret, as over HTTP) unless
// `trust_broker_identity` is set, for brokers whose ACL ties a client to its
// own topics (Mosquitto: `pattern write otaledger/v1/devices/%u/#`).
// A device treats the reply as the acknowledgement: no reply in time, resend
// the same message (same id; the server decides it once).
//
// The channel is also the actor system's device_port: deliver() publishes the
// instruction for a notice. It reconnects by itself (libmosquitto's loop
// thread, back-off 1 s .. `reconnect_max_seconds`) and resubscribes; its
// session is persistent (clean_session false) so messages published while it
// was away are kept by the broker for it.
//
// Threads: one libmosquitto network thread; deliver() and the service's
// callbacks publish from any thread (libmosquitto locks internally).
#pragma once

#include "actors/device_port.hpp"
#include "base/result.hpp"
#include "channel/service.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace otaledger::channel {

struct mqtt_options {
  /// Broker address, "mqtt://host:port". Default: "mqtt://127.0.0.1:1883".
  std::string url = "mqtt://127.0.0.1:1883";
  /// Client id of the server's session (one per server). Default: "otaledger-server".
  std::string client_id = "otaledger-server";
  /// Topic prefix; a device's topics are <prefix>/<device id>/<name>.
  /// Default: "otaledger/v1/devices".
  std::string topic_prefix = "otaledger/v1/devices";
  /// Broker credentials of the server (empty: anonymous). Default: none.
  std::string username, password;
  /// MQTT keep-alive. Default: 30 s.
  int keepalive_seconds = 30;
  /// Longest wait between reconnection attempts (exponential back-off from 1 s). Default: 5 s.
  unsigned reconnect_max_seconds = 5;
  /// Trust the broker to keep devices on their own topics (no "auth" field). Default: false.
  bool trust_broker_identity = false;
  /// Keep the session across reconnects (the broker queues QoS 1 messages). Default: true.
  bool persistent_session = true;
};

/// Counters for tests and metrics.
struct mqtt_stats {
  std::uint64_t connects = 0;  ///< successful (re)connections
  std::uint64_t received = 0;  ///< device messages received
  std::uint64_t refused = 0;   ///< answered with a problem
  std::uint64_t published = 0; ///< instructions and replies handed to the broker
  std::uint64_t notices_dropped =
      0; ///< notices that could not be published (no service, no package)
};

class mqtt_channel final : public actors::device_port {
public:
  /// Creates the client and starts connecting (in the background: a broker
  /// that is down now is retried). Fails only on bad options.
  static result<std::unique_ptr<mqtt_channel>> start(mqtt_options options);
  ~mqtt_channel() override;

  /// Sets the service that decides messages (the runtime needs this port
  /// before the service can exist). Messages before it are answered
  /// "unavailable"; notices before it are dropped.
  void attach(device_service* svc);

  /// Publishes the instruction for the notice (after resolving its package).
  void deliver(actors::device_notice notice) override;

  /// Whether the client is connected to the broker now.
  bool connected() const;
  mqtt_stats stats() const;
  /// Disconnects and stops the network thread. Idempotent.
  void stop();

  /// Topic of `device`'s `name` ("instruction", "reply", "report", ...).
  std::string topic(const std::string& device, std::string_view name) const;

  struct impl;

private:
  explicit mqtt_channel(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Parses "mqtt://host:port" (port default 1883).
result<std::pair<std::string, int>> parse_mqtt_url(std::string_view url);

} // namespace otaledger::channel
