// Property tests over random command sequences: the device aggregate keeps
// "one running task per device", replay gives the same state, and the
// coordinator's counters (folded from events alone) equal a recount of the
// device states.
#include <boost/test/unit_test.hpp>

#include "domain/device.hpp"
#include "domain/rollout.hpp"

#include <random>

using namespace otaledger;
using namespace otaledger::domain;
using events::execution_phase;

namespace {

struct fleet_sim {
  std::mt19937_64 rng;
  std::vector<device_state> devices;
  std::vector<std::vector<events::event>> logs;
  std::map<std::string, rollout_counters> counters; // per task, folded from events only
  base::timestamp now = base::timestamp::from_seconds(1'800'000'000);
  int accepted = 0;
  int refused = 0;

  explicit fleet_sim(std::uint64_t seed, int n) : rng(seed) {
    for (int i = 0; i < n; ++i) {
      device_state d;
      auto id = "D" + std::to_string(i);
      apply(d, events::device_registered{id, "P1", id, "", "", {}, "1.0", "", false, now});
      devices.push_back(d);
      logs.emplace_back(std::vector<events::event>{
          events::device_registered{id, "P1", id, "", "", {}, "1.0", "", false, now}});
    }
  }

  static void apply(device_state& d, const events::event& e) { d = evolve(std::move(d), e); }

  std::uint32_t pick(std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); }

  device_command random_command(const std::string& dev) {
    static const char* tasks[] = {"A", "B", "C"};
    std::string task = tasks[pick(3)];
    events::execution_terms terms{"K",
                                  events::firmware_kind::fota,
                                  pick(4) == 0 ? "1.0" : "",
                                  pick(2) ? "1.1" : "1.2",
                                  10,
                                  50,
                                  pick(3),
                                  60,
                                  600,
                                  pick(4) == 0,
                                  false};
    switch (pick(16)) {
    case 0:
    case 1:
      return assign_execution{dev, task, terms};
    case 2:
    case 3:
      return start_execution{dev, task};
    case 4:
      return report_progress{dev, task, execution_phase::downloading, pick(101)};
    case 5:
      return report_progress{
          dev, task, pick(2) ? execution_phase::downloaded : execution_phase::installing, 0};
    case 6:
      return report_result{
          dev, task, pick(2) == 0, pick(2) ? "1.1" : "1.2", events::failure_code::install_failed,
          "x"};
    case 7:
      return hold_execution{dev, task};
    case 8:
      return release_execution{dev, task};
    case 9:
      return cancel_execution{dev, task};
    case 10:
      return expire_execution{dev, task};
    case 11:
      return retry_execution{dev, task};
    case 12:
      return requeue_execution{dev, task};
    case 13:
      return check_execution_timeout{dev, task};
    case 14:
      return release_execution_install{dev, task};
    default: {
      report_device_state r{dev, {}, {}, {}, {}, {}};
      if (pick(2)) r.online = pick(2) == 0;
      if (pick(2)) r.battery = pick(101);
      if (pick(2)) r.signal = pick(40);
      if (pick(5) == 0) r.fota_version = pick(2) ? "1.1" : "1.0";
      return r;
    }
    }
  }

  void step() {
    auto i = pick(static_cast<std::uint32_t>(devices.size()));
    auto& d = devices[i];
    now.micros += static_cast<std::int64_t>(pick(120)) * 1'000'000;
    decide_context ctx{now, "system:test", {}, nullptr};
    auto c = random_command(d.id);
    auto r = decide(d, c, ctx);
    if (!r) {
      ++refused;
      return;
    }
    ++accepted;
    for (const auto& e : r.value()) {
      apply(d, e);
      logs[i].push_back(e);
      if (auto t = task_of(e)) counters[std::string{*t}].apply(e);
    }
  }
};

// The phases in which an execution holds the device.
bool active(execution_phase p) {
  return p == execution_phase::deferred || p == execution_phase::notified ||
         p == execution_phase::downloading || p == execution_phase::downloaded ||
         p == execution_phase::installing;
}

} // namespace

BOOST_AUTO_TEST_SUITE(device_invariants)

BOOST_AUTO_TEST_CASE(a_device_never_runs_two_tasks_at_once) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    fleet_sim sim{seed, 6};
    for (int i = 0; i < 3000; ++i) {
      sim.step();
      for (const auto& d : sim.devices) {
        int running = 0;
        for (const auto& x : d.executions)
          running += active(x.phase) ? 1 : 0;
        BOOST_REQUIRE_MESSAGE(running <= 1, "seed " << seed << " device " << d.id << " runs "
                                                    << running << " tasks");
      }
    }
    BOOST_TEST(sim.accepted > 1000);
  }
}

BOOST_AUTO_TEST_CASE(replaying_a_device_stream_gives_the_same_state) {
  fleet_sim sim{42, 4};
  for (int i = 0; i < 5000; ++i)
    sim.step();
  for (std::size_t i = 0; i < sim.devices.size(); ++i) {
    device_state replayed;
    for (const auto& e : sim.logs[i])
      replayed = evolve(std::move(replayed), e);
    BOOST_TEST((replayed == sim.devices[i]), "device " << sim.devices[i].id);
  }
}

BOOST_AUTO_TEST_CASE(counters_folded_from_events_equal_a_recount_of_the_devices) {
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    fleet_sim sim{seed, 8};
    for (int i = 0; i < 4000; ++i)
      sim.step();
    for (const auto& [task, counters] : sim.counters) {
      rollout_counters recount;
      for (const auto& d : sim.devices)
        if (auto x = d.execution(task)) {
          ++recount.total;
          ++recount.in_phase[static_cast<std::size_t>(x->phase)];
        }
      BOOST_TEST(counters.total == recount.total, "seed " << seed << " task " << task);
      for (std::size_t p = 0; p < recount.in_phase.size(); ++p)
        BOOST_TEST(counters.in_phase[p] == recount.in_phase[p],
                   "seed " << seed << " task " << task << " phase "
                           << events::enum_name(static_cast<execution_phase>(p)));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_success_carries_the_target_version) {
  fleet_sim sim{7, 6};
  for (int i = 0; i < 6000; ++i)
    sim.step();
  int successes = 0;
  for (const auto& d : sim.devices)
    for (const auto& x : d.executions)
      if (x.phase == execution_phase::succeeded) {
        ++successes;
        BOOST_TEST(x.version == x.terms.target_version);
      }
  BOOST_TEST(successes > 0);
}

BOOST_AUTO_TEST_SUITE_END()
