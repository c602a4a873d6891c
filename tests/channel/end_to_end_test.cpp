// End to end on loopback over the REAL actor runtime and a real RocksDB data
// directory: devices self-register, report, receive an upgrade (HTTP devices
// by polling, MQTT devices by push through Mosquitto), download with a broken
// connection resumed by Range, report progress and their result; the task
// completes with every device succeeded.
#include "actors/runtime.hpp"
#include "channel/mqtt.hpp"
#include "fixture.hpp"
#include "mqtt_device.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <thread>

using namespace otaledger;
using namespace otaledger::testing;
using json = nlohmann::json;

namespace {

domain::command command(std::string_view name, const std::string& data) {
  std::string error;
  auto c = domain::command_from_json(name, events::json::parse(data), error);
  if (!c) BOOST_FAIL("bad test command " << name << ": " << error);
  return std::move(c).value();
}

struct e2e_env {
  std::filesystem::path dir = fresh_dir("e2e");
  storage::database db;
  std::unique_ptr<channel::credential_store> creds;
  std::unique_ptr<channel::mqtt_channel> mqtt;
  std::unique_ptr<actors::runtime> rt;
  std::unique_ptr<channel::device_service> svc;
  std::unique_ptr<api::http_server> server;
  std::string image;
  storage::blob_info blob;
  std::string mqtt_host;
  int mqtt_port = 0;

  explicit e2e_env(std::optional<std::string> mqtt_url) {
    storage::options o;
    o.path = dir.string();
    db = std::move(storage::open_database(o).value());
    creds = std::make_unique<channel::credential_store>(*db.views);
    image.assign(200 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < image.size(); ++i)
      image[i] = static_cast<char>(i * 131 + (i >> 7));
    auto w = db.blobs->begin(0).value();
    BOOST_REQUIRE(w->write(image));
    blob = w->finish().value();
    if (mqtt_url) {
      channel::mqtt_options mo;
      mo.url = *mqtt_url;
      mo.client_id = "otaledger-e2e-" + std::to_string(::getpid());
      mo.topic_prefix = test_topic_prefix();
      mqtt = std::move(channel::mqtt_channel::start(mo).value());
      auto hp = channel::parse_mqtt_url(*mqtt_url).value();
      mqtt_host = hp.first;
      mqtt_port = hp.second;
    }
    actors::runtime_options ro;
    ro.io_threads = 2;
    rt = std::move(actors::runtime::start(*db.events, ro, mqtt.get()).value());
    svc = std::make_unique<channel::device_service>(*rt, *creds, db.blobs.get());
    if (mqtt) mqtt->attach(svc.get());
    auto routes = std::make_shared<api::router>();
    channel::add_device_routes(*routes, *svc);
    api::server_options so;
    so.port = 0;
    so.threads = 2;
    server = std::make_unique<api::http_server>(so, routes);
    BOOST_REQUIRE(server->start());
  }
  ~e2e_env() {
    server->stop();
    if (mqtt) mqtt->stop();
    rt->stop();
    server.reset();
    svc.reset();
    rt.reset();
    mqtt.reset();
    creds.reset();
    db = {};
    std::filesystem::remove_all(dir);
  }

  void must(std::string_view name, const std::string& data) {
    auto o = rt->execute(command(name, data), events::event_meta{"operator:test", "", "", ""});
    BOOST_REQUIRE_MESSAGE(o.ok(), name << " refused: " << o.message);
  }

  void catalog() {
    must("create_product",
         fmt::format(
             R"({{"product":"P1","name":"Meter","secret_hash":"{}","require_verification":false}})",
             channel::sha256_hex("product-secret")));
    auto file = fmt::format(R"("name":"m-1.1.bin","size":{},"md5":"{}","sha256":"{}","blob":"{}")",
                            blob.size, blob.md5, blob.sha256, blob.id);
    must("create_firmware",
         fmt::format(R"({{"firmware":"F11","product":"P1","vendor":"CMCC","model":"M5330",)"
                     R"("version":"1.1","image":{{{}}}}})",
                     file));
    must("create_package",
         fmt::format(
             R"({{"package":"KF","firmware":"F11","type":"full","origin":"image","file":{{{}}}}})",
             file));
  }
};

bool wait_until_connected(channel::mqtt_channel& ch) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!ch.connected()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling a condition
  }
  return true;
}

std::string secret_of(int i) {
  return fmt::format("device-secret-{:06}", i);
}

/// One HTTP device from registration to its result.
std::string run_http_device(e2e_env& env, int i) {
  http_client c{env.server->port()};
  auto id = fmt::format("H{}", i);
  auto auth = channel_fixture::auth(secret_of(i));
  auto reg = c.request(
      "POST", "/v1/devices/register",
      fmt::format(R"({{"id":"g","device":"{}","product":"P1","product_secret":"product-secret",)"
                  R"("secret":"{}","fota_version":"1.0","region":{{"province":"GD"}}}})",
                  id, secret_of(i)));
  if (reg.status != 201) return "register: " + reg.body;
  auto rep =
      c.request("POST", "/v1/devices/" + id + "/report", R"({"id":"r0","online":true})", auth);
  if (rep.status != 200) return "report: " + rep.body;
  return {};
}

std::string finish_http_device(e2e_env& env, int i) {
  http_client c{env.server->port()};
  auto id = fmt::format("H{}", i);
  auto auth = channel_fixture::auth(secret_of(i));
  json inst;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int n = 0;; ++n) { // poll
    auto r = c.request("GET", "/v1/devices/" + id + "/instruction", {}, auth);
    auto j = json::parse(r.body);
    if (!j["instruction"].is_null()) {
      inst = j["instruction"];
      break;
    }
    if (std::chrono::steady_clock::now() > end) return "no instruction";
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the poll period
  }
  std::string url = inst["package"]["url"];
  auto half = env.image.size() / 2;
  auto h1 = auth;
  h1.emplace_back("range", fmt::format("bytes=0-{}", half - 1));
  auto a = c.request("GET", url, {}, h1);
  auto h2 = auth;
  h2.emplace_back("range", fmt::format("bytes={}-", half));
  h2.emplace_back("if-range", a.header("etag"));
  auto b = c.request("GET", url, {}, h2);
  if (a.status != 206 || b.status != 206) return "download status";
  if (channel::sha256_hex(a.body + b.body) != inst["package"]["sha256"]) return "sha256 mismatch";
  std::string task = inst["task"];
  for (auto body :
       {fmt::format(R"({{"id":"p1","task":"{}","phase":"downloading","percent":50}})", task),
        fmt::format(R"({{"id":"p2","task":"{}","phase":"downloaded"}})", task),
        fmt::format(R"({{"id":"p3","task":"{}","phase":"installing"}})", task)}) {
    auto r = c.request("POST", "/v1/devices/" + id + "/progress", body, auth);
    if (r.status != 200) return "progress: " + r.body;
  }
  auto res = c.request(
      "POST", "/v1/devices/" + id + "/result",
      fmt::format(R"({{"id":"x1","task":"{}","status":"succeeded","version":"1.1"}})", task), auth);
  if (res.status != 200) return "result: " + res.body;
  return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(device_channel_end_to_end)

BOOST_AUTO_TEST_CASE(a_task_over_http_and_mqtt_devices_completes_with_every_device_succeeded) {
  std::optional<std::string> url;
  if (const char* u = std::getenv("OTALEDGER_MQTT_URL"); u && *u)
    url = u;
  else
    BOOST_TEST_MESSAGE("OTALEDGER_MQTT_URL unset: HTTP devices only");
  e2e_env env{url};
  env.catalog();
  constexpr int http_devices = 12, mqtt_devices = 8;
  for (int i = 0; i < http_devices; ++i)
    BOOST_REQUIRE_EQUAL(run_http_device(env, i), "");
  std::vector<std::unique_ptr<mqtt_device>> mq;
  if (url) {
    BOOST_REQUIRE(wait_until_connected(*env.mqtt));
    for (int i = 0; i < mqtt_devices; ++i) {
      auto id = fmt::format("M{}", i);
      auto& d = mq.emplace_back(std::make_unique<mqtt_device>(env.mqtt_host, env.mqtt_port, id));
      BOOST_REQUIRE(d->ok());
      d->publish("register",
                 fmt::format(
                     R"({{"id":"g","device":"{}","product":"P1","product_secret":"product-secret",)"
                     R"("secret":"{}","fota_version":"1.0","region":{{"province":"GD"}}}})",
                     id, secret_of(100 + i)));
      auto r = d->next("reply");
      BOOST_REQUIRE(r);
      BOOST_REQUIRE_MESSAGE(json::parse(*r)["accepted"].get<bool>(), *r);
      d->publish("report",
                 fmt::format(R"({{"id":"r0","online":true,"auth":"{}"}})", secret_of(100 + i)));
      BOOST_REQUIRE(d->next("reply"));
    }
  }
  env.must("create_task",
           R"({"task":"T1","settings":{"name":"rollout","package":"KF","product":"P1",)"
           R"("targets":{"regions":[{"province":"GD","city":""}]}}})");
  env.must("start_task", R"({"task":"T1"})");

  std::vector<std::thread> threads;
  std::vector<std::string> errors(http_devices + mqtt_devices);
  for (int i = 0; i < http_devices; ++i)
    threads.emplace_back([&, i] { errors[i] = finish_http_device(env, i); });
  for (int i = 0; i < static_cast<int>(mq.size()); ++i)
    threads.emplace_back([&, i] {
      auto& d = *mq[i];
      auto auth = secret_of(100 + i);
      auto pushed = d.next("instruction", std::chrono::seconds(60));
      if (!pushed) {
        errors[http_devices + i] = "no instruction pushed";
        return;
      }
      auto inst = json::parse(*pushed);
      http_client c{env.server->port()};
      auto dl = c.request("GET", inst["package"]["url"], {}, channel_fixture::auth(auth));
      if (channel::sha256_hex(dl.body) != inst["package"]["sha256"]) {
        errors[http_devices + i] = "download";
        return;
      }
      std::string task = inst["task"];
      d.publish(
          "progress",
          fmt::format(R"({{"id":"p2","task":"{}","phase":"downloaded","auth":"{}"}})", task, auth));
      auto a = d.next("reply");
      d.publish(
          "progress",
          fmt::format(R"({{"id":"p3","task":"{}","phase":"installing","auth":"{}"}})", task, auth));
      auto b = d.next("reply");
      d.publish("result",
                fmt::format(
                    R"({{"id":"x1","task":"{}","status":"succeeded","version":"1.1","auth":"{}"}})",
                    task, auth));
      auto r = d.next("reply");
      if (!a || !b || !r || !json::parse(*r)["accepted"].get<bool>())
        errors[http_devices + i] = "mqtt reports: " + r.value_or("no reply");
    });
  for (auto& t : threads)
    t.join();
  for (std::size_t i = 0; i < errors.size(); ++i)
    BOOST_TEST(errors[i] == "", "device " << i << ": " << errors[i]);

  auto count = http_devices + static_cast<int>(mq.size());
  int succeeded = 0;
  for (int i = 0; i < http_devices; ++i) {
    auto d =
        std::get<domain::device_state>(env.rt->query_sync(fmt::format("device-H{}", i)).value());
    succeeded +=
        !d.executions.empty() && d.executions[0].phase == events::execution_phase::succeeded;
  }
  for (int i = 0; i < static_cast<int>(mq.size()); ++i) {
    auto d =
        std::get<domain::device_state>(env.rt->query_sync(fmt::format("device-M{}", i)).value());
    succeeded +=
        !d.executions.empty() && d.executions[0].phase == events::execution_phase::succeeded;
  }
  BOOST_TEST(succeeded == count);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  domain::task_state t;
  do {
    t = std::get<domain::task_state>(env.rt->query_sync("task-T1").value());
    if (t.status == domain::task_status::completed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling a condition
  } while (std::chrono::steady_clock::now() < end);
  BOOST_TEST((t.status == domain::task_status::completed));
}

BOOST_AUTO_TEST_SUITE_END()
