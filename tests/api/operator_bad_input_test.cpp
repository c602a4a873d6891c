// The bad-input table: malformed bodies, unknown ids, wrong fields, wrong
// states. Each case answers its documented status and error code with a
// {code, message, details} body, and the log's last position is unchanged.
#include "tests/api/operator_fixture.hpp"

using namespace otaledger;
using namespace otaledger::testing;

namespace {

struct bad_case {
  const char* what;
  const char* method;
  const char* target;
  const char* body;
  int status;
  const char* code;
  const char* message_has; ///< "" any
};

const bad_case cases[] = {
    {"body is not JSON", "POST", "/v1/groups", "{not json", 400, "malformed", "not valid JSON"},
    {"body is not an object", "POST", "/v1/groups", "[1,2]", 400, "malformed", "object"},
    {"field of the wrong type", "POST", "/v1/groups", R"({"group":"G2","name":5})", 400,
     "invalid_argument", "name"},
    {"unknown field", "POST", "/v1/groups", R"({"group":"G2","name":"x","colour":"red"})", 400,
     "invalid_argument", "colour"},
    {"empty group name", "POST", "/v1/groups", R"({"group":"G2","name":""})", 400,
     "invalid_argument", ""},
    {"path-like version string", "POST", "/v1/firmware",
     R"({"firmware":"F9","vendor":"CMCC","model":"M5330","version":"../../etc"})", 400,
     "invalid_argument", ""},
    {"reason of the wrong type", "POST", "/v1/tasks/T1/start", R"({"reason":7})", 400, "malformed",
     "reason"},
    {"id in the body differs from the path", "POST", "/v1/tasks/T1/start", R"({"task":"T2"})", 400,
     "invalid_argument", "path"},
    {"unknown task", "POST", "/v1/tasks/nope/pause", "", 404, "not_found", ""},
    {"unknown task detail", "GET", "/v1/tasks/nope", "", 404, "not_found", "nope"},
    {"unknown device detail", "GET", "/v1/devices/nope", "", 404, "not_found", ""},
    {"unknown package in a task", "POST", "/v1/tasks",
     R"({"task":"T9","settings":{"name":"t","package":"nope","product":"P1","targets":{"devices":["D0"]}}})",
     404, "not_found", ""},
    {"pause of a not started task", "POST", "/v1/tasks/T1/pause", "", 409, "invalid_state",
     "not_started"},
    {"resume of a not started task", "POST", "/v1/tasks/T1/resume", "", 409, "invalid_state",
     "not_started"},
    {"cancel of a not started task", "POST", "/v1/tasks/T1/cancel", "", 409, "invalid_state",
     "not_started"},
    {"start of a stopped task", "POST", "/v1/tasks/T2/start", "", 409, "invalid_state", "stopped"},
    {"edit of a stopped task", "PUT", "/v1/tasks/T2",
     R"({"settings":{"name":"x","package":"KF","product":"P1","targets":{"devices":["D0"]}}})", 409,
     "invalid_state", "stopped"},
    {"create of an existing group", "POST", "/v1/groups", R"({"group":"G1","name":"again"})", 409,
     "already_exists", ""},
    {"delete of firmware a task uses", "DELETE", "/v1/firmware/F11", "", 409, "in_use", ""},
    {"limit out of range", "GET", "/v1/tasks?limit=0", "", 400, "malformed", "limit"},
    {"limit not a number", "GET", "/v1/tasks?limit=ten", "", 400, "malformed", "limit"},
    {"unknown phase", "GET", "/v1/tasks/T1/devices?phase=flying", "", 400, "malformed", "phase"},
    {"add all matching with an unknown filter field", "POST", "/v1/groups/G1/members/matching",
     R"({"filter":{"colour":"red"}})", 400, "invalid_argument", "colour"},
    {"add all matching that matches nothing", "POST", "/v1/groups/G1/members/matching",
     R"({"filter":{"product":"nope"}})", 404, "not_found", "no device"},
    {"device search without a filter", "GET", "/v1/devices/search", "", 400, "malformed", "imei"},
    {"device search by a malformed MAC", "GET", "/v1/devices/search?mac=zz", "", 400,
     "invalid_argument", "mac"},
    {"edit of an unknown product", "PUT", "/v1/products/nope", R"({"name":"x"})", 404,
     "not_found", "nope"},
    {"confirm of a firmware never tested", "POST", "/v1/firmware/F11/verification/confirm", "",
     409, "verification_incomplete", ""},
    {"verification on a device MAC nobody has", "POST", "/v1/firmware/F11/verification",
     R"({"device":"aa:bb:cc:dd:ee:ff"})", 404, "not_found", "MAC"},
    {"CSV export of an unknown task", "GET", "/v1/tasks/nope/devices.csv", "", 404, "not_found",
     "nope"},
    {"audit without a stream or correlation", "GET", "/v1/audit", "", 400, "malformed", "stream"},
    {"replay at a malformed time", "GET", "/v1/replay?stream=task-T1&time=yesterday", "", 400,
     "malformed", "time"},
    {"replay of a stream with no events", "GET", "/v1/replay?stream=task-nope", "", 404,
     "not_found", "task-nope"},
    {"online delta from a version that does not exist", "POST", "/v1/packages",
     R"({"firmware":"F11","origin":"generated","initial_version":"../1.0"})", 422,
     "initial_version_missing", "../1.0"},
    {"online delta with a file", "POST", "/v1/packages",
     R"({"firmware":"F11","origin":"generated","from":"F11","file":{}})", 400, "invalid_argument",
     "file"},
};

struct seeded : operator_fixture {
  seeded() {
    catalog(2);
    must("POST", "/v1/groups", R"({"group":"G1","name":"one"})", 201);
    for (const char* t : {"T1", "T2"})
      must(
          "POST", "/v1/tasks",
          std::string{R"({"task":")"} + t +
              R"(","settings":{"name":"t","package":"KF","product":"P1","targets":{"devices":["D0","D1"]}}})",
          201);
    must("POST", "/v1/tasks/T2/start");
    must("POST", "/v1/tasks/T2/cancel");
    settle();
    refresh();
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(operator_bad_input)

BOOST_FIXTURE_TEST_CASE(each_bad_request_gets_its_documented_error_and_changes_nothing, seeded) {
  for (const auto& c : cases) {
    auto head = settle();
    auto r = call(c.method, c.target, c.body, op);
    BOOST_TEST_CONTEXT(c.what << ": " << c.method << " " << c.target << " -> " << r.status << " "
                              << r.body) {
      BOOST_TEST(r.status == c.status);
      auto j = json::parse(r.body, nullptr, false);
      BOOST_REQUIRE(j.is_object());
      BOOST_TEST(j["code"] == c.code);
      BOOST_TEST(j["message"].is_string());
      BOOST_TEST(j["details"].is_object());
      BOOST_TEST(j["message"].get<std::string>().find(c.message_has) != std::string::npos);
      BOOST_TEST(settle() == head);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_body_over_the_limit_is_refused_before_it_is_read, seeded) {
  auto head = settle();
  auto r = call("POST", "/v1/groups", std::string(2 << 20, ' '), op);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(settle() == head);
}

BOOST_AUTO_TEST_SUITE_END()
