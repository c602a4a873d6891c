#include "sim/fleet.hpp"

#include "sim/http_pool.hpp"
#include "sim/mqtt_gateway.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace otaledger::sim {

namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

std::uint64_t fnv(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// A uniform number in [0, 1) from (seed, parts...).
double unit(std::uint64_t seed, std::string_view a, std::string_view b = {},
            std::uint64_t c = 0) {
  auto h = mix(fnv(b, fnv(a, mix(seed))) ^ mix(c + 0x51ed27));
  return static_cast<double>(h >> 11) / static_cast<double>(1ull << 53);
}

std::chrono::nanoseconds secs(double s) {
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::max(0.0, s) * 1e9)};
}

std::string hex(const unsigned char* p, unsigned n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

enum class stage { notified, downloading, downloaded, installing, finished };

struct job {
  std::string task;
  std::uint32_t attempt = 0;
  std::string url, sha256, target_version;
  std::uint64_t size = 0;
  bool install_allowed = true;
  bool held = false;
  bool cancel = false;
  stage at = stage::notified;
  std::uint64_t received = 0;
  unsigned next_step = 1; ///< next progress step to report
  std::string etag;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha{nullptr, &EVP_MD_CTX_free};
  bool fail_download = false, fail_install = false;
  bool install_pending = false; ///< the install timer runs
};

struct device {
  std::string id;
  std::string secret;
  bool mqtt = false;
  std::size_t gateway = 0;
  bool offline = false, low_battery = false, low_signal = false;
  bool registered = false;
  bool busy = false; ///< a message or a download request is in flight
  clock_type::time_point started, last_report;
  std::uint64_t report_seq = 0;
  std::unique_ptr<boost::asio::steady_timer> timer;  ///< ticks, back-offs, bandwidth, installs
  std::unique_ptr<boost::asio::steady_timer> waiter; ///< MQTT reply timeout
  std::optional<job> work;
  std::string last_finished; ///< "<task>/<attempt>" of the last finished job
  std::string version;       ///< the firmware version now (empty: the fleet's initial one)
  std::optional<json> deferred; ///< an instruction pushed while busy
  bool reported_recovered = false;
  // The message waiting for its reply (MQTT), resent on timeout.
  std::string pending_id, pending_name, pending_payload;
  std::function<void(int, json)> pending_done;
  bool resent = false; ///< the message in flight was sent more than once
  std::mt19937_64 rng;
};

} // namespace

struct fleet::impl {
  fleet_options o;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  std::thread thread;
  std::unique_ptr<http_pool> pool;
  std::vector<std::unique_ptr<mqtt_gateway>> gateways;
  std::vector<device> devs;
  std::unordered_map<std::string, std::size_t> index;
  mutable std::mutex mtx; // guards t
  fleet_tally t;
  bool stopping = false;
  bool running = false;

  void count(std::uint64_t fleet_tally::*f, std::uint64_t n = 1) {
    std::lock_guard lock{mtx};
    t.*f += n;
  }
  void outcome(const std::string& task, std::uint64_t task_tally::*f) {
    std::lock_guard lock{mtx};
    t.tasks[task].*f += 1;
  }

  std::string secret_of(const std::string& id) const {
    return fmt::format("sim-secret-{:016x}-{:016x}", mix(fnv(id, mix(o.seed))),
                       mix(fnv(id, mix(o.seed + 1))));
  }

  // ---- transport --------------------------------------------------------

  /// Sends a device message and calls done(status, body) once it is answered:
  /// status 200/201 accepted, another status refused (body = the problem).
  void send(device& d, const std::string& name, json msg, std::function<void(int, json)> done) {
    count(&fleet_tally::messages);
    d.busy = true;
    d.resent = false;
    if (d.mqtt) {
      if (name != "register") msg["auth"] = d.secret;
      d.pending_id = msg["id"].get<std::string>();
      d.pending_name = name;
      d.pending_payload = msg.dump();
      d.pending_done = std::move(done);
      publish_pending(d);
      return;
    }
    http_call c;
    c.method = http::verb::post;
    c.target = name == "register" ? "/v1/devices/register"
                                  : fmt::format("/v1/devices/{}/{}", d.id, name);
    c.body = msg.dump();
    if (name != "register") c.authorization = "Bearer " + d.secret;
    post_http(d, std::move(c), std::move(done));
  }

  void post_http(device& d, http_call c, std::function<void(int, json)> done) {
    auto copy = c;
    pool->request(std::move(c), [this, &d, copy = std::move(copy),
                                 done = std::move(done)](http_answer a) mutable {
      if (stopping) return;
      if (a.status == 0 || a.status == 503) {
        // No answer: the same message again, later (the server decides it once).
        count(a.status == 0 ? &fleet_tally::transport_errors : &fleet_tally::resent);
        if (a.status == 0) count(&fleet_tally::resent);
        d.resent = true;
        return later(d, o.retry_seconds, [this, &d, copy = std::move(copy),
                                          done = std::move(done)]() mutable {
          post_http(d, std::move(copy), std::move(done));
        });
      }
      d.busy = false;
      json body = json::parse(a.body, nullptr, false);
      if (body.is_discarded()) body = json::object();
      done(a.status, std::move(body));
    });
  }

  void publish_pending(device& d) {
    gateways[d.gateway]->publish(d.id, d.pending_name, d.pending_payload);
    d.waiter->expires_after(secs(o.reply_timeout_seconds));
    auto id = d.pending_id;
    d.waiter->async_wait([this, &d, id](boost::system::error_code ec) {
      if (ec || stopping || d.pending_id != id) return;
      count(&fleet_tally::resent);
      d.resent = true;
      publish_pending(d);
    });
  }

  void on_mqtt(const std::string& id, const std::string& name, std::string payload) {
    if (stopping) return;
    auto it = index.find(id);
    if (it == index.end()) return;
    auto& d = devs[it->second];
    json j = json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    if (name == "instruction") {
      // A push while a message is in flight is applied when it is answered
      // (the report after it, or the next poll, carries it again anyway).
      if (!d.busy) return on_instruction(d, j);
      d.deferred = std::move(j);
      return;
    }
    if (name != "reply") return;
    if (!j.contains("id") || !j["id"].is_string() || j["id"].get<std::string>() != d.pending_id ||
        d.pending_id.empty())
      return; // a late reply to a message already answered
    d.waiter->cancel();
    d.pending_id.clear();
    d.busy = false;
    auto done = std::move(d.pending_done);
    int status = j.value("accepted", false) ? 200 : 400;
    if (status != 200 && j.contains("error") && j["error"].is_object() &&
        j["error"].value("code", "") == "unavailable") {
      // The server was starting: resend after a back-off.
      count(&fleet_tally::resent);
      d.busy = true;
      d.pending_id = j["id"].get<std::string>();
      d.pending_done = std::move(done);
      auto pid = d.pending_id;
      later(d, o.retry_seconds, [this, &d, pid] {
        if (d.pending_id == pid) publish_pending(d);
      });
      return;
    }
    done(status, std::move(j));
  }

  template <class F> void later(device& d, double seconds, F f) {
    d.timer->expires_after(secs(seconds));
    d.timer->async_wait([this, f = std::move(f)](boost::system::error_code ec) mutable {
      if (ec || stopping) return;
      f();
    });
  }

  // ---- device behaviour ---------------------------------------------------

  void begin_later(device& d, std::size_t n) {
    double at = o.ramp_seconds * static_cast<double>(n) / static_cast<double>(devs.size());
    later(d, at, [this, &d] { begin(d); });
  }

  void on_gateway(std::size_t g, bool first) {
    if (stopping) return;
    for (std::size_t n = 0; n < devs.size(); ++n) {
      auto& d = devs[n];
      if (!d.mqtt || d.gateway != g) continue;
      if (first) {
        begin_later(d, n);
      } else if (d.busy && !d.pending_id.empty()) {
        d.resent = true;
        publish_pending(d); // the broker may have lost it: send it again now
      } else if (d.registered && !d.busy) {
        report(d); // "after (re)connecting, send a report"
      }
    }
  }

  void begin(device& d) {
    d.started = clock_type::now();
    if (!o.self_register) {
      d.registered = true;
      return first_contact(d);
    }
    json reg{{"id", "g-1"},
             {"device", d.id},
             {"product", o.product},
             {"product_secret", o.product_secret},
             {"secret", d.secret},
             {"fota_version", o.fota_version},
             {"region", {{"province", o.province}, {"city", o.city}}}};
    send(d, "register", std::move(reg), [this, &d](int status, json r) {
      bool ok = status == 200 || status == 201;
      if (!ok) {
        count(&fleet_tally::refused);
        // Refused (e.g. a wrong product secret): try again later, the operator may fix it.
        return later(d, std::max(1.0, o.poll_seconds), [this, &d] { begin(d); });
      }
      if (r.value("duplicate", false)) count(&fleet_tally::duplicates);
      d.registered = true;
      count(&fleet_tally::registered);
      first_contact(d);
    });
  }

  void first_contact(device& d) {
    if (!d.offline) return report(d);
    // An offline device says so (if it ever was online) and comes back later.
    report(d, false, [this, &d] {
      later(d, o.offline_seconds, [this, &d] { report(d); });
    });
  }

  bool low_battery_now(const device& d) const {
    return d.low_battery && clock_type::now() - d.started < secs(o.recover_seconds);
  }
  bool low_signal_now(const device& d) const {
    return d.low_signal && clock_type::now() - d.started < secs(o.recover_seconds);
  }

  void report(device& d, bool online = true, std::function<void()> then = {}) {
    d.last_report = clock_type::now();
    bool lb = low_battery_now(d), ls = low_signal_now(d);
    if ((d.low_battery || d.low_signal) && !lb && !ls) d.reported_recovered = true;
    json r{{"id", fmt::format("r-{}", ++d.report_seq)},
           {"fota_version", current_version(d)},
           {"online", online},
           {"signal", ls ? 5 : 25},
           {"battery", lb ? 15 : 80}};
    count(&fleet_tally::reports);
    send(d, "report", std::move(r), [this, &d, then = std::move(then)](int status, json body) {
      if (status != 200) count(&fleet_tally::refused);
      else if (body.value("duplicate", false))
        count(&fleet_tally::duplicates);
      if (then) return then();
      if (status == 200 && body.contains("instruction")) return on_instruction(d, body);
      idle(d);
    });
  }

  std::string current_version(const device& d) const {
    return d.version.empty() ? o.fota_version : d.version;
  }

  void poll(device& d) {
    count(&fleet_tally::polls);
    d.busy = true;
    http_call c;
    c.target = fmt::format("/v1/devices/{}/instruction", d.id);
    c.authorization = "Bearer " + d.secret;
    post_http(d, std::move(c), [this, &d](int status, json body) {
      if (status != 200) {
        count(&fleet_tally::refused);
        return idle(d);
      }
      on_instruction(d, body);
    });
  }

  /// Nothing in flight: wait for the next contact.
  void idle(device& d) {
    if (stopping || d.busy) return;
    if (take_deferred(d)) return;
    if (d.work && d.work->install_pending) return; // the install timer will report
    // The device recovered (battery, signal): say so at once, the task is waiting for it.
    bool recovering = (d.low_battery || d.low_signal) && !d.reported_recovered;
    double until_recover =
        recovering ? o.recover_seconds - std::chrono::duration<double>(clock_type::now() -
                                                                       d.started)
                                             .count()
                   : 1e18;
    double until_report =
        o.report_seconds -
        std::chrono::duration<double>(clock_type::now() - d.last_report).count();
    if (recovering && until_recover <= 0) return report(d);
    if (until_report <= 0) return report(d);
    double wait = std::min(until_recover + 0.01, until_report);
    if (!d.mqtt) wait = std::min(wait, o.poll_seconds);
    later(d, wait, [this, &d] {
      if (d.busy) return;
      bool rec = (d.low_battery || d.low_signal) && !d.reported_recovered &&
                 !low_battery_now(d) && !low_signal_now(d);
      if (rec || clock_type::now() - d.last_report >= secs(o.report_seconds)) return report(d);
      if (!d.mqtt) return poll(d);
      idle(d);
    });
  }

  void on_instruction(device& d, const json& body) {
    const json* i = &body;
    if (body.contains("instruction")) i = &body["instruction"];
    if (i->is_null()) {
      // No instruction: a job we had ended without us (canceled while notified or downloaded).
      if (d.work && d.work->at != stage::installing) finish(d, &task_tally::canceled);
      return idle(d);
    }
    if (!i->is_object()) return idle(d);
    count(&fleet_tally::instructions);
    auto kind = i->value("kind", "");
    auto task = i->value("task", "");
    auto attempt = i->value("attempt", 0u);
    auto key = fmt::format("{}/{}", task, attempt);
    bool same = d.work && d.work->task == task && d.work->attempt == attempt;
    if (!same) {
      if (key == d.last_finished) return idle(d); // a stale push
      if (kind == "cancel") return idle(d);        // never started: nothing to stop
      start_job(d, *i);
    }
    auto& w = *d.work;
    w.install_allowed = i->value("install_allowed", w.install_allowed);
    if (kind == "hold") {
      if (!w.held) outcome(w.task, &task_tally::held);
      w.held = true;
    } else if (kind == "cancel") {
      w.cancel = true;
    } else {
      w.held = false; // upgrade, release, install_release
    }
    advance(d);
  }

  void start_job(device& d, const json& i) {
    job w;
    w.task = i.value("task", "");
    w.attempt = i.value("attempt", 0u);
    const auto& p = i.contains("package") && i["package"].is_object() ? i["package"] : json::object();
    w.url = p.value("url", "");
    w.sha256 = p.value("sha256", "");
    w.size = p.value("size", std::uint64_t{0});
    w.target_version = p.value("target_version", "");
    w.sha.reset(EVP_MD_CTX_new());
    EVP_DigestInit_ex(w.sha.get(), EVP_sha256(), nullptr);
    w.fail_download = unit(o.seed, d.id, w.task, w.attempt * 2) < o.download_failure_rate;
    w.fail_install = unit(o.seed, d.id, w.task, w.attempt * 2 + 1) < o.failure_rate;
    d.work = std::move(w);
  }

  void finish(device& d, std::uint64_t task_tally::*f) {
    auto& w = *d.work;
    outcome(w.task, f);
    d.last_finished = fmt::format("{}/{}", w.task, w.attempt);
    if (f == &task_tally::succeeded) d.version = w.target_version;
    d.work.reset();
  }

  /// A progress or result message of the current job; refusals are handled here.
  void job_message(device& d, const std::string& name, json m, std::function<void()> next) {
    auto task = d.work->task;
    auto attempt = d.work->attempt;
    std::string m_status = m.value("status", "");
    send(d, name, std::move(m),
         [this, &d, task, attempt, name, m_status, next = std::move(next)](int status, json r) {
           if (!d.work || d.work->task != task || d.work->attempt != attempt) return idle(d);
           if (status == 200) {
             if (r.value("duplicate", false)) count(&fleet_tally::duplicates);
             return next();
           }
           count(&fleet_tally::refused);
           auto code = r.contains("error") && r["error"].is_object()
                           ? r["error"].value("code", "")
                           : std::string{};
           if (code == "execution_finished" && name == "result" && d.resent) {
             // Our first send may have been recorded before its answer was lost.
             finish(d, m_status == "succeeded" ? &task_tally::unconfirmed_succeeded
                                               : &task_tally::unconfirmed_failed);
             return idle(d);
           }
           if (code == "execution_finished" || code == "no_execution") {
             // The server ended the execution (canceled, timed out): stop.
             finish(d, &task_tally::canceled);
             return idle(d);
           }
           if (code == "install_not_allowed") {
             d.work->held = true; // paused, canceled or not released: ask what to do
             if (d.mqtt) return report(d);
             return poll(d);
           }
           // out_of_order, invalid_state, ...: ask what the server wants now.
           if (d.mqtt) return report(d);
           poll(d);
         });
  }

  /// Applies an instruction pushed while the device was busy.
  bool take_deferred(device& d) {
    if (!d.deferred) return false;
    auto j = std::move(*d.deferred);
    d.deferred.reset();
    on_instruction(d, j);
    return true;
  }

  void advance(device& d) {
    if (stopping || d.busy) return;
    if (take_deferred(d)) return;
    if (!d.work) return idle(d);
    auto& w = *d.work;
    switch (w.at) {
    case stage::notified: {
      if (w.cancel) {
        finish(d, &task_tally::canceled);
        return idle(d);
      }
      count(&fleet_tally::downloads);
      json m{{"id", fmt::format("p-{}-{}-d0", w.task, w.attempt)},
             {"task", w.task},
             {"phase", "downloading"},
             {"percent", 0}};
      return job_message(d, "progress", std::move(m), [this, &d] {
        d.work->at = stage::downloading;
        fetch(d);
      });
    }
    case stage::downloading:
      return fetch(d);
    case stage::downloaded:
      if (w.cancel) {
        finish(d, &task_tally::canceled);
        return idle(d);
      }
      if (w.held || !w.install_allowed) return idle(d);
      return job_message(d, "progress",
                         json{{"id", fmt::format("p-{}-{}-i", w.task, w.attempt)},
                              {"task", w.task},
                              {"phase", "installing"}},
                         [this, &d] {
                           d.work->at = stage::installing;
                           d.work->install_pending = true;
                           later(d, o.install_seconds, [this, &d] {
                             if (!d.work) return idle(d);
                             d.work->install_pending = false;
                             result(d);
                           });
                         });
    case stage::installing:
      if (w.install_pending) return; // the install timer will report
      return result(d);
    case stage::finished:
      return;
    }
  }

  void result(device& d) {
    auto& w = *d.work;
    json m{{"id", fmt::format("x-{}-{}", w.task, w.attempt)}, {"task", w.task}};
    bool ok = !w.fail_install;
    if (ok) {
      m["status"] = "succeeded";
      m["version"] = w.target_version;
    } else {
      m["status"] = "failed";
      m["code"] = "install_failed";
      m["text"] = "simulated install failure";
    }
    job_message(d, "result", std::move(m), [this, &d, ok] {
      finish(d, ok ? &task_tally::succeeded : &task_tally::failed);
      idle(d);
    });
  }

  void fetch(device& d) {
    auto& w = *d.work;
    if (w.received >= w.size) return downloaded(d);
    auto last = std::min<std::uint64_t>(w.size, w.received + o.chunk_bytes) - 1;
    http_call c;
    c.target = w.url;
    c.authorization = "Bearer " + d.secret;
    c.range = fmt::format("bytes={}-{}", w.received, last);
    if (!w.etag.empty()) c.if_range = w.etag;
    bool broken = std::uniform_real_distribution<double>{0, 1}(d.rng) < o.broken_download_rate;
    c.close_after = broken;
    d.busy = true;
    auto task = w.task;
    auto attempt = w.attempt;
    pool->request(std::move(c), [this, &d, broken, task, attempt](http_answer a) {
      if (stopping) return;
      d.busy = false;
      if (!d.work || d.work->task != task || d.work->attempt != attempt) return idle(d);
      auto& w = *d.work;
      if (a.status == 0 || a.status == 503) {
        count(&fleet_tally::transport_errors);
        return later(d, o.retry_seconds, [this, &d] { advance(d); });
      }
      if (a.status == 404 || a.status == 410 || a.status == 401) {
        // No running execution of this package any more: ask what to do.
        count(&fleet_tally::refused);
        if (d.mqtt) return report(d);
        return poll(d);
      }
      std::string_view body = a.body;
      if (a.status == 200) {
        // The whole file (the validator changed, or no range): start over.
        w.received = 0;
        EVP_DigestInit_ex(w.sha.get(), EVP_sha256(), nullptr);
      } else if (a.status != 206) {
        count(&fleet_tally::refused);
        return later(d, o.retry_seconds, [this, &d] { advance(d); });
      }
      if (!a.etag.empty()) w.etag = a.etag;
      if (broken && body.size() > 1) {
        // The connection broke: the device kept only part of the chunk.
        body = body.substr(0, static_cast<std::size_t>(d.rng() % body.size()));
        count(&fleet_tally::broken);
      }
      EVP_DigestUpdate(w.sha.get(), body.data(), body.size());
      w.received += body.size();
      count(&fleet_tally::bytes, body.size());
      double delay = o.bandwidth > 0 ? static_cast<double>(body.size()) / o.bandwidth : 0.0;
      // Progress milestones (besides 0 % and "downloaded").
      unsigned steps = o.progress_steps;
      if (steps > 0 && w.size > 0 && w.next_step <= steps && w.received < w.size) {
        unsigned pct = static_cast<unsigned>(w.received * 100 / w.size);
        unsigned milestone = w.next_step * 100 / (steps + 1);
        if (pct >= milestone) {
          w.next_step = pct * (steps + 1) / 100 + 1;
          json m{{"id", fmt::format("p-{}-{}-d{}", w.task, w.attempt, pct)},
                 {"task", w.task},
                 {"phase", "downloading"},
                 {"percent", pct}};
          return job_message(d, "progress", std::move(m), [this, &d, delay] {
            later(d, delay, [this, &d] { advance(d); });
          });
        }
      }
      if (delay > 0) return later(d, delay, [this, &d] { advance(d); });
      fetch(d);
    });
  }

  void downloaded(device& d) {
    auto& w = *d.work;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(w.sha.get(), md, &n);
    bool good = hex(md, n) == w.sha256;
    if (!good) count(&fleet_tally::checksum_errors);
    count(&fleet_tally::downloads_completed);
    if (!good || w.fail_download) {
      json m{{"id", fmt::format("x-{}-{}", w.task, w.attempt)},
             {"task", w.task},
             {"status", "failed"},
             {"code", "checksum_mismatch"},
             {"text", good ? "simulated checksum mismatch" : "sha256 mismatch"}};
      return job_message(d, "result", std::move(m), [this, &d] {
        finish(d, &task_tally::failed);
        idle(d);
      });
    }
    json m{{"id", fmt::format("p-{}-{}-dd", w.task, w.attempt)},
           {"task", w.task},
           {"phase", "downloaded"}};
    job_message(d, "progress", std::move(m), [this, &d] {
      d.work->at = stage::downloaded;
      advance(d);
    });
  }
};

} // namespace otaledger::sim

namespace otaledger::sim {

nlohmann::json fleet_tally::to_json() const {
  nlohmann::json tasks_j = nlohmann::json::object();
  for (const auto& [id, t] : tasks)
    tasks_j[id] = {{"succeeded", t.succeeded},
                   {"failed", t.failed},
                   {"canceled", t.canceled},
                   {"held", t.held},
                   {"unconfirmed_succeeded", t.unconfirmed_succeeded},
                   {"unconfirmed_failed", t.unconfirmed_failed}};
  return {{"devices", devices},
          {"http_devices", http_devices},
          {"mqtt_devices", mqtt_devices},
          {"registered", registered},
          {"offline", offline},
          {"low_battery", low_battery},
          {"low_signal", low_signal},
          {"messages", messages},
          {"resent", resent},
          {"duplicates", duplicates},
          {"refused", refused},
          {"reports", reports},
          {"polls", polls},
          {"instructions", instructions},
          {"downloads", downloads},
          {"downloads_completed", downloads_completed},
          {"broken_connections", broken},
          {"bytes", bytes},
          {"checksum_errors", checksum_errors},
          {"transport_errors", transport_errors},
          {"mqtt_connects", mqtt_connects},
          {"tasks", tasks_j}};
}

fleet::fleet(fleet_options o) : impl_(std::make_unique<impl>()) {
  impl_->o = std::move(o);
}

fleet::~fleet() {
  stop();
}

std::string fleet::device_id(std::uint64_t n) const {
  return impl_->o.id_prefix + std::to_string(n);
}

std::string fleet::device_secret(const std::string& device) const {
  return impl_->secret_of(device);
}

bool fleet::uses_mqtt(std::uint64_t n) const {
  const auto& o = impl_->o;
  if (o.mqtt_url.empty() || o.mqtt_share <= 0) return false;
  return unit(o.seed, device_id(n), "mqtt") < o.mqtt_share;
}

namespace {
bool parse_host_port(std::string_view url, std::string_view scheme, std::string& host, int& port) {
  if (!url.starts_with(scheme)) return false;
  auto hp = url.substr(scheme.size());
  while (!hp.empty() && hp.back() == '/')
    hp.remove_suffix(1);
  auto colon = hp.rfind(':');
  if (colon == std::string_view::npos) return false;
  host = std::string{hp.substr(0, colon)};
  auto p = hp.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  return ec == std::errc{} && end == p.data() + p.size() && port > 0 && port < 65536 &&
         !host.empty();
}
} // namespace

std::string fleet::start() {
  auto& s = *impl_;
  auto& o = s.o;
  if (s.running) return "the fleet is running already";
  auto rate_ok = [](double r) { return r >= 0 && r <= 1; };
  for (auto [name, r] : {std::pair{"mqtt share", o.mqtt_share},
                         {"failure rate", o.failure_rate},
                         {"download failure rate", o.download_failure_rate},
                         {"offline rate", o.offline_rate},
                         {"low-battery rate", o.low_battery_rate},
                         {"low-signal rate", o.low_signal_rate},
                         {"broken-download rate", o.broken_download_rate}})
    if (!rate_ok(r)) return fmt::format("{} must be between 0 and 1, got {}", name, r);
  if (o.devices == 0) return "the fleet needs at least one device";
  if (o.mqtt_share > 0 && o.mqtt_url.empty()) return "an MQTT share needs --mqtt URL";
  if (o.chunk_bytes == 0) return "the chunk size must be at least 1 byte";
  if (o.self_register && o.product_secret.empty())
    return "self-registration needs the product secret (--product-secret)";
  std::string host;
  int port = 0;
  if (!parse_host_port(o.server, "http://", host, port))
    return fmt::format("server must be http://HOST:PORT, got '{}'", o.server);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return fmt::format("server host must be an IP address or localhost, got '{}'", host);
  s.pool = std::make_unique<http_pool>(s.io, boost::asio::ip::tcp::endpoint{addr, 
      static_cast<unsigned short>(port)}, o.http_connections);

  std::size_t n_gw = 0;
  if (o.mqtt_share > 0) {
    std::string mhost;
    int mport = 0;
    if (!parse_host_port(o.mqtt_url, "mqtt://", mhost, mport))
      return fmt::format("mqtt must be mqtt://HOST:PORT, got '{}'", o.mqtt_url);
    n_gw = std::max<std::size_t>(1, o.mqtt_connections);
    for (std::size_t g = 0; g < n_gw; ++g) {
      mqtt_gateway_options go;
      go.host = mhost;
      go.port = mport;
      go.client_id = fmt::format("{}-{}-{}", o.mqtt_client_prefix, o.id_prefix, g);
      go.topic_prefix = o.topic_prefix;
      s.gateways.push_back(std::make_unique<mqtt_gateway>(
          s.io, go,
          [p = &s](const std::string& d, const std::string& name, std::string payload) {
            p->on_mqtt(d, name, std::move(payload));
          },
          [p = &s, g](bool first) { p->on_gateway(g, first); }));
    }
  }
  s.devs.resize(o.devices);
  s.t = {};
  s.t.devices = o.devices;
  std::uint64_t mqtt_index = 0;
  for (std::uint64_t n = 0; n < o.devices; ++n) {
    auto& d = s.devs[n];
    d.id = device_id(n);
    d.secret = s.secret_of(d.id);
    d.mqtt = uses_mqtt(n);
    if (d.mqtt) {
      d.gateway = mqtt_index++ % n_gw;
      s.gateways[d.gateway]->add_device(d.id);
    }
    d.offline = unit(o.seed, d.id, "offline") < o.offline_rate;
    d.low_battery = unit(o.seed, d.id, "battery") < o.low_battery_rate;
    d.low_signal = unit(o.seed, d.id, "signal") < o.low_signal_rate;
    d.rng.seed(mix(fnv(d.id, mix(o.seed + 7))));
    d.timer = std::make_unique<boost::asio::steady_timer>(s.io);
    d.waiter = std::make_unique<boost::asio::steady_timer>(s.io);
    s.index.emplace(d.id, n);
    (d.mqtt ? s.t.mqtt_devices : s.t.http_devices)++;
    s.t.offline += d.offline;
    s.t.low_battery += d.low_battery;
    s.t.low_signal += d.low_signal;
  }
  s.guard.emplace(s.io.get_executor());
  s.running = true;
  s.stopping = false;
  // HTTP devices begin at once (spread over the ramp); MQTT devices when their
  // gateway has subscribed their topics.
  boost::asio::post(s.io, [p = &s] {
    for (std::size_t n = 0; n < p->devs.size(); ++n)
      if (!p->devs[n].mqtt) p->begin_later(p->devs[n], n);
  });
  for (auto& g : s.gateways)
    if (!g->start()) return "cannot start the MQTT client";
  s.thread = std::thread{[p = &s] { p->io.run(); }};
  return {};
}

void fleet::stop() {
  auto& s = *impl_;
  if (!s.running) return;
  s.running = false;
  for (auto& g : s.gateways)
    g->stop();
  boost::asio::post(s.io, [p = &s] {
    p->stopping = true;
    for (auto& d : p->devs) {
      d.timer->cancel();
      d.waiter->cancel();
    }
    p->pool->close();
    p->guard.reset();
  });
  if (s.thread.joinable()) s.thread.join();
  s.io.stop();
  std::uint64_t connects = 0;
  for (auto& g : s.gateways)
    connects += g->connects();
  std::lock_guard lock{s.mtx};
  s.t.mqtt_connects = connects;
}

fleet_tally fleet::tally() const {
  std::lock_guard lock{impl_->mtx};
  auto t = impl_->t;
  std::uint64_t connects = 0;
  for (auto& g : impl_->gateways)
    connects += g->connects();
  t.mqtt_connects = connects;
  return t;
}

std::uint64_t fleet::finished(const std::string& task) const {
  std::lock_guard lock{impl_->mtx};
  auto it = impl_->t.tasks.find(task);
  if (it == impl_->t.tasks.end()) return 0;
  return it->second.succeeded + it->second.failed + it->second.canceled +
         it->second.unconfirmed_succeeded + it->second.unconfirmed_failed;
}

} // namespace otaledger::sim
