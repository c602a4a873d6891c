// The property: for random valid command sequences (decided by the domain),
// views folded live in random batches equal views rebuilt from position 0,
// and as-of at a random position equals a fresh fold of the prefix.
#include <boost/test/unit_test.hpp>

#include "projections/projector.hpp"
#include "projections/queries.hpp"
#include "projections/replay.hpp"
#include "projections/views.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/projections/harness.hpp"

#include <fmt/format.h>

#include <random>

using namespace otaledger;
using namespace otaledger::projections;
using otaledger::testing::world;

namespace {

const std::string scenarios = std::string(OTALEDGER_SOURCE_DIR) + "/tests/scenarios/";

std::vector<std::string> names() {
  std::vector<std::string> v;
  for (auto n : view_names())
    v.emplace_back(n);
  return v;
}

/// One random command, valid or not (the domain decides).
void random_command(world& w, std::mt19937& rng, int& tasks) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto upick = [&](int n) { return static_cast<unsigned>(pick(n)); };
  const std::string task = std::to_string(17 + pick(std::max(tasks, 1)));
  const std::string device = "D" + std::to_string(1 + pick(4));
  const events::json terms = {{"package", "KF"}, {"target_version", "1.1"}};
  const std::string corr = "k" + std::to_string(pick(6));
  switch (pick(16)) {
  case 0:
    if (w.run("create_task", {{"task", std::to_string(17 + tasks)},
                              {"settings",
                               {{"name", fmt::format("task {}", tasks)},
                                {"package", "KF"},
                                {"product", "P1"},
                                {"targets", {{"devices", {"D1", "D2", "D3", "D4"}}}}}}}))
      ++tasks;
    break;
  case 1:
    w.run("start_task", {{"task", task}}, corr);
    break;
  case 2:
    w.run("pause_task", {{"task", task}}, corr);
    break;
  case 3:
    w.run("resume_task", {{"task", task}}, corr);
    break;
  case 4:
    w.run("cancel_task", {{"task", task}}, corr);
    break;
  case 5:
  case 6:
    w.run("assign_execution", {{"device", device}, {"task", task}, {"terms", terms}}, corr);
    break;
  case 7:
  case 8:
    w.run("start_execution", {{"device", device}, {"task", task}}, corr);
    break;
  case 9:
    w.run("report_progress",
          {{"device", device}, {"task", task}, {"phase", "downloading"}, {"percent", upick(100)}});
    break;
  case 10:
    w.run("report_progress", {{"device", device}, {"task", task}, {"phase", "installing"}});
    break;
  case 11:
    w.run("report_result", {{"device", device},
                            {"task", task},
                            {"succeeded", pick(3) != 0},
                            {"version", "1.1"},
                            {"code", "install_failed"},
                            {"text", "boom"}});
    break;
  case 12:
    w.run("report_device_state", {{"device", device},
                                  {"online", pick(2) == 0},
                                  {"signal", upick(40)},
                                  {"battery", upick(100)}});
    break;
  case 13:
    w.run("cancel_execution", {{"device", device}, {"task", task}}, corr);
    break;
  case 14:
    w.run("add_group_devices", {{"group", "G1"}, {"devices", {device}}});
    break;
  default:
    w.run("remove_group_devices", {{"group", "G1"}, {"devices", {device}}});
    break;
  }
  w.now.micros += static_cast<std::int64_t>(rng() % 5'000'000);
}

std::map<std::string, view_digest> digests(storage::kv_store& kv,
                                           const std::map<std::string, std::string>& spaces) {
  std::map<std::string, view_digest> out;
  for (auto& [v, s] : spaces)
    out[v] = digest_space(kv, s).value();
  return out;
}

std::map<std::string, std::string> live_spaces(storage::kv_store& kv) {
  std::map<std::string, std::string> out;
  for (auto n : view_names())
    out[std::string{n}] = live_space(kv, n).value();
  return out;
}

/// A fresh store holding only positions 1..p of `log`.
std::unique_ptr<storage::event_store> prefix_of(storage::event_store& log, log_position p) {
  auto out = storage::make_memory_event_store();
  for (std::uint64_t from = 1; from <= p();) {
    auto page =
        log.read_all(log_position{from}, std::min<std::uint64_t>(64, p() - from + 1)).value();
    for (auto& e : page) {
      storage::append_request r;
      r.stream = e.stream;
      r.expected = storage::expected_version::any();
      r.events.push_back({e.id, e.type, e.schema, e.time, e.meta, e.data});
      BOOST_REQUIRE(out->append(std::move(r)));
    }
    from = page.back().position() + 1;
  }
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(live_equals_rebuilt)

BOOST_AUTO_TEST_CASE(random_histories_give_live_views_equal_to_rebuilt_views) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      auto log = storage::make_memory_event_store();
      auto kv = storage::make_memory_kv_store();
      world w{*log};
      w.load(scenarios + "fleet.inc");
      std::mt19937 rng{seed};
      int tasks = 0;
      projector live{*log, *kv, make_all_views()};
      BOOST_REQUIRE(live.open());
      for (int step = 0; step < 400; ++step) {
        random_command(w, rng, tasks);
        if (rng() % 9 == 0) BOOST_REQUIRE_MESSAGE(live.catch_up(), error_detail());
      }
      BOOST_REQUIRE(live.catch_up());
      BOOST_TEST_MESSAGE("seed " << seed << ": " << log->head()() << " events, " << tasks
                                 << " tasks");
      BOOST_TEST(log->head()() > 60u);
      const auto before = digests(*kv, live_spaces(*kv));
      rebuild_options o;
      o.verify = true;
      auto r = rebuild(*log, *kv, names(), o);
      BOOST_REQUIRE_MESSAGE(r, error_detail());
      for (auto& rep : r.value())
        BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference);
      BOOST_TEST((digests(*kv, live_spaces(*kv)) == before));

      // As-of a random position: equals a fresh fold of the prefix.
      const log_position p{1 + rng() % log->head()()};
      auto prefix = prefix_of(*log, p);
      auto kv2 = storage::make_memory_kv_store();
      projector fresh{*prefix, *kv2, make_all_views()};
      BOOST_REQUIRE(fresh.open());
      BOOST_REQUIRE(fresh.catch_up());
      auto past = build_as_of(*log, *kv, names(), p);
      BOOST_REQUIRE_MESSAGE(past, error_detail());
      BOOST_TEST((digests(*kv, past.value()) == digests(*kv2, live_spaces(*kv2))));
      for (auto stream : {"task-17", "device-D1", "device-D2", "group-G1"}) {
        auto then = replay_stream(*log, stream, {p, std::nullopt});
        auto again = replay_stream(*prefix, stream, {});
        BOOST_TEST(static_cast<bool>(then) == static_cast<bool>(again), stream);
        if (then && again) {
          BOOST_TEST(then.value().state == again.value().state, stream << " at " << p());
          BOOST_TEST(then.value().version == again.value().version);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
