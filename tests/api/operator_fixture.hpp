// The operators' API on loopback over a real RocksDB data directory and the
// real actor runtime (manual clock, no device port: notified devices stay
// notified, so a started task stays upgrading), with the projections' views
// folded on demand (refresh()) and three API tokens: admin, operator, viewer.
#pragma once

#include "actors/runtime.hpp"
#include "api/auth.hpp"
#include "api/operator_routes.hpp"
#include "base/time.hpp"
#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "storage/open.hpp"
#include "tests/api/http_client.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace otaledger::testing {

using json = nlohmann::json;
using headers = std::vector<std::pair<std::string, std::string>>;

inline std::filesystem::path operator_dir() {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() /
           ("otaledger-api-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p);
  return p;
}

/// A full image's file info (digests are well-formed; no blob is read).
inline constexpr const char* file_info_json =
    R"({"name":"m-1.1.bin","size":1000,"md5":"0123456789abcdef0123456789abcdef","sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","blob":"blob-1"})";

struct operator_fixture {
  std::filesystem::path dir = operator_dir();
  storage::database db;
  base::manual_clock clock{base::timestamp{1'767'225'600'000'000}};
  std::unique_ptr<actors::runtime> rt;
  std::unique_ptr<projections::projector> views;
  std::unique_ptr<api::http_server> server;
  std::shared_ptr<api::router> routes = std::make_shared<api::router>();
  std::string admin, op, viewer;

  std::uint64_t max_image = 30ull << 20, max_delta = 2ull << 20;

  explicit operator_fixture(std::uint64_t image_limit = 30ull << 20,
                            std::uint64_t delta_limit = 2ull << 20)
      : max_image(image_limit), max_delta(delta_limit) {
    storage::options o;
    o.path = dir.string();
    o.sync = false;
    db = std::move(storage::open_database(o).value());
    actors::runtime_options ro;
    ro.clock = &clock;
    ro.io_threads = 2;
    ro.scheduler_threads = 2;
    ro.limits.max_image_bytes = max_image;
    ro.limits.max_delta_bytes = max_delta;
    rt = actors::runtime::start(*db.events, ro).value();
    views = std::make_unique<projections::projector>(*db.events, *db.views,
                                                     projections::make_all_views());
    BOOST_REQUIRE(views->open());
    api::token_store tokens{*db.views};
    admin = tokens.create("root", api::role::admin).value();
    op = tokens.create("alice", api::role::operator_).value();
    viewer = tokens.create("victor", api::role::viewer).value();
    api::operator_context ctx{rt.get(), db.events.get(), db.views.get(), db.blobs.get()};
    ctx.max_image_bytes = max_image;
    ctx.max_delta_bytes = max_delta;
    api::add_operator_routes(*routes, ctx);
    api::server_options so;
    so.port = 0;
    server = std::make_unique<api::http_server>(so, routes);
    BOOST_REQUIRE(server->start());
  }
  ~operator_fixture() {
    server->stop();
    rt->stop(); // before the server's io_context goes: see tests/channel/fixture.hpp
    server.reset();
    rt.reset();
    views.reset();
    db = {};
    std::filesystem::remove_all(dir);
  }

  /// Files in the blob store's directory (finished blobs and leftovers).
  std::size_t blob_files() const {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir / "blobs", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file()) ++n;
    return n;
  }

  /// Uploads `bytes` (PUT or POST) with the operator's token.
  http_reply upload(const std::string& method, const std::string& target, const std::string& bytes,
                    headers extra = {}) {
    http_client c{server->port()};
    auto h = bearer(op);
    h.emplace_back("content-type", "application/octet-stream");
    h.insert(h.end(), extra.begin(), extra.end());
    return c.request(method, target, bytes, h);
  }

  /// Folds the log into the views (lists read them).
  void refresh() { BOOST_REQUIRE(views->catch_up()); }

  /// Waits until the coordinator has folded the log and appends nothing more.
  log_position settle() {
    for (;;) {
      auto p = db.events->head();
      rt->wait_until_settled(p);
      if (db.events->head() == p) return p;
    }
  }

  static headers bearer(const std::string& token) { return {{"authorization", "Bearer " + token}}; }

  http_reply call(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& token, headers extra = {}) {
    http_client c{server->port()};
    auto h = bearer(token);
    h.insert(h.end(), extra.begin(), extra.end());
    if (!body.empty()) h.emplace_back("content-type", "application/json");
    return c.request(method, target, body, h);
  }

  /// A call that must answer `status`; returns the parsed body (or null).
  json must(const std::string& method, const std::string& target, const std::string& body = {},
            int status = 200) {
    auto r = call(method, target, body, op);
    BOOST_TEST_INFO(method << " " << target << " -> " << r.body);
    BOOST_REQUIRE_EQUAL(r.status, status);
    return json::parse(r.body, nullptr, false);
  }

  /// Product P1, firmware F11 (1.1, with image), full package KF, devices D0..D<n-1> on 1.0.
  void catalog(int n) {
    must("POST", "/v1/products", R"({"product":"P1","name":"Meter","require_verification":false})",
         201);
    must(
        "POST", "/v1/firmware",
        std::string{
            R"({"firmware":"F11","product":"P1","vendor":"CMCC","model":"M5330","version":"1.1","image":)"} +
            file_info_json + "}",
        201);
    must("POST", "/v1/packages",
         std::string{R"({"package":"KF","firmware":"F11","type":"full","origin":"image","file":)"} +
             file_info_json + "}",
         201);
    for (int i = 0; i < n; ++i)
      must("POST", "/v1/devices",
           R"({"device":"D)" + std::to_string(i) +
               R"(","product":"P1","fota_version":"1.0","region":{"province":"GD","city":""}})",
           201);
  }
};

} // namespace otaledger::testing
