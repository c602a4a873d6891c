// A whole server on loopback for the hawkBit DDI tests: a real RocksDB data
// directory, the real actor runtime (system clock), the projections' views,
// the operators' API, the canonical device routes and the DDI routes, as
// `otaledger serve` wires them. Catalog: product P1 (gateway token
// "p1-gateway-secret-0123"), firmware F11 1.1, a full package KF whose file is
// whatever the test puts into the blob store, devices D1 and D2 on 1.0 with
// target tokens.
#pragma once

#include "actors/runtime.hpp"
#include "api/auth.hpp"
#include "api/operator_routes.hpp"
#include "channel/auth.hpp"
#include "channel/ddi.hpp"
#include "channel/http_routes.hpp"
#include "channel/service.hpp"
#include "domain/commands.hpp"
#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "storage/open.hpp"
#include "tests/api/http_client.hpp"

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace otaledger::testing {

using json = nlohmann::json;

inline std::filesystem::path ddi_dir(const std::string& what) {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() /
           ("otaledger-ddi-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

/// A ddi_dir() removed with everything in it when the test ends.
struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(const std::string& what) : path(ddi_dir(what)) {}
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

/// Waits for `ready` (checked every few milliseconds) until `seconds` pass.
inline bool eventually(const std::function<bool()>& ready, int seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polling a condition
  }
  return true;
}

struct ddi_env {
  std::filesystem::path dir = ddi_dir("env");
  storage::database db;
  std::unique_ptr<actors::runtime> rt;
  std::unique_ptr<projections::projector> views;
  std::unique_ptr<channel::credential_store> creds;
  std::unique_ptr<channel::device_service> svc;
  std::unique_ptr<api::http_server> server;
  std::string op_token;
  const std::string gateway = "p1-gateway-secret-0123";
  const std::string d1_token = "d1-target-token-0123456789";
  const std::string d2_token = "d2-target-token-0123456789";
  std::mutex feedback_mutex;
  std::vector<std::pair<std::string, int>> feedback; ///< (summary, status) as answered

  explicit ddi_env(std::uint32_t poll_seconds = 1) {
    storage::options o;
    o.path = (dir / "data").string();
    o.sync = false;
    db = std::move(storage::open_database(o).value());
    actors::runtime_options ro;
    ro.io_threads = 2;
    ro.scheduler_threads = 2;
    rt = std::move(actors::runtime::start(*db.events, ro).value());
    views = std::make_unique<projections::projector>(*db.events, *db.views,
                                                     projections::make_all_views());
    BOOST_REQUIRE(views->open());
    api::token_store tokens{*db.views};
    op_token = tokens.create("alice", api::role::operator_).value();
    creds = std::make_unique<channel::credential_store>(*db.views);
    svc = std::make_unique<channel::device_service>(*rt, *creds, db.blobs.get());
    auto routes = std::make_shared<api::router>();
    api::operator_context ctx{rt.get(), db.events.get(), db.views.get(), db.blobs.get()};
    api::add_operator_routes(*routes, ctx);
    channel::add_device_routes(*routes, *svc);
    channel::ddi_options dopts;
    dopts.poll_seconds = poll_seconds;
    dopts.on_feedback = [this](const std::string&, const std::string& what, int status) {
      std::lock_guard lock{feedback_mutex};
      feedback.emplace_back(what, status);
    };
    channel::add_ddi_routes(*routes, *svc, *rt, *db.views, dopts);
    api::server_options so;
    so.port = 0;
    so.threads = 2;
    server = std::make_unique<api::http_server>(so, routes);
    BOOST_REQUIRE(server->start());
  }
  ~ddi_env() {
    server->stop();
    rt->stop();
    server.reset();
    svc.reset();
    rt.reset();
    views.reset();
    creds.reset();
    db = {};
    std::filesystem::remove_all(dir);
  }

  std::uint16_t port() const { return server->port(); }
  std::string base() const { return fmt::format("http://127.0.0.1:{}", port()); }

  void must(std::string_view name, const std::string& data) {
    std::string error;
    auto c = domain::command_from_json(name, events::json::parse(data), error);
    BOOST_REQUIRE_MESSAGE(c, "bad test command " << name << ": " << error);
    auto o = rt->execute(std::move(c).value(), events::event_meta{"operator:test", "", "", ""});
    BOOST_REQUIRE_MESSAGE(o.ok(), name << " refused: " << o.message);
  }

  /// Puts `bytes` into the blob store (as an upload would) and creates the
  /// catalog around it: P1, F11 (1.1), package KF with that file, D1 and D2.
  /// `upload`: package KF is uploaded through the operators' API instead
  /// (POST /v1/packages/upload), as an operator would store a .swu.
  storage::blob_info catalog(const std::string& bytes, const std::string& file_name,
                             bool upload = false) {
    auto w = db.blobs->begin(0).value();
    BOOST_REQUIRE(w->write(bytes));
    auto blob = w->finish().value();
    must(
        "create_product",
        fmt::format(
            R"({{"product":"P1","name":"Gateway","secret_hash":"{}","require_verification":false}})",
            channel::sha256_hex(gateway)));
    auto file = fmt::format(R"("name":"{}","size":{},"md5":"{}","sha256":"{}","blob":"{}")",
                            file_name, blob.size, blob.md5, blob.sha256, blob.id);
    must("create_firmware",
         fmt::format(R"({{"firmware":"F11","product":"P1","vendor":"acme","model":"gw",)"
                     R"("version":"1.1","image":{{{}}}}})",
                     file));
    if (upload) {
      http_client c{port()};
      auto r = c.request(
          "POST", "/v1/packages/upload?package=KF&firmware=F11&type=full&name=" + file_name, bytes,
          {{"authorization", "Bearer " + op_token}, {"content-type", "application/octet-stream"}});
      BOOST_REQUIRE_MESSAGE(r.status == 201, "upload: " << r.status << " " << r.body);
      BOOST_REQUIRE_EQUAL(json::parse(r.body)["file"]["name"], file_name);
    } else {
      must(
          "create_package",
          fmt::format(
              R"({{"package":"KF","firmware":"F11","type":"full","origin":"image","file":{{{}}}}})",
              file));
    }
    for (auto [d, t] : {std::pair{"D1", d1_token}, std::pair{"D2", d2_token}}) {
      must("register_device",
           fmt::format(R"({{"device":"{}","product":"P1","fota_version":"1.0"}})", d));
      BOOST_REQUIRE(creds->set(d, t));
    }
    return blob;
  }

  /// Creates and starts task `task` for `device` (extra settings as JSON
  /// members). No signal/battery thresholds: hawkBit clients report neither.
  void start_task(const std::string& task, const std::string& device,
                  const std::string& extra = "") {
    must("create_task",
         fmt::format(
             R"({{"task":"{}","settings":{{"name":"ddi {}","package":"KF","product":"P1",)"
             R"("targets":{{"devices":["{}"]}},"signal_threshold":0,"battery_threshold":0{}}}}})",
             task, task, device, extra.empty() ? "" : "," + extra));
    must("start_task", fmt::format(R"({{"task":"{}"}})", task));
  }

  /// The device's execution in `task` (a default one when there is none).
  domain::execution_state execution(const std::string& device, const std::string& task) {
    auto s = rt->query_sync("device-" + device);
    if (!s) return {};
    auto* d = std::get_if<domain::device_state>(&s.value());
    if (!d) return {};
    auto* x = d->execution(task);
    return x ? *x : domain::execution_state{};
  }

  events::execution_phase phase(const std::string& device, const std::string& task) {
    return execution(device, task).phase;
  }

  /// The device's audit trail: its stream's events.
  std::vector<events::envelope> trail(const std::string& device) {
    return db.events->read_stream("device-" + device, stream_version{1}, 10000).value();
  }

  /// GET /v1/audit?stream=device-<device> through the operators' API: the
  /// device's audit trail as an operator sees it (every page).
  std::vector<json> audit(const std::string& device) {
    std::vector<json> out;
    http_client c{port()};
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      auto r = c.request("GET",
                         "/v1/audit?stream=device-" + device + "&limit=200" +
                             (cursor.empty() ? "" : "&cursor=" + cursor),
                         "", {{"authorization", "Bearer " + op_token}});
      BOOST_TEST_INFO("audit: " << r.body);
      BOOST_REQUIRE_EQUAL(r.status, 200);
      auto page = json::parse(r.body);
      for (auto& item : page["items"])
        out.push_back(std::move(item));
      cursor = page.value("next", "");
      if (cursor.empty()) break;
    }
    return out;
  }

  /// GET /v1/tasks/{task}/devices through the operators' API (views caught up first).
  json task_devices(const std::string& task) {
    BOOST_REQUIRE(views->catch_up());
    http_client c{port()};
    auto r = c.request("GET", "/v1/tasks/" + task + "/devices", "",
                       {{"authorization", "Bearer " + op_token}});
    BOOST_TEST_INFO("task devices: " << r.body);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return json::parse(r.body);
  }

  /// One DDI request as device D1 (TargetToken) unless `auth` says otherwise.
  http_reply ddi(const std::string& method, const std::string& path, const std::string& body = "",
                 std::optional<std::string> auth = std::nullopt,
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
    http_client c{port()};
    auto h = extra;
    h.emplace_back("host", fmt::format("127.0.0.1:{}", port())); // as curl sends it
    auto a = auth.value_or("TargetToken " + d1_token);
    if (!a.empty()) h.emplace_back("authorization", a);
    if (!body.empty()) h.emplace_back("content-type", "application/json");
    return c.request(method, path, body, h);
  }

  std::vector<std::pair<std::string, int>> feedback_seen() {
    std::lock_guard lock{feedback_mutex};
    return feedback;
  }
};

} // namespace otaledger::testing
