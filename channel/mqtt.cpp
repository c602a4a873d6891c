#include "channel/mqtt.hpp"

#include "base/errc.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>
#include <mosquitto.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <iostream>
#include <mutex>

namespace otaledger::channel {

namespace {

std::once_flag lib_once;

std::string with_instruction(std::string accepted, const std::optional<instruction>& i) {
  accepted.pop_back(); // '}'
  accepted += ",\"instruction\":";
  accepted += i ? encode_instruction(*i) : std::string{"null"};
  accepted += '}';
  return accepted;
}

} // namespace

struct mqtt_channel::impl {
  mqtt_options opts;
  mosquitto* mosq = nullptr;
  std::atomic<device_service*> svc{nullptr};
  std::atomic<bool> connected{false};
  std::atomic<bool> stopped{false};
  std::atomic<std::uint64_t> connects{0}, received{0}, refused{0}, published{0}, dropped{0};

  std::string topic(const std::string& device, std::string_view name) const {
    return fmt::format("{}/{}/{}", opts.topic_prefix, device, name);
  }

  void publish(const std::string& topic, const std::string& payload) {
    int rc = mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                               payload.data(), 1, false);
    // While disconnected libmosquitto queues QoS 1 messages and sends them on
    // reconnect; any other failure is dropped (the device polls or resends).
    if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN)
      published++;
    else
      dropped++;
  }

  void answer(const std::string& device, std::string_view id, const problem& p) {
    refused++;
    publish(topic(device, "reply"), encode_problem(id, p));
  }

  void on_connect(int rc) {
    if (rc != 0) return;
    connected = true;
    connects++;
    std::string f[5];
    char* filters[5];
    int i = 0;
    for (auto t : {message_type::registration, message_type::report, message_type::progress,
                   message_type::result, message_type::note}) {
      f[i] = fmt::format("{}/+/{}", opts.topic_prefix, to_name(t));
      filters[i] = f[i].data();
      ++i;
    }
    mosquitto_subscribe_multiple(mosq, nullptr, i, filters, 1, 0, nullptr);
  }

  void on_message(const mosquitto_message* m) {
    std::string_view full{m->topic};
    if (!full.starts_with(opts.topic_prefix) || full.size() <= opts.topic_prefix.size() + 1) return;
    auto rest = full.substr(opts.topic_prefix.size() + 1); // <id>/<name>
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return;
    std::string device{rest.substr(0, slash)};
    auto type = message_type_from_name(rest.substr(slash + 1));
    if (!type || !domain::is_valid_id(device)) return;
    received++;
    std::string_view text{static_cast<const char*>(m->payload),
                          static_cast<std::size_t>(std::max(0, m->payloadlen))};
    auto* s = svc.load();
    if (!s) return answer(device, "", make_problem(errc::unavailable, "the server is starting"));
    if (*type == message_type::registration) return on_register(*s, device, text);
    std::string auth;
    auto msg = decode_message(*type, text, s->options().codec,
                              opts.trust_broker_identity ? std::string_view{} : "auth", &auth);
    if (!msg) return answer(device, "", msg.error());
    if (!opts.trust_broker_identity) {
      auto a = s->authenticate(device, auth);
      if (!a) return answer(device, message_id(msg.value()), a.error());
    }
    bool is_report = *type == message_type::report;
    s->handle(device, std::move(msg.value()), [this, s, device, is_report](reply r) {
      if (!r.ok()) return answer(device, r.id, *r.error);
      auto body = encode_accepted(r.id, r.duplicate);
      if (!is_report) return publish(topic(device, "reply"), body);
      s->current_instruction(device, [this, device, body = std::move(body)](
                                         checked<std::optional<instruction>> i) mutable {
        publish(topic(device, "reply"),
                with_instruction(std::move(body), i ? i.value() : std::nullopt));
      });
    });
  }

  void on_register(device_service& s, const std::string& device, std::string_view text) {
    auto r = decode_registration(text, s.options().codec);
    if (!r) return answer(device, "", r.error());
    if (r.value().device != device)
      return answer(device, r.value().id,
                    make_problem(errc::malformed, "device must equal the topic's device id"));
    auto id = r.value().id;
    s.register_device(std::move(r.value()), [this, device, id](checked<registration_reply> out) {
      if (!out) return answer(device, id, out.error());
      nlohmann::ordered_json j{{"id", id},
                               {"accepted", true},
                               {"device", out.value().device},
                               {"created", out.value().created}};
      if (!out.value().secret.empty()) j["secret"] = out.value().secret;
      publish(topic(device, "reply"), j.dump());
    });
  }
};

result<std::pair<std::string, int>> parse_mqtt_url(std::string_view url) {
  constexpr std::string_view scheme = "mqtt://";
  if (!url.starts_with(scheme)) return base::errc::invalid_argument;
  auto hostport = url.substr(scheme.size());
  if (!hostport.empty() && hostport.back() == '/') hostport.remove_suffix(1);
  int port = 1883;
  auto colon = hostport.rfind(':');
  std::string_view host = hostport;
  if (colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    auto p = hostport.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc{} || end != p.data() + p.size() || port <= 0 || port > 65535)
      return base::errc::invalid_argument;
  }
  if (host.empty()) return base::errc::invalid_argument;
  return std::pair{std::string{host}, port};
}

result<std::unique_ptr<mqtt_channel>> mqtt_channel::start(mqtt_options options) {
  OTA_TRY(hp, parse_mqtt_url(options.url));
  std::call_once(lib_once, [] { mosquitto_lib_init(); });
  auto p = std::make_unique<impl>();
  p->opts = std::move(options);
  p->mosq = mosquitto_new(p->opts.client_id.c_str(), !p->opts.persistent_session, p.get());
  if (!p->mosq) return base::errc::internal;
  mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!p->opts.username.empty())
    mosquitto_username_pw_set(p->mosq, p->opts.username.c_str(), p->opts.password.c_str());
  mosquitto_reconnect_delay_set(p->mosq, 1, std::max(1u, p->opts.reconnect_max_seconds), true);
  mosquitto_max_inflight_messages_set(p->mosq, 1000);
  mosquitto_connect_callback_set(
      p->mosq, [](mosquitto*, void* self, int rc) { static_cast<impl*>(self)->on_connect(rc); });
  mosquitto_disconnect_callback_set(
      p->mosq, [](mosquitto*, void* self, int) { static_cast<impl*>(self)->connected = false; });
  mosquitto_message_callback_set(p->mosq, [](mosquitto*, void* self, const mosquitto_message* m) {
    static_cast<impl*>(self)->on_message(m);
  });
  // A broker that is down now is retried by the loop thread.
  mosquitto_connect_async(p->mosq, hp.first.c_str(), hp.second, p->opts.keepalive_seconds);
  if (mosquitto_loop_start(p->mosq) != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(p->mosq);
    return base::errc::internal;
  }
  return std::unique_ptr<mqtt_channel>{new mqtt_channel{std::move(p)}};
}

mqtt_channel::mqtt_channel(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

mqtt_channel::~mqtt_channel() {
  stop();
  mosquitto_destroy(impl_->mosq);
}

void mqtt_channel::stop() {
  if (impl_->stopped.exchange(true)) return;
  mosquitto_disconnect(impl_->mosq);
  mosquitto_loop_stop(impl_->mosq, true);
  impl_->connected = false;
}

void mqtt_channel::attach(device_service* svc) {
  impl_->svc = svc;
}

bool mqtt_channel::connected() const {
  return impl_->connected.load();
}

mqtt_stats mqtt_channel::stats() const {
  return {impl_->connects.load(), impl_->received.load(), impl_->refused.load(),
          impl_->published.load(), impl_->dropped.load()};
}

std::string mqtt_channel::topic(const std::string& device, std::string_view name) const {
  return impl_->topic(device, name);
}

void mqtt_channel::deliver(actors::device_notice notice) {
  auto* s = impl_->svc.load();
  if (!s || impl_->stopped) {
    impl_->dropped++;
    return;
  }
  auto device = notice.device;
  s->instruction_for(notice, [p = impl_.get(), device](checked<instruction> i) {
    if (!i) {
      p->dropped++;
      return;
    }
    p->publish(p->topic(device, "instruction"), encode_instruction(i.value()));
  });
}

} // namespace otaledger::channel
