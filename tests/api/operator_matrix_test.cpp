// The whole role x endpoint matrix, driven by /openapi.json: every documented
// route is served, needs a token when it says so, and a viewer may call every
// GET but no change (403, the log's last position unchanged), while an
// operator gets past the role check everywhere.
#include "tests/api/operator_fixture.hpp"

#include <set>

using namespace otaledger;
using namespace otaledger::testing;

namespace {

struct seeded : operator_fixture {
  seeded() {
    catalog(1);
    must("POST", "/v1/groups", R"({"group":"G1","name":"one"})", 201);
    must(
        "POST", "/v1/tasks",
        R"({"task":"T1","settings":{"name":"t","package":"KF","product":"P1","targets":{"devices":["D0"]}}})",
        201);
    settle();
    refresh();
  }

  struct route {
    std::string method, pattern;
    std::optional<std::string> min_role;
    bool upload = false;
  };

  std::vector<route> documented() {
    http_client c{server->port()};
    auto doc = json::parse(c.request("GET", "/openapi.json").body);
    std::vector<route> out;
    for (auto& [path, ops] : doc["paths"].items())
      for (auto& [method, op] : ops.items()) {
        route r;
        r.method = method;
        for (auto& ch : r.method)
          ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        r.pattern = path;
        if (op.contains("x-min-role")) r.min_role = op["x-min-role"].get<std::string>();
        r.upload = op.value("x-upload", false);
        out.push_back(r);
      }
    return out;
  }

  /// The pattern with its parameters filled with ids that exist.
  static std::string target(const std::string& pattern) {
    std::string out = pattern;
    auto fill = [&](const std::string& prefix, const std::string& id) {
      auto at = out.find(prefix + "{id}");
      if (at != std::string::npos) out.replace(at + prefix.size(), 4, id);
    };
    fill("/v1/products/", "P1");
    fill("/v1/devices/", "D0");
    fill("/v1/groups/", "G1");
    fill("/v1/firmware/", "F11");
    fill("/v1/packages/", "KF");
    fill("/v1/tasks/", "T1");
    if (out == "/v1/audit") out += "?stream=task-T1";
    if (out == "/v1/replay") out += "?stream=task-T1";
    if (out == "/v1/devices/search") out += "?product=P1";
    if (out.find("/image") != std::string::npos || out.find("/file") != std::string::npos ||
        out.find("/upload") != std::string::npos)
      out += "?name=m.bin&firmware=F11";
    return out;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(operator_matrix)

BOOST_FIXTURE_TEST_CASE(openapi_documents_every_served_route_and_nothing_else, seeded) {
  std::set<std::pair<std::string, std::string>> served, doc;
  for (auto& [m, p] : routes->routes())
    if (p.rfind("/v1/", 0) == 0 || p == "/healthz" || p == "/openapi.json" || p == "/metrics")
      served.emplace(m, p);
  for (auto& r : documented())
    doc.emplace(r.method, r.pattern);
  BOOST_TEST((served == doc));
  BOOST_TEST(doc.size() >= 45u);
}

BOOST_FIXTURE_TEST_CASE(every_route_times_every_role_viewer_reads_but_never_changes, seeded) {
  auto routes_ = documented();
  for (const auto& r : routes_) {
    auto t = target(r.pattern);
    std::string body = r.upload ? std::string(100, 'x') : std::string{};
    BOOST_TEST_CONTEXT(r.method << " " << t) {
      if (!r.min_role) {
        auto open = call(r.method, t, body, "");
        BOOST_TEST(open.status == 200);
        continue;
      }
      auto head = settle();
      http_client c{server->port()};
      auto none = c.request(r.method, t, body);
      BOOST_TEST(none.status == 401);
      auto v = call(r.method, t, body, viewer);
      BOOST_TEST_INFO(v.body);
      if (r.method == "GET") {
        BOOST_TEST(*r.min_role == "viewer");
        BOOST_TEST(v.status != 401);
        BOOST_TEST(v.status != 403);
      } else {
        BOOST_TEST(*r.min_role != "viewer");
        BOOST_TEST(v.status == 403);
        BOOST_TEST(json::parse(v.body)["code"] == "forbidden");
      }
      BOOST_TEST(settle() == head);
    }
  }
  // Operators get past the role check everywhere (the domain may refuse).
  for (const auto& r : routes_) {
    if (!r.min_role) continue;
    auto t = target(r.pattern);
    std::string body = r.upload ? std::string(100, 'x') : std::string{};
    auto o = call(r.method, t, body, op);
    BOOST_TEST_INFO(r.method << " " << t << " -> " << o.body);
    BOOST_TEST(o.status != 401);
    BOOST_TEST(o.status != 403);
    BOOST_TEST(o.status != 500);
  }
}

BOOST_AUTO_TEST_SUITE_END()
