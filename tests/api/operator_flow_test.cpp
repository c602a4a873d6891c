// A whole operator session over HTTP: catalog, group, task with settings,
// start, pause, resume, cancel; lists from the views; idempotency, reasons and
// principals in the log; /openapi.json and /metrics.
#include "tests/api/operator_fixture.hpp"

using namespace otaledger;
using namespace otaledger::testing;

namespace {

/// The last event of that type on a stream, as JSON (who, why, type).
json last_event(operator_fixture& f, const std::string& stream, const std::string& type) {
  auto all = f.db.events->read_all(log_position{1}, 1'000'000).value();
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->stream == stream && it->type == type)
      return json{
          {"principal", it->meta.principal}, {"reason", it->meta.reason}, {"type", it->type}};
  return nullptr;
}

std::string task_body(const std::string& id, const std::string& extra = {}) {
  return R"({"task":")" + id + R"(","reason":"monthly rollout","settings":{"name":"rollout )" + id +
         R"(","package":"KF","product":"P1","targets":{"devices":["D0","D1"],"groups":["G1"]},"signal_threshold":5,"battery_threshold":20,"retry":{"max_retries":2,"interval_seconds":60},"timeout_minutes":30)" +
         extra + "}}";
}

/// The value of a metric line "name value" (-1 when absent).
long long metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size() + 2));
}

} // namespace

BOOST_AUTO_TEST_SUITE(operator_flow)

BOOST_FIXTURE_TEST_CASE(a_task_goes_through_start_pause_resume_cancel_over_http, operator_fixture) {
  catalog(4);
  must("POST", "/v1/groups", R"({"group":"G1","name":"Guangdong","description":"south"})", 201);
  must("POST", "/v1/groups/G1/members", R"({"devices":["D2","D3"]})");
  auto created = must("POST", "/v1/tasks", task_body("T1"), 201);
  BOOST_TEST(created["stream"] == "task-T1");

  auto detail = must("GET", "/v1/tasks/T1");
  BOOST_TEST(detail["status"] == "not_started");
  BOOST_TEST(detail["settings"]["signal_threshold"] == 5);
  BOOST_TEST(detail["settings"]["battery_threshold"] == 20);
  BOOST_TEST(detail["settings"]["timeout_minutes"] == 30);
  BOOST_TEST(detail["package"]["target_version"] == "1.1");

  must("POST", "/v1/tasks/T1/start", R"({"reason":"go"})");
  BOOST_TEST(must("GET", "/v1/tasks/T1")["status"] == "upgrading");
  // The coordinator assigns the targets after the start; a cancel that
  // overtakes it leaves none to list below.
  settle();
  must("POST", "/v1/tasks/T1/pause", {});
  BOOST_TEST(must("GET", "/v1/tasks/T1")["status"] == "paused");
  must("POST", "/v1/tasks/T1/resume", {});
  BOOST_TEST(must("GET", "/v1/tasks/T1")["status"] == "upgrading");
  must("POST", "/v1/tasks/T1/cancel", {}, 200);
  BOOST_TEST(must("GET", "/v1/tasks/T1")["status"] == "stopped");

  settle();
  refresh();
  auto list = must("GET", "/v1/tasks?status=stopped");
  BOOST_REQUIRE_EQUAL(list["items"].size(), 1u);
  BOOST_TEST(list["next"] == "");
  auto devices = must("GET", "/v1/tasks/T1/devices?limit=2");
  BOOST_TEST(devices["items"].size() == 2u);
  BOOST_TEST(devices["next"] != "");
  BOOST_TEST(devices["counts"].is_object());
  auto rest =
      must("GET", "/v1/tasks/T1/devices?limit=2&cursor=" + devices["next"].get<std::string>());
  BOOST_TEST(rest["items"].size() == 2u);
  BOOST_TEST(must("GET", "/v1/groups/G1/members")["items"].size() == 2u);
  BOOST_TEST(must("GET", "/v1/firmware?vendor=CMCC")["items"].size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(every_event_records_the_token_principal_and_the_reason, operator_fixture) {
  catalog(1);
  must("POST", "/v1/groups", R"({"group":"G1","name":"one"})", 201);
  must("POST", "/v1/tasks", task_body("T2"), 201);
  auto e = last_event(*this, "task-T2", "task.created");
  BOOST_TEST(e["principal"] == "operator:alice");
  BOOST_TEST(e["reason"] == "monthly rollout");
  auto r = call("POST", "/v1/tasks/T2/start", {}, admin, {{"x-reason", "approved by change 42"}});
  BOOST_REQUIRE_EQUAL(r.status, 200);
  e = last_event(*this, "task-T2", "task.started");
  BOOST_TEST(e["principal"] == "operator:root");
  BOOST_TEST(e["reason"] == "approved by change 42");
}

BOOST_FIXTURE_TEST_CASE(a_repeated_idempotency_key_appends_nothing, operator_fixture) {
  catalog(1);
  headers key{{"idempotency-key", "create-g7-once"}};
  auto a = call("POST", "/v1/groups", R"({"group":"G7","name":"seven"})", op, key);
  BOOST_REQUIRE_EQUAL(a.status, 201);
  BOOST_TEST(json::parse(a.body)["duplicate"] == false);
  auto head = settle();
  auto b = call("POST", "/v1/groups", R"({"group":"G7","name":"seven"})", op, key);
  BOOST_REQUIRE_EQUAL(b.status, 201);
  BOOST_TEST(json::parse(b.body)["duplicate"] == true);
  BOOST_TEST(json::parse(b.body)["last"] == json::parse(a.body)["last"]);
  // A state change repeated with its key is not refused by the new state.
  headers add{{"idempotency-key", "add-d0"}};
  BOOST_REQUIRE_EQUAL(
      call("POST", "/v1/groups/G7/members", R"({"devices":["D0"]})", op, add).status, 200);
  auto again = call("POST", "/v1/groups/G7/members", R"({"devices":["D0"]})", op, add);
  BOOST_REQUIRE_EQUAL(again.status, 200);
  BOOST_TEST(json::parse(again.body)["duplicate"] == true);
  // Without the key the same create is refused by the domain.
  auto c = call("POST", "/v1/groups", R"({"group":"G7","name":"seven"})", op);
  BOOST_TEST(c.status == 409);
  BOOST_TEST(settle().value() == head.value() + 1);
}

BOOST_FIXTURE_TEST_CASE(groups_firmware_and_packages_can_be_edited_and_deleted, operator_fixture) {
  catalog(2);
  must("POST", "/v1/groups", R"({"group":"G1","name":"one"})", 201);
  must("PUT", "/v1/groups/G1", R"({"name":"uno","description":"renamed"})");
  auto g = must("GET", "/v1/groups/G1");
  BOOST_TEST(g["name"] == "uno");
  must("POST", "/v1/groups/G1/members", R"({"devices":["D0","D1"]})");
  must("POST", "/v1/groups/G1/members/remove", R"({"devices":["D0"]})");
  BOOST_TEST(must("GET", "/v1/groups/G1")["member_count"] == 1);
  must("DELETE", "/v1/groups/G1");
  must("GET", "/v1/groups/G1", {}, 404);

  settle();
  refresh();
  auto listed = must("GET", "/v1/packages?firmware=F11");
  BOOST_REQUIRE_EQUAL(listed["items"].size(), 1u);
  BOOST_TEST(listed["items"][0]["package"] == "KF");
  BOOST_TEST(must("GET", "/v1/packages?firmware=F10")["items"].empty());
  must("DELETE", "/v1/packages/KF");
  must("GET", "/v1/packages/KF", {}, 404);
  settle();
  refresh();
  BOOST_TEST(must("GET", "/v1/packages")["items"].empty());
  must("DELETE", "/v1/firmware/F11");
  must("GET", "/v1/firmware/F11", {}, 404);
  BOOST_TEST(must("GET", "/v1/products/P1")["name"] == "Meter");
  BOOST_TEST(must("GET", "/v1/devices/D1")["fota_version"] == "1.0");
}

BOOST_FIXTURE_TEST_CASE(a_not_started_task_can_be_edited_and_deleted, operator_fixture) {
  catalog(2);
  must("POST", "/v1/groups", R"({"group":"G1","name":"one"})", 201);
  must("POST", "/v1/tasks", task_body("T3"), 201);
  must(
      "PUT", "/v1/tasks/T3",
      R"({"settings":{"name":"renamed","package":"KF","product":"P1","targets":{"devices":["D0"]},"download_only":true}})");
  auto t = must("GET", "/v1/tasks/T3");
  BOOST_TEST(t["settings"]["name"] == "renamed");
  BOOST_TEST(t["settings"]["download_only"] == true);
  must("POST", "/v1/tasks/T3/start");
  must("POST", "/v1/tasks/T3/release-install");
  BOOST_TEST(must("GET", "/v1/tasks/T3")["install_released"] == true);
  must("POST", "/v1/tasks/T3/retry-failed");
  must("POST", "/v1/tasks/T3/cancel");
  must("DELETE", "/v1/tasks/T3");
  must("GET", "/v1/tasks/T3", {}, 404);
}

BOOST_FIXTURE_TEST_CASE(the_openapi_document_lists_every_route, operator_fixture) {
  http_client c{server->port()};
  auto r = c.request("GET", "/openapi.json");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto doc = json::parse(r.body);
  BOOST_TEST(doc["openapi"] == "3.0.3");
  for (auto& [method, pattern] : routes->routes()) {
    std::string m = method;
    for (auto& ch : m)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    BOOST_TEST_INFO(method << " " << pattern);
    BOOST_TEST(doc["paths"].contains(pattern));
    BOOST_TEST(doc["paths"][pattern].contains(m));
  }
  BOOST_TEST(doc["paths"]["/v1/tasks/{id}/pause"]["post"]["x-command"] == "pause_task");
}

BOOST_FIXTURE_TEST_CASE(metrics_count_commands_rejections_and_statuses, operator_fixture) {
  catalog(1);
  must("POST", "/v1/tasks/none/pause", {}, 404);
  http_client c{server->port()};
  auto r = c.request("GET", "/metrics");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  BOOST_TEST(metric(r.body, "otaledger_commands_total") >= 5, r.body);
  BOOST_TEST(metric(r.body, "otaledger_commands_rejected_total") >= 1, r.body);
  BOOST_TEST(metric(r.body, "otaledger_http_requests_total{status=\"201\"}") == 4, r.body);
  BOOST_TEST(metric(r.body, "otaledger_http_requests_total{status=\"404\"}") == 1, r.body);
  BOOST_TEST(r.body.find("otaledger_live_actors ") != std::string::npos);
  BOOST_TEST(c.request("GET", "/healthz").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
