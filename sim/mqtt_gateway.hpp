// One MQTT connection (libmosquitto) that carries many simulated devices: a
// "gateway" in the device-protocol sense. The protocol authenticates every
// message by its "auth" field, not by the MQTT client id, so a connection may
// publish for any number of devices; it subscribes to each of its devices'
// own reply and instruction topics (exact topics, no wildcard, so no device
// sees another's messages and no message is delivered twice). A fleet of
// 10,000 MQTT devices therefore needs a handful of connections, not 10,000.
//
// Session: clean session = false with a stable client id, QoS 1 both ways;
// on every (re)connection the gateway subscribes again (a broker without
// persistence forgets subscriptions when it restarts) and reports
// `on_connected`, after which each device sends a report (the protocol's
// "after reconnecting, send a report": its reply carries any instruction
// pushed while the gateway was away).
//
// Threads: libmosquitto's network thread receives; every callback is posted
// to the io_context. publish() may be called from any thread.
#pragma once

#include <utility> // before Boost.Asio (its awaitable.hpp needs std::exchange)

#include <boost/asio.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

struct mosquitto;
struct mosquitto_message;

namespace otaledger::sim {

struct mqtt_gateway_options {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;
  std::string topic_prefix = "otaledger/v1/devices";
  int keepalive_seconds = 30;
};

class mqtt_gateway {
public:
  /// `on_message(device, name, payload)` and `on_connected(first)` run on `io`.
  using message_fn = std::function<void(const std::string&, const std::string&, std::string)>;
  using connected_fn = std::function<void(bool first)>;

  mqtt_gateway(boost::asio::io_context& io, mqtt_gateway_options opts, message_fn on_message,
               connected_fn on_connected);
  ~mqtt_gateway();

  /// Adds devices before start(): their topics are subscribed on every connection.
  void add_device(const std::string& device);
  /// Connects (in the background; retried with back-off until stop()).
  bool start();
  void stop();

  /// Publishes `payload` QoS 1 on <prefix>/<device>/<name>. While disconnected
  /// libmosquitto keeps the message and sends it on reconnection.
  void publish(const std::string& device, const std::string& name, const std::string& payload);

  bool ready() const { return ready_.load(); }
  std::uint64_t connects() const { return connects_.load(); }

private:
  void on_connect(int rc);
  void on_subscribe(int mid);
  void on_message(const mosquitto_message* m);

  boost::asio::io_context& io_;
  mqtt_gateway_options opts_;
  message_fn on_message_;
  connected_fn on_connected_;
  mosquitto* mosq_ = nullptr;
  std::vector<std::string> devices_;
  std::mutex mtx_;
  std::set<int> pending_subs_;
  std::atomic<bool> ready_{false};
  std::atomic<std::uint64_t> connects_{0};
  bool started_ = false;
};

} // namespace otaledger::sim
