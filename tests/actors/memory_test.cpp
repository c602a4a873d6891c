// How device actors use memory: snapshots that make a long device stream
// cheap to recover, and the resident limit that decides when a device with
// nothing in progress leaves memory.
#include "tests/actors/fleet_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace otaledger;
using otaledger::testing::fleet_env;

namespace {

/// The device folded from every event of its stream, with no snapshot.
domain::device_state fold_stream(fleet_env& env, const std::string& id) {
  domain::device_state s;
  auto events = env.db.events->read_stream("device-" + id, stream_version{1}, 100'000).value();
  for (const auto& e : events)
    s = domain::evolve(std::move(s), events::decode(e).value());
  return s;
}

/// Flips the device's "online" `n` times: one event each.
void flip_online(fleet_env& env, const std::string& id, int n) {
  for (int i = 0; i < n; ++i)
    env.must("report_device_state",
             fmt::format(R"({{"device":"{}","online":{}}})", id, i % 2 == 0 ? "false" : "true"));
}

/// Waits (polling, at most 20 s) until `ready` holds.
template <class F> bool eventually(F ready) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling a condition
  }
  return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(device_memory)

BOOST_AUTO_TEST_CASE(a_device_recovered_from_its_snapshot_equals_its_whole_stream_folded) {
  fleet_env env;
  env.catalog_and_devices(3);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  flip_online(env, "D1", 150);
  const auto head = env.db.events->read_stream("device-D1", stream_version{1}, 100'000)
                        .value()
                        .back()
                        .version;
  // Snapshots every 64 events: the last one is taken at or after version 128.
  BOOST_REQUIRE(eventually([&] {
    auto s = env.db.events->load_snapshot("device-D1").value();
    return s && s->version() >= 128;
  }));
  auto snap = env.db.events->load_snapshot("device-D1").value();
  BOOST_TEST(snap->version() < head()); // a tail is left to replay on top of it
  env.restart();
  auto recovered = env.device("D1");
  auto folded = fold_stream(env, "D1");
  BOOST_TEST((recovered == folded));
  BOOST_TEST((recovered.execution("1")->phase == events::execution_phase::succeeded));
  BOOST_TEST(recovered.fota_version == "1.1");
}

BOOST_AUTO_TEST_CASE(a_device_snapshot_of_an_unknown_schema_is_ignored_and_the_stream_replayed) {
  fleet_env env;
  env.catalog_and_devices(2);
  flip_online(env, "D0", 3);
  env.settle();
  storage::snapshot garbage{stream_version{2}, 999, "not a device state"};
  BOOST_REQUIRE(env.db.events->save_snapshot("device-D0", garbage));
  env.restart();
  BOOST_TEST((env.device("D0") == fold_stream(env, "D0")));
  flip_online(env, "D0", 1); // and it still takes commands at the right version
  BOOST_TEST((env.device("D0") == fold_stream(env, "D0")));
}

BOOST_AUTO_TEST_CASE(a_device_with_nothing_in_progress_stays_in_memory_below_the_resident_limit) {
  fleet_env env;
  env.catalog_and_devices(20);
  flip_online(env, "D3", 2);
  auto s = env.rt->stats();
  BOOST_TEST(s.passivated == 0u);
  BOOST_TEST(s.live_hosts >= 20u);
}

BOOST_AUTO_TEST_CASE(a_device_with_nothing_in_progress_leaves_memory_at_once_above_the_limit) {
  fleet_env env;
  env.options.resident_limit = 0;
  env.restart();
  env.catalog_and_devices(20);
  BOOST_TEST(eventually([&] { return env.rt->stats().passivated >= 20u; }));
  BOOST_TEST(eventually([&] { return env.rt->stats().live_hosts == 0u; }));
  // A device that left memory is recovered for its next command.
  flip_online(env, "D3", 1);
  BOOST_TEST((env.device("D3") == fold_stream(env, "D3")));
}

BOOST_AUTO_TEST_SUITE_END()
