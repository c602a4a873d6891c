// A device channel on loopback over a real data directory and the real actor
// runtime (RocksDB event log, views for credentials, the file blob store for
// packages; commands only, no coordinator, a manual clock): product p1
// (self-registration secret "product-secret"), package k1 (a 300 KiB full
// image, target 1.1), device d1 in task t1 (notified), device d2 registered
// without executions. The set-up events are appended to the log before the
// runtime starts, so the catalog and the device actors recover them.
#pragma once

#include "actors/runtime.hpp"
#include "base/time.hpp"
#include "channel/auth.hpp"
#include "channel/http_routes.hpp"
#include "channel/service.hpp"
#include "domain/dispatch.hpp"
#include "events/event.hpp"
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
  base::manual_clock clock{base::timestamp::from_seconds(1'700'000'000)};
  std::unique_ptr<actors::runtime> rt;
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
    seed({events::product_created{"p1", "Product 1", channel::sha256_hex("product-secret"), false},
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
    actors::runtime_options ro;
    ro.clock = &clock;
    ro.coordinator = false;
    ro.io_threads = 2;
    rt = actors::runtime::start(*db.events, ro).value();
    svc = std::make_unique<channel::device_service>(*rt, *creds, db.blobs.get());
    auto routes = std::make_shared<api::router>();
    channel::add_device_routes(*routes, *svc);
    api::server_options so;
    so.port = 0;
    server = std::make_unique<api::http_server>(so, routes);
    BOOST_REQUIRE(server->start());
  }
  ~channel_fixture() {
    // The runtime stops while the server's io_context still exists: a command
    // still in flight is answered (with an error) into a session that can
    // still be destroyed safely.
    server->stop();
    rt->stop();
    server.reset();
    svc.reset();
    rt.reset();
    creds.reset();
    db = {};
    std::filesystem::remove_all(dir);
  }

  /// Appends set-up events to the log, each to the stream it belongs to.
  void seed(const std::vector<events::event>& es) {
    for (const auto& e : es) {
      storage::append_request r;
      r.stream = domain::stream_of(e).stream();
      r.expected = storage::expected_version::any();
      storage::new_event ne;
      ne.type = std::string{events::type_name_of(e)};
      ne.schema = events::schema_of(e);
      ne.time = clock.now();
      ne.meta.principal = "operator:test";
      ne.data = events::encode_payload(e);
      r.events.push_back(std::move(ne));
      BOOST_REQUIRE(db.events->append(std::move(r)));
    }
  }
  /// How many events the stream holds (commands are answered once durable).
  std::size_t appended(const std::string& stream) {
    return db.events->read_stream(stream, stream_version{1}, 100'000).value().size();
  }

  static std::vector<std::pair<std::string, std::string>> auth(const std::string& secret) {
    return {{"authorization", "Bearer " + secret}};
  }
};

} // namespace otaledger::testing
