// Helpers of the consumer-built views tests: temporary directories, a relay
// run to a topic, the views built from a topic, and the local reference (a
// fresh rebuild of the same log, as `otaledger rebuild` makes it).
#pragma once

#include "kafka/views.hpp"
#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "storage/kv_store.hpp"
#include "tests/kafka/helpers.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

namespace otaledger::kafka::testing {

/// A directory removed when the test ends.
struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(const std::string& tag) {
    auto base = std::filesystem::temp_directory_path() / ("otaledger-kafka-" + tag + "-XXXXXX");
    std::string s = base.string();
    BOOST_REQUIRE(::mkdtemp(s.data()) != nullptr);
    path = s;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// Relays the whole log to `topic` and waits until Kafka confirmed it.
inline void relay_all(storage::event_store& log, const relay_options& o) {
  auto r = relay::create(log, o);
  BOOST_REQUIRE(r);
  BOOST_REQUIRE(r.value()->start());
  BOOST_REQUIRE(r.value()->flush(120s));
  BOOST_TEST(r.value()->stats().delivery_failures == 0u);
  r.value()->stop();
}

/// Options of a views build from `topic` into `dir`, for tests.
inline views_options test_views_options(const std::string& brokers, const std::string& topic,
                                        const std::filesystem::path& dir) {
  views_options o;
  o.consumer.client.brokers = brokers;
  o.consumer.client.topic = topic;
  o.consumer.client.client_id = "otaledger-test-views";
  o.dir = dir;
  o.timeout = 120s;
  o.gap_wait = 5s;
  return o;
}

/// Every view folded from position 1 of `log` into fresh spaces, as
/// `otaledger rebuild` does it (projections::rebuild, which also folds the
/// live views and checks that both agree): each view's digest.
inline std::map<std::string, projections::view_digest> local_digests(storage::event_store& log) {
  auto kv = storage::make_memory_kv_store();
  std::vector<std::string> names;
  for (auto n : projections::view_names())
    names.emplace_back(n);
  projections::rebuild_options ro;
  ro.verify = true;
  auto reps = projections::rebuild(log, *kv, names, ro);
  BOOST_REQUIRE_MESSAGE(reps, projections::error_detail());
  std::map<std::string, projections::view_digest> out;
  for (const auto& r : reps.value()) {
    BOOST_TEST(r.equal, "view " << r.view << ": the live fold and the rebuild differ");
    BOOST_TEST(r.position() == log.head()());
    out[r.view] = r.rebuilt;
  }
  return out;
}

/// Every view's digest built from the topic equals the local one.
inline void check_same_views(const std::map<std::string, projections::view_digest>& from_topic,
                             const std::map<std::string, projections::view_digest>& local) {
  BOOST_TEST(from_topic.size() == projections::view_names().size());
  BOOST_TEST(local.size() == projections::view_names().size());
  for (const auto& [view, d] : local) {
    BOOST_TEST_CONTEXT("view " << view) {
      auto it = from_topic.find(view);
      BOOST_REQUIRE(it != from_topic.end());
      BOOST_TEST(it->second.rows == d.rows);
      BOOST_TEST(it->second.bytes == d.bytes);
      BOOST_TEST(it->second.hash == d.hash);
    }
  }
}

} // namespace otaledger::kafka::testing
