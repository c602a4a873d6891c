#include "fixture.hpp"

#include <nlohmann/json.hpp>

using namespace otaledger;
using namespace otaledger::testing;
using json = nlohmann::json;

namespace {

std::string error_code(const http_reply& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "<none: " + r.body + ">";
  return j["error"]["code"].get<std::string>();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_device_channel, channel_fixture)

BOOST_AUTO_TEST_CASE(a_report_without_or_with_a_wrong_secret_is_refused_401_and_changes_nothing) {
  http_client c{server->port()};
  auto before = appended("device-d1");
  auto none = c.request("POST", "/v1/devices/d1/report", R"({"id":"r1","fota_version":"1.2"})");
  BOOST_TEST(none.status == 401);
  BOOST_TEST(error_code(none) == "unauthorized");
  BOOST_TEST(none.header("www-authenticate") != "");
  auto wrong = c.request("POST", "/v1/devices/d1/report", R"({"id":"r1","fota_version":"1.2"})",
                         auth(d2_secret));
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(appended("device-d1") == before);
}

BOOST_AUTO_TEST_CASE(a_report_is_decided_and_answered_with_the_current_instruction) {
  http_client c{server->port()};
  auto r = c.request("POST", "/v1/devices/d1/report", R"({"id":"r1","signal":30,"battery":90})",
                     auth(d1_secret));
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto j = json::parse(r.body);
  BOOST_TEST(j["accepted"].get<bool>());
  auto i = j["instruction"];
  BOOST_TEST(i["kind"] == "upgrade");
  BOOST_TEST(i["task"] == "t1");
  BOOST_TEST(i["package"]["size"].get<std::uint64_t>() == image.size());
  BOOST_TEST(i["package"]["sha256"] == blob.sha256);
  BOOST_TEST(i["package"]["md5"] == blob.md5);
  BOOST_TEST(i["package"]["url"] == "/v1/devices/d1/packages/k1");
  auto d2 = c.request("GET", "/v1/devices/d2/instruction", {}, auth(d2_secret));
  BOOST_TEST(d2.status == 200);
  BOOST_TEST(d2.body == R"({"instruction":null})");
}

BOOST_AUTO_TEST_CASE(a_whole_upgrade_goes_through_progress_and_result_then_reports_are_gone) {
  http_client c{server->port()};
  auto post = [&](const std::string& what, const std::string& body) {
    return c.request("POST", "/v1/devices/d1/" + what, body, auth(d1_secret));
  };
  BOOST_TEST(
      post("progress", R"({"id":"p1","task":"t1","phase":"downloading","percent":10})").status ==
      200);
  BOOST_TEST(post("progress", R"({"id":"p2","task":"t1","phase":"downloaded"})").status == 200);
  BOOST_TEST(post("progress", R"({"id":"p3","task":"t1","phase":"installing"})").status == 200);
  auto done = post("result", R"({"id":"x1","task":"t1","status":"succeeded","version":"1.1"})");
  BOOST_TEST_REQUIRE(done.status == 200, done.body);
  auto d = std::get<domain::device_state>(rt->query_sync("device-d1").value());
  BOOST_TEST((d.executions.at(0).phase == events::execution_phase::succeeded));
  BOOST_TEST(d.fota_version == "1.1");
  auto late = post("progress", R"({"id":"p4","task":"t1","phase":"installing"})");
  BOOST_TEST(late.status == 410);
  BOOST_TEST(error_code(late) == "execution_finished");
  auto none = c.request("GET", "/v1/devices/d1/instruction", {}, auth(d1_secret));
  BOOST_TEST(none.body == R"({"instruction":null})");
}

BOOST_AUTO_TEST_CASE(progress_that_goes_back_is_refused_out_of_order_and_changes_nothing) {
  http_client c{server->port()};
  auto post = [&](const std::string& body) {
    return c.request("POST", "/v1/devices/d1/progress", body, auth(d1_secret));
  };
  BOOST_TEST(post(R"({"id":"p1","task":"t1","phase":"downloaded"})").status == 200);
  auto before = appended("device-d1");
  auto back = post(R"({"id":"p2","task":"t1","phase":"downloading","percent":60})");
  BOOST_TEST(back.status == 409);
  BOOST_TEST(error_code(back) == "out_of_order");
  BOOST_TEST(appended("device-d1") == before);
}

BOOST_AUTO_TEST_CASE(a_result_for_a_task_the_device_is_not_in_is_refused_404) {
  http_client c{server->port()};
  auto before = appended("device-d2");
  auto r =
      c.request("POST", "/v1/devices/d2/result",
                R"({"id":"x1","task":"t1","status":"succeeded","version":"1.1"})", auth(d2_secret));
  BOOST_TEST(r.status == 404);
  BOOST_TEST(error_code(r) == "no_execution");
  BOOST_TEST(appended("device-d2") == before);
}

BOOST_AUTO_TEST_CASE(a_replayed_message_id_is_answered_as_a_duplicate_and_appends_nothing) {
  http_client c{server->port()};
  auto body = R"({"id":"p1","task":"t1","phase":"downloading","percent":10})";
  auto first = c.request("POST", "/v1/devices/d1/progress", body, auth(d1_secret));
  BOOST_TEST(first.status == 200);
  auto after_first = appended("device-d1");
  auto again = c.request("POST", "/v1/devices/d1/progress", body, auth(d1_secret));
  BOOST_TEST(again.status == 200);
  BOOST_TEST(json::parse(again.body)["duplicate"].get<bool>());
  BOOST_TEST(appended("device-d1") == after_first);
}

BOOST_AUTO_TEST_CASE(a_note_lands_in_the_devices_stream_and_changes_no_state) {
  http_client c{server->port()};
  auto post = [&](const std::string& body) {
    return c.request("POST", "/v1/devices/d1/note", body, auth(d1_secret));
  };
  auto before_state = std::get<domain::device_state>(rt->query_sync("device-d1").value());
  auto before = appended("device-d1");
  auto ok = post(R"({"id":"n1","task":"t1","text":"bank B erased, writing"})");
  BOOST_TEST_REQUIRE(ok.status == 200, ok.body);
  BOOST_TEST(appended("device-d1") == before + 1);
  auto evs = db.events->read_stream("device-d1", stream_version{1}, 1000).value();
  BOOST_TEST(evs.back().type == "execution.noted");
  auto after_state = std::get<domain::device_state>(rt->query_sync("device-d1").value());
  BOOST_TEST((after_state.executions.at(0).phase == before_state.executions.at(0).phase));
  // Bad notes are refused with the field named, and change nothing.
  auto empty = post(R"({"id":"n2","task":"t1","text":""})");
  BOOST_TEST(empty.status == 400);
  BOOST_TEST(empty.body.find("text") != std::string::npos);
  auto no_text = post(R"({"id":"n3","task":"t1"})");
  BOOST_TEST(no_text.status == 400);
  auto other_task = post(R"({"id":"n4","task":"t9","text":"hello"})");
  BOOST_TEST(other_task.status == 404);
  BOOST_TEST(error_code(other_task) == "no_execution");
  BOOST_TEST(appended("device-d1") == before + 1);
}

BOOST_AUTO_TEST_CASE(malformed_and_oversized_bodies_are_refused_before_the_domain) {
  http_client c{server->port()};
  auto before = appended("device-d1");
  auto bad = c.request("POST", "/v1/devices/d1/report", R"({"id":"r1","battery":"full"})",
                       auth(d1_secret));
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(error_code(bad) == "malformed");
  http_client c2{server->port()};
  auto big = c2.request("POST", "/v1/devices/d1/report", std::string(10'000, ' '), auth(d1_secret));
  BOOST_TEST(big.status == 413);
  BOOST_TEST(appended("device-d1") == before);
}

BOOST_AUTO_TEST_CASE(self_registration_needs_the_product_secret_and_is_idempotent_with_own_secret) {
  http_client c{server->port()};
  auto body = R"({"id":"g1","device":"d9","product":"p1","product_secret":"product-secret",)"
              R"("secret":"d9-secret-0123456789","fota_version":"1.0"})";
  auto wrong = c.request("POST", "/v1/devices/register",
                         R"({"id":"g0","device":"d9","product":"p1","product_secret":"guess"})");
  BOOST_TEST(wrong.status == 403);
  BOOST_TEST(!creds->has("d9").value());
  auto first = c.request("POST", "/v1/devices/register", body);
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  auto again = c.request("POST", "/v1/devices/register", body);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(!json::parse(again.body)["created"].get<bool>());
  auto report = c.request("POST", "/v1/devices/d9/report", R"({"id":"r1","online":true})",
                          auth("d9-secret-0123456789"));
  BOOST_TEST(report.status == 200);
  // Someone else with the product secret cannot take d9 over with another secret.
  auto steal =
      c.request("POST", "/v1/devices/register",
                R"({"id":"g2","device":"d9","product":"p1","product_secret":"product-secret",)"
                R"("secret":"thief-secret-0123456789"})");
  BOOST_TEST(steal.status == 401);
  // Without an own secret, the server makes one and returns it once.
  auto gen =
      c.request("POST", "/v1/devices/register",
                R"({"id":"g3","device":"d10","product":"p1","product_secret":"product-secret"})");
  BOOST_TEST_REQUIRE(gen.status == 201, gen.body);
  auto secret = json::parse(gen.body)["secret"].get<std::string>();
  BOOST_TEST(secret.size() == 64u);
  BOOST_TEST(creds->verify("d10", secret).value());
}

BOOST_AUTO_TEST_CASE(a_download_is_streamed_whole_with_a_strong_etag) {
  http_client c{server->port()};
  auto r = c.request("GET", "/v1/devices/d1/packages/k1", {}, auth(d1_secret));
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(r.body == image);
  BOOST_TEST(r.header("etag") == "\"" + blob.sha256 + "\"");
  BOOST_TEST(r.header("accept-ranges") == "bytes");
  auto h = auth(d1_secret);
  h.emplace_back("if-none-match", "\"" + blob.sha256 + "\"");
  BOOST_TEST(c.request("GET", "/v1/devices/d1/packages/k1", {}, h).status == 304);
}

BOOST_AUTO_TEST_CASE(a_broken_download_resumes_with_range_and_bad_ranges_get_416) {
  http_client c{server->port()};
  auto h = auth(d1_secret);
  h.emplace_back("range", "bytes=100000-");
  h.emplace_back("if-range", "\"" + blob.sha256 + "\"");
  auto tail = c.request("GET", "/v1/devices/d1/packages/k1", {}, h);
  BOOST_TEST_REQUIRE(tail.status == 206);
  BOOST_TEST(tail.header("content-range") == "bytes 100000-" + std::to_string(image.size() - 1) +
                                                 "/" + std::to_string(image.size()));
  BOOST_TEST((image.substr(0, 100000) + tail.body == image));
  auto stale = auth(d1_secret);
  stale.emplace_back("range", "bytes=100000-");
  stale.emplace_back("if-range", "\"another\"");
  BOOST_TEST(c.request("GET", "/v1/devices/d1/packages/k1", {}, stale).status == 200);
  auto past = auth(d1_secret);
  past.emplace_back("range", "bytes=" + std::to_string(image.size()) + "-");
  auto r416 = c.request("GET", "/v1/devices/d1/packages/k1", {}, past);
  BOOST_TEST(r416.status == 416);
  BOOST_TEST(r416.header("content-range") == "bytes */" + std::to_string(image.size()));
}

BOOST_AUTO_TEST_CASE(a_device_cannot_download_a_package_it_was_not_instructed_to) {
  http_client c{server->port()};
  auto r = c.request("GET", "/v1/devices/d2/packages/k1", {}, auth(d2_secret));
  BOOST_TEST(r.status == 404);
  auto other = c.request("GET", "/v1/devices/d1/packages/k1", {}, auth(d2_secret));
  BOOST_TEST(other.status == 401);
}

BOOST_AUTO_TEST_SUITE_END()
