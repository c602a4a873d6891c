#include "sim/mqtt_gateway.hpp"

#include <mosquitto.h>

#include <mutex>

namespace otaledger::sim {

namespace {
std::once_flag lib_once;
constexpr std::size_t topics_per_subscribe = 200;
} // namespace

mqtt_gateway::mqtt_gateway(boost::asio::io_context& io, mqtt_gateway_options opts,
                           message_fn on_message, connected_fn on_connected)
    : io_(io), opts_(std::move(opts)), on_message_(std::move(on_message)),
      on_connected_(std::move(on_connected)) {
  std::call_once(lib_once, [] { mosquitto_lib_init(); });
  mosq_ = mosquitto_new(opts_.client_id.c_str(), false, this);
  if (!mosq_) return;
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_reconnect_delay_set(mosq_, 1, 5, true);
  mosquitto_max_inflight_messages_set(mosq_, 1000);
  mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
    static_cast<mqtt_gateway*>(self)->on_connect(rc);
  });
  mosquitto_disconnect_callback_set(mosq_, [](mosquitto*, void* self, int) {
    static_cast<mqtt_gateway*>(self)->ready_ = false;
  });
  mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int mid, int, const int*) {
    static_cast<mqtt_gateway*>(self)->on_subscribe(mid);
  });
  mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
    static_cast<mqtt_gateway*>(self)->on_message(m);
  });
}

mqtt_gateway::~mqtt_gateway() {
  stop();
  if (mosq_) mosquitto_destroy(mosq_);
}

void mqtt_gateway::add_device(const std::string& device) {
  devices_.push_back(device);
}

bool mqtt_gateway::start() {
  if (!mosq_) return false;
  started_ = true;
  mosquitto_connect_async(mosq_, opts_.host.c_str(), opts_.port, opts_.keepalive_seconds);
  return mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS;
}

void mqtt_gateway::stop() {
  if (!started_) return;
  started_ = false;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, true);
  ready_ = false;
}

void mqtt_gateway::on_connect(int rc) {
  if (rc != 0) return;
  connects_++;
  std::vector<std::string> topics;
  topics.reserve(devices_.size() * 2);
  for (const auto& d : devices_) {
    topics.push_back(opts_.topic_prefix + "/" + d + "/reply");
    topics.push_back(opts_.topic_prefix + "/" + d + "/instruction");
  }
  std::lock_guard lock{mtx_};
  pending_subs_.clear();
  for (std::size_t i = 0; i < topics.size(); i += topics_per_subscribe) {
    std::vector<char*> filters;
    for (std::size_t j = i; j < std::min(topics.size(), i + topics_per_subscribe); ++j)
      filters.push_back(topics[j].data());
    int mid = 0;
    if (mosquitto_subscribe_multiple(mosq_, &mid, static_cast<int>(filters.size()), filters.data(),
                                     1, 0, nullptr) == MOSQ_ERR_SUCCESS)
      pending_subs_.insert(mid);
  }
  if (pending_subs_.empty()) {
    ready_ = true;
    bool first = connects_ == 1;
    boost::asio::post(io_, [this, first] { on_connected_(first); });
  }
}

void mqtt_gateway::on_subscribe(int mid) {
  std::lock_guard lock{mtx_};
  if (!pending_subs_.erase(mid) || !pending_subs_.empty()) return;
  ready_ = true;
  bool first = connects_ == 1;
  boost::asio::post(io_, [this, first] { on_connected_(first); });
}

void mqtt_gateway::on_message(const mosquitto_message* m) {
  std::string_view t{m->topic};
  if (!t.starts_with(opts_.topic_prefix) || t.size() <= opts_.topic_prefix.size() + 1) return;
  auto rest = t.substr(opts_.topic_prefix.size() + 1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return;
  std::string device{rest.substr(0, slash)}, name{rest.substr(slash + 1)};
  std::string payload{static_cast<const char*>(m->payload),
                      static_cast<std::size_t>(std::max(0, m->payloadlen))};
  boost::asio::post(io_, [this, device = std::move(device), name = std::move(name),
                          payload = std::move(payload)]() mutable {
    on_message_(device, name, std::move(payload));
  });
}

void mqtt_gateway::publish(const std::string& device, const std::string& name,
                           const std::string& payload) {
  auto topic = opts_.topic_prefix + "/" + device + "/" + name;
  mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                    payload.data(), 1, false);
}

} // namespace otaledger::sim
