// The hawkBit DDI endpoints over plain HTTP on loopback: authentication,
// unknown controllers, the deployment a polling device sees, feedback mapped
// onto the canonical executions (idempotent on replay, stale progress changes
// nothing), malformed feedback refused without a change, cancelAction,
// download-only tasks, configData, and a broken download resumed with Range.
#include "fixture.hpp"

#include <boost/asio.hpp>
#include <openssl/evp.h>

#include <random>

using namespace otaledger;
using namespace otaledger::testing;

namespace {

std::string random_image(std::size_t n, unsigned seed) {
  std::mt19937_64 rng{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

std::string sha1_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha1(), nullptr);
  std::string out;
  for (unsigned i = 0; i < n; ++i)
    out += fmt::format("{:02x}", md[i]);
  return out;
}

struct http_env : ddi_env {
  std::string image = random_image(300 * 1024 + 11, 5);
  storage::blob_info blob;
  std::string ctl = "/P1/controller/v1/D1";
  /// D1 has polled once (a polling hawkBit client is online); D2 never has.
  http_env() {
    blob = catalog(image, "gw-1.1.bin");
    BOOST_REQUIRE_EQUAL(ddi("GET", ctl).status, 200);
  }

  std::string action(const std::string& task, std::uint32_t attempt = 1) {
    return std::to_string(channel::ddi_action_id(task, attempt));
  }
  json base_resource() {
    auto r = ddi("GET", ctl);
    BOOST_TEST_INFO("base: " << r.body);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return json::parse(r.body);
  }
  http_reply feedback(const std::string& a, const std::string& body,
                      const std::string& resource = "deploymentBase") {
    return ddi("POST", ctl + "/" + resource + "/" + a + "/feedback", body);
  }
  static std::string fb(const std::string& a, const std::string& execution,
                        const std::string& finished, const std::string& details,
                        const std::string& progress = "") {
    return fmt::format(
        R"({{"id":{},"time":"20261123T101010","status":{{"result":{{{}"finished":"{}"}},)"
        R"("execution":"{}","details":[{}]}}}})",
        a, progress.empty() ? "" : "\"progress\":" + progress + ",", finished, execution, details);
  }
  /// Events in D1's stream ("changes nothing" is about the device: the task
  /// and the coordinator may still append on their own after a start).
  std::size_t log_head() { return trail("D1").size(); }
};

bool has_reason(const std::vector<events::envelope>& trail, const std::string& part) {
  for (const auto& e : trail)
    if (e.meta.reason.find(part) != std::string::npos) return true;
  return false;
}

} // namespace

BOOST_AUTO_TEST_SUITE(ddi_http)

BOOST_AUTO_TEST_CASE(missing_or_wrong_tokens_are_refused_401_and_change_nothing) {
  http_env env;
  env.start_task("T1", "D1");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  auto head = env.log_head();
  for (std::string auth : std::vector<std::string>{
           std::string{""}, "TargetToken wrong-token-0123456789", "Bearer " + env.d1_token,
           "TargetToken " + env.d2_token, "GatewayToken not-the-gateway-secret", "TargetToken"}) {
    auto r = env.ddi("GET", env.ctl, "", auth);
    BOOST_TEST_INFO("auth '" << auth << "' -> " << r.body);
    BOOST_TEST(r.status == 401);
    BOOST_TEST(r.body.find("unauthorized") != std::string::npos);
    auto f = env.ddi("POST", env.ctl + "/deploymentBase/" + env.action("T1") + "/feedback",
                     http_env::fb(env.action("T1"), "closed", "success", ""), auth);
    BOOST_TEST(f.status == 401);
  }
  BOOST_TEST(env.log_head() == head);
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::notified));
  // The gateway token of the tenant works for any of its controllers.
  auto g = env.ddi("GET", env.ctl, "", "GatewayToken " + env.gateway);
  BOOST_TEST(g.status == 200);
}

BOOST_AUTO_TEST_CASE(unknown_controller_or_wrong_tenant_is_404) {
  http_env env;
  auto r = env.ddi("GET", "/P1/controller/v1/nobody", "", "GatewayToken " + env.gateway);
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.body.find("no controller nobody in tenant P1") != std::string::npos);
  auto t = env.ddi("GET", "/P9/controller/v1/D1");
  BOOST_TEST(t.status == 404);
  auto g = env.ddi("GET", "/P9/controller/v1/D1", "", "GatewayToken " + env.gateway);
  BOOST_TEST(g.status == 401); // P9 has no such gateway token (no such product)
}

BOOST_AUTO_TEST_CASE(
    a_device_that_never_polled_is_offline_until_its_first_poll_brings_the_deployment) {
  http_env env;
  env.start_task("T2", "D2");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D2", "T2") == events::execution_phase::deferred; }, 20));
  BOOST_TEST((env.execution("D2", "T2").deferred_for == events::deferral_reason::offline));
  std::string ctl2 = "/P1/controller/v1/D2";
  auto auth2 = "TargetToken " + env.d2_token;
  BOOST_TEST(env.ddi("GET", ctl2, "", auth2).status == 200); // the first poll: online
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D2", "T2") == events::execution_phase::notified; }, 20));
  auto b = json::parse(env.ddi("GET", ctl2, "", auth2).body);
  BOOST_TEST(b["_links"]["deploymentBase"]["href"] ==
             env.base() + ctl2 + "/deploymentBase/" + env.action("T2"));
  BOOST_TEST(has_reason(env.trail("D2"), "hawkBit client polled: online"));
}

BOOST_AUTO_TEST_CASE(a_polling_device_gets_its_deployment_and_feedback_drives_the_execution) {
  http_env env;
  auto idle = env.base_resource();
  BOOST_TEST(idle["config"]["polling"]["sleep"] == "00:00:01");
  BOOST_TEST(!idle["_links"].contains("deploymentBase"));
  BOOST_TEST(idle["_links"].contains("configData")); // no attributes yet
  env.start_task("T1", "D1");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  auto a = env.action("T1");
  auto b = env.base_resource();
  std::string href = b["_links"]["deploymentBase"]["href"];
  BOOST_TEST(href == env.base() + env.ctl + "/deploymentBase/" + a);

  auto d = env.ddi("GET", env.ctl + "/deploymentBase/" + a);
  BOOST_TEST_INFO(d.body);
  BOOST_REQUIRE_EQUAL(d.status, 200);
  auto dep = json::parse(d.body);
  BOOST_TEST(dep["id"] == a);
  BOOST_TEST(dep["deployment"]["download"] == "forced");
  BOOST_TEST(dep["deployment"]["update"] == "forced");
  BOOST_TEST(!dep["deployment"].contains("maintenanceWindow"));
  auto& chunk = dep["deployment"]["chunks"][0];
  BOOST_TEST(chunk["part"] == "os");
  BOOST_TEST(chunk["version"] == "1.1");
  BOOST_TEST(chunk["name"] == "KF");
  auto& art = chunk["artifacts"][0];
  BOOST_TEST(art["filename"] == "gw-1.1.bin");
  BOOST_TEST(art["size"] == env.image.size());
  BOOST_TEST(art["hashes"]["sha1"] == sha1_hex(env.image));
  BOOST_TEST(art["hashes"]["md5"] == env.blob.md5);
  BOOST_TEST(art["hashes"]["sha256"] == env.blob.sha256);
  std::string link = art["_links"]["download-http"]["href"];
  BOOST_TEST(link == env.base() + env.ctl + "/softwaremodules/KF/artifacts/gw-1.1.bin");
  auto dl = env.ddi("GET", link.substr(env.base().size()));
  BOOST_TEST(dl.status == 200);
  BOOST_TEST((dl.body == env.image));
  auto md5 = env.ddi("GET", link.substr(env.base().size()) + ".MD5SUM");
  BOOST_TEST(md5.body == env.blob.md5 + "  gw-1.1.bin\n");

  // proceeding, chunk 0 of 1: downloading.
  auto start = http_env::fb(a, "proceeding", "none", "\"Installing Update Chunk Artifacts.\"",
                            R"({"cnt":0,"of":1})");
  BOOST_TEST(env.feedback(a, start).status == 200);
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::downloading));
  auto head = env.log_head();
  BOOST_TEST(env.feedback(a, start).status == 200); // a replay: a duplicate
  BOOST_TEST(env.log_head() == head);
  // every chunk installed: installing.
  BOOST_TEST(env.feedback(a, http_env::fb(a, "proceeding", "none", "\"Installed Chunk.\"",
                                          R"({"cnt":1,"of":1})"))
                 .status == 200);
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::installing));
  // A late "chunk 0 of 1" (a reinstall after a restart) changes nothing, is
  // not refused, and is kept in the audit trail as a note; sent again, it is
  // a duplicate.
  head = env.log_head();
  auto late = http_env::fb(a, "proceeding", "none", "\"again\"", R"({"cnt":0,"of":1})");
  BOOST_TEST(env.feedback(a, late).status == 200);
  BOOST_TEST(env.log_head() == head + 1);
  BOOST_TEST(env.trail("D1").back().type == "execution.noted");
  BOOST_TEST(env.feedback(a, late).status == 200);
  BOOST_TEST(env.log_head() == head + 1);
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::installing));
  // closed + success: succeeded with the action's version.
  auto done = http_env::fb(a, "closed", "success", "\"Update Installed.\"");
  BOOST_TEST(env.feedback(a, done).status == 200);
  auto x = env.execution("D1", "T1");
  BOOST_TEST((x.phase == events::execution_phase::succeeded));
  BOOST_TEST(x.version == "1.1");
  BOOST_TEST(env.feedback(a, done).status == 200); // replayed: idempotent
  // A different feedback on the finished action: gone.
  BOOST_TEST(env.feedback(a, http_env::fb(a, "closed", "failure", "\"late\"")).status == 410);
  BOOST_TEST((env.execution("D1", "T1").phase == events::execution_phase::succeeded));

  auto trail = env.trail("D1");
  BOOST_TEST(has_reason(trail, "Installing Update Chunk Artifacts."));
  BOOST_TEST(has_reason(trail, "Installed Chunk."));
  BOOST_TEST(has_reason(trail, "Update Installed."));
  for (const auto& e : trail)
    if (!e.meta.reason.empty()) {
      BOOST_TEST(e.meta.principal == "device:D1");
      BOOST_TEST(e.meta.command.starts_with("device:D1:ddi-"), e.meta.command);
    }
  auto after = env.base_resource();
  BOOST_TEST(!after["_links"].contains("deploymentBase"));
}

BOOST_AUTO_TEST_CASE(malformed_feedback_is_refused_400_and_changes_nothing) {
  http_env env;
  env.start_task("T1", "D1");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  auto a = env.action("T1");
  auto head = env.log_head();
  for (std::string body : std::vector<std::string>{
           std::string{"not json"},
           std::string{"[1,2]"},
           std::string{R"({"id":")"} + a + R"("})",
           http_env::fb(a, "exploded", "none", ""),
           http_env::fb(a, "closed", "maybe", ""),
           std::string{R"({"status":{"execution":"closed","result":{}}})"},
           http_env::fb("12345", "closed", "success", ""),
           http_env::fb(a, "proceeding", "none", "", R"({"cnt":-1,"of":1})"),
           http_env::fb(a, "proceeding", "none", "1"),
       }) {
    auto r = env.feedback(a, body);
    BOOST_TEST_INFO(body << " -> " << r.body);
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.find("otaledger.malformed") != std::string::npos);
    BOOST_TEST(r.body.find("feedback: ") != std::string::npos);
  }
  // An action the device does not have.
  BOOST_TEST(env.feedback("77", http_env::fb("77", "closed", "success", "")).status == 404);
  BOOST_TEST(env.log_head() == head);
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::notified));
}

BOOST_AUTO_TEST_CASE(failure_feedback_fails_the_execution_with_the_details_as_note) {
  http_env env;
  env.start_task("T1", "D1");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  auto a = env.action("T1");
  auto r = env.feedback(a, http_env::fb(a, "closed", "failure",
                                        R"("ERROR : handler rawfile failed", "ERROR : no space")"));
  BOOST_TEST(r.status == 200);
  auto x = env.execution("D1", "T1");
  BOOST_TEST((x.phase == events::execution_phase::failed));
  BOOST_TEST(x.note == "ERROR : handler rawfile failed; ERROR : no space");
  BOOST_TEST((x.failure == events::failure_code::install_failed));
}

BOOST_AUTO_TEST_CASE(download_only_task_says_update_skip_until_the_install_is_released) {
  http_env env;
  env.start_task("T1", "D1", R"("download_only":true)");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  auto a = env.action("T1");
  auto dep = json::parse(env.ddi("GET", env.ctl + "/deploymentBase/" + a).body);
  BOOST_TEST(dep["deployment"]["update"] == "skip");
  // SWUpdate acknowledges a skip with closed/success: nothing was installed.
  auto head = env.log_head();
  BOOST_TEST(env.feedback(a, http_env::fb(a, "closed", "success", "\"Skipped Update.\"")).status ==
             200);
  BOOST_TEST(env.log_head() == head + 1); // a note: the acknowledgement, nothing more
  BOOST_TEST(env.trail("D1").back().type == "execution.noted");
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::notified));
  env.must("release_task_install", R"({"task":"T1"})");
  BOOST_REQUIRE(eventually(
      [&] {
        auto d = json::parse(env.ddi("GET", env.ctl + "/deploymentBase/" + a).body, nullptr, false);
        return !d.is_discarded() && d["deployment"]["update"] == "forced";
      },
      20));
}

BOOST_AUTO_TEST_CASE(canceled_download_offers_cancel_action_and_its_feedback_cancels) {
  http_env env;
  env.start_task("T1", "D1");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  auto a = env.action("T1");
  BOOST_TEST(
      env.feedback(a, http_env::fb(a, "proceeding", "none", "\"start\"", R"({"cnt":0,"of":1})"))
          .status == 200);
  BOOST_TEST(env.ddi("GET", env.ctl + "/cancelAction/" + a).status == 404); // nothing to cancel
  env.must("cancel_task", R"({"task":"T1"})");
  BOOST_REQUIRE(eventually([&] { return env.execution("D1", "T1").cancel_requested; }, 20));
  auto b = env.base_resource();
  BOOST_TEST(b["_links"]["cancelAction"]["href"] == env.base() + env.ctl + "/cancelAction/" + a);
  BOOST_TEST(!b["_links"].contains("deploymentBase"));
  auto c = json::parse(env.ddi("GET", env.ctl + "/cancelAction/" + a).body);
  BOOST_TEST(c["cancelAction"]["stopId"] == a);
  auto ack = R"({"id":)" + a +
             R"(,"time":"20261123T101010","status":{"result":{"finished":"success"},)"
             R"("execution":"closed","details":["cancellation acknowledged."]}})";
  BOOST_TEST(env.feedback(a, ack, "cancelAction").status == 200);
  BOOST_TEST((env.phase("D1", "T1") == events::execution_phase::canceled));
  auto head = env.log_head();
  BOOST_TEST(env.feedback(a, ack, "cancelAction").status == 200); // replayed
  BOOST_TEST(env.log_head() == head);
  BOOST_TEST(has_reason(env.trail("D1"), "cancellation acknowledged."));
}

BOOST_AUTO_TEST_CASE(config_data_stores_attributes_and_reports_known_ones) {
  http_env env;
  auto r = env.ddi("PUT", env.ctl + "/configData",
                   R"({"id":"","time":"x","status":{"result":{"finished":"success"},)"
                   R"("execution":"closed","details":[""]},"data":{"fota_version":"1.0",)"
                   R"("battery":"80","hwId":"gw"}})");
  BOOST_TEST_INFO(r.body);
  BOOST_TEST(r.status == 200);
  auto d = env.rt->query_sync("device-D1").value();
  BOOST_TEST((std::get<domain::device_state>(d).battery == std::optional<std::uint32_t>{80}));
  auto stored = env.db.views->get(channel::ddi_attributes_space, "D1").value();
  BOOST_REQUIRE(stored);
  BOOST_TEST(json::parse(*stored)["hwId"] == "gw");
  BOOST_TEST(!env.base_resource()["_links"].contains("configData"));
  auto head = env.log_head();
  for (std::string bad : std::vector<std::string>{
           std::string{R"({"data":{"battery":"lots"}})"}, std::string{R"({"data":{"x":1}})"},
           std::string{R"({"nodata":1})"}, std::string{R"({"data":{},"mode":"sideways"})"}}) {
    auto b = env.ddi("PUT", env.ctl + "/configData", bad);
    BOOST_TEST_INFO(bad << " -> " << b.body);
    BOOST_TEST(b.status == 400);
  }
  BOOST_TEST(env.log_head() == head);
  BOOST_TEST(json::parse(*env.db.views->get(channel::ddi_attributes_space, "D1").value()).size() ==
             3u);
}

BOOST_AUTO_TEST_CASE(broken_artifact_download_resumes_with_range) {
  http_env env;
  env.start_task("T1", "D1");
  BOOST_REQUIRE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::notified; }, 20));
  std::string path = env.ctl + "/softwaremodules/KF/artifacts/gw-1.1.bin";
  // A client that reads the headers and part of the body, then drops the connection.
  std::string received;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s{io};
    s.connect({boost::asio::ip::make_address("127.0.0.1"), env.port()});
    auto req =
        fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: TargetToken {}\r\n\r\n",
                    path, env.d1_token);
    boost::asio::write(s, boost::asio::buffer(req));
    std::string raw;
    char buf[4096];
    while (true) {
      auto n = s.read_some(boost::asio::buffer(buf));
      raw.append(buf, n);
      auto end = raw.find("\r\n\r\n");
      if (end != std::string::npos && raw.size() - end - 4 >= 50'000) {
        received = raw.substr(end + 4);
        break;
      }
    }
    s.close(); // broken in the middle
  }
  BOOST_REQUIRE(received.size() < env.image.size());
  auto etag = "\"" + env.blob.sha256 + "\"";
  auto rest = env.ddi("GET", path, "", std::nullopt,
                      {{"range", fmt::format("bytes={}-", received.size())}, {"if-range", etag}});
  BOOST_TEST(rest.status == 206);
  BOOST_TEST(rest.header("content-range") == fmt::format("bytes {}-{}/{}", received.size(),
                                                         env.image.size() - 1, env.image.size()));
  BOOST_TEST(rest.header("etag") == etag);
  BOOST_TEST((received + rest.body == env.image));
  // A stale validator gets the whole file; a range past the end is 416.
  auto stale =
      env.ddi("GET", path, "", std::nullopt, {{"range", "bytes=10-"}, {"if-range", "\"other\""}});
  BOOST_TEST(stale.status == 200);
  BOOST_TEST(stale.body.size() == env.image.size());
  auto past = env.ddi("GET", path, "", std::nullopt,
                      {{"range", fmt::format("bytes={}-", env.image.size())}});
  BOOST_TEST(past.status == 416);
  // HEAD: validators, no body; another device's token: 401; a package not its own: 404.
  auto head = env.ddi("HEAD", path);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.header("etag") == etag);
  BOOST_TEST(head.header("x-artifact-size") == std::to_string(env.image.size()));
  BOOST_TEST(env.ddi("GET", path, "", "TargetToken " + env.d2_token).status == 401);
  BOOST_TEST(env.ddi("GET", "/P1/controller/v1/D2/softwaremodules/KF/artifacts/gw-1.1.bin", "",
                     "TargetToken " + env.d2_token)
                 .status == 404);
}

BOOST_AUTO_TEST_SUITE_END()
