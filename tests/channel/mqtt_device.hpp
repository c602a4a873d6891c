// A blocking MQTT device for tests (libmosquitto): subscribes to its
// instruction and reply topics, publishes QoS 1, waits for messages on a
// condition with a timeout (no sleeps).
#pragma once

#include <unistd.h>

#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace otaledger::testing {

/// The topic prefix of this test process: suites run in parallel against one
/// broker, so each process keeps to its own topics.
inline const std::string& test_topic_prefix() {
  static const std::string p = "otaledger-test-" + std::to_string(::getpid()) + "/v1/devices";
  return p;
}

class mqtt_device {
public:
  mqtt_device(const std::string& host, int port, const std::string& device)
      : device_(device), prefix_(test_topic_prefix() + "/" + device + "/") {
    mosquitto_lib_init();
    m_ = mosquitto_new(("test-device-" + device + "-" + std::to_string(::getpid())).c_str(), true,
                       this);
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* d = static_cast<mqtt_device*>(self);
      std::lock_guard lock{d->mutex_};
      d->inbox_.emplace_back(msg->topic, std::string{static_cast<const char*>(msg->payload),
                                                     static_cast<std::size_t>(msg->payloadlen)});
      d->cv_.notify_all();
    });
    mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* self, int, int, const int*) {
      auto* d = static_cast<mqtt_device*>(self);
      std::lock_guard lock{d->mutex_};
      d->subscribed_++;
      d->cv_.notify_all();
    });
    ok_ = mosquitto_connect(m_, host.c_str(), port, 30) == MOSQ_ERR_SUCCESS &&
          mosquitto_loop_start(m_) == MOSQ_ERR_SUCCESS;
    if (!ok_) return;
    mosquitto_subscribe(m_, nullptr, (prefix_ + "reply").c_str(), 1);
    mosquitto_subscribe(m_, nullptr, (prefix_ + "instruction").c_str(), 1);
    std::unique_lock lock{mutex_};
    ok_ = cv_.wait_for(lock, std::chrono::seconds(10), [&] { return subscribed_ == 2; });
  }
  ~mqtt_device() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, true);
    mosquitto_destroy(m_);
  }
  bool ok() const { return ok_; }

  void publish(const std::string& name, const std::string& payload) {
    mosquitto_publish(m_, nullptr, (prefix_ + name).c_str(), static_cast<int>(payload.size()),
                      payload.data(), 1, false);
  }
  /// The next message on <prefix>/<name>, or nullopt after `timeout`.
  std::optional<std::string> next(const std::string& name,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock{mutex_};
    std::optional<std::string> out;
    cv_.wait_for(lock, timeout, [&] {
      for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
        if (it->first == prefix_ + name) {
          out = it->second;
          inbox_.erase(it);
          return true;
        }
      return false;
    });
    return out;
  }

private:
  mosquitto* m_ = nullptr;
  std::string device_, prefix_;
  bool ok_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> inbox_;
  int subscribed_ = 0;
};

} // namespace otaledger::testing
