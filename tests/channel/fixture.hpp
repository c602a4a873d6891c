// A device channel on loopback over a real data directory (RocksDB views for
// credentials, the file blob store for packages): product p1 (self-registration
// secret "product-secret"), package k1 (a 300 KiB full image, target 1.1),
// device d1 in task t1 (notified), device d2 registered without executions.
#pragma once

#include "channel/auth.hpp"
#include "channel/http_routes.hpp"
#include "channel/service.hpp"
#include "fake_runtime.hpp"
#include "storage/open.hpp"
#include "tests/api/http_client.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>

namespace otaledger::testing {

inline std::filesystem::path fresh_dir(const std::string& what) {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() /
           ("otaledger-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p);
  return p;
}

struct channel_fixture {
  std::filesystem::path dir = fresh_dir("channel");
  storage::database db;
  fake_runtime rt;
  std::unique_ptr<channel::credential_store> creds;
  std::unique_ptr<channel::device_service> svc;
  std::unique_ptr<api::http_server> server;
  std::string image;
  storage::blob_info blob;
  const std::string d1_secret = "d1-secret-0123456789";
  const std::string d2_secret = "d2-secret-0123456789";

  channel_fixture() {
    storage::options o;
    o.path = dir.string();
    o.sync = false;
    db = std::move(storage::open_database(o).value());
    creds = std::make_unique<channel::credential_store>(*db.views);
    std::mt19937_64 rng{7};
    image.resize(300 * 1024);
    for (auto& c : image)
      c = static_cast<char>(rng());
    auto w = db.blobs->begin(0).value();
    BOOST_REQUIRE(w->write(image));
    blob = w->finish().value();
    auto at = base::timestamp::from_seconds(1'699'000'000);
    events::execution_terms terms;
    terms.package = "k1";
    terms.target_version = "1.1";
    rt.seed(
        {events::product_created{"p1", "Product 1", channel::sha256_hex("product-secret"), false},
         events::package_created{
             "k1", "f11", events::firmware_kind::fota, "acme", "m1", "1.1",
             events::package_type::full, "", events::package_origin::uploaded,
             events::file_info{"fw-1.1.bin", blob.size, blob.md5, blob.sha256, blob.id}, at},
         events::device_registered{"d1", "p1", "d1", "", "", {}, "1.0", "", false, at},
         events::device_registered{"d2", "p1", "d2", "", "", {}, "1.0", "", false, at},
         events::execution_assigned{"d1", "t1", terms},
         events::execution_notified{"d1", "t1", events::execution_phase::pending, 1, at}});
    BOOST_REQUIRE(creds->set("d1", d1_secret));
    BOOST_REQUIRE(creds->set("d2", d2_secret));
    svc = std::make_unique<channel::device_service>(rt, *creds, db.blobs.get());
    auto routes = std::make_shared<api::router>();
    channel::add_device_routes(*routes, *svc);
    api::server_options so;
    so.port = 0;
    server = std::make_unique<api::http_server>(so, routes);
    BOOST_REQUIRE(server->start());
  }
  ~channel_fixture() {
    server->stop();
    server.reset();
    svc.reset();
    creds.reset();
    db = {};
    std::filesystem::remove_all(dir);
  }

  static std::vector<std::pair<std::string, std::string>> auth(const std::string& secret) {
    return {{"authorization", "Bearer " + secret}};
  }
};

} // namespace otaledger::testing
