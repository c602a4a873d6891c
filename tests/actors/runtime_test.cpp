// The actor runtime with the simulated fleet on a real RocksDB store.
#include "tests/actors/fleet_fixture.hpp"

#include <boost/test/unit_test.hpp>

using namespace otaledger;
using otaledger::testing::fleet_env;
using otaledger::testing::t0;

namespace {

events::event_meta with_correlation(std::string c) {
  events::event_meta m;
  m.principal = "operator:test";
  m.correlation = std::move(c);
  return m;
}

std::vector<events::envelope> stream(fleet_env& env, const std::string& s) {
  return env.db.events->read_stream(s, stream_version{1}, 1000).value();
}

std::string ts(std::int64_t micros) {
  return base::format_rfc3339(base::timestamp{micros});
}

} // namespace

BOOST_AUTO_TEST_SUITE(rollout)

BOOST_AUTO_TEST_CASE(
    a_started_task_over_the_simulated_fleet_completes_with_every_device_succeeded) {
  fleet_env env;
  env.catalog_and_devices(200);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  auto phases = env.phases("1", 200);
  BOOST_TEST(phases["succeeded"] == 200);
  BOOST_TEST(env.fleet->tally().succeeded == 200u);
  BOOST_TEST(env.device("D7").fota_version == "1.1");
  auto t = env.task("1");
  BOOST_TEST((t.status == domain::task_status::completed));
  BOOST_TEST(*t.targets_total == 200u);
}

BOOST_AUTO_TEST_CASE(a_result_resent_after_its_answer_was_lost_is_answered_as_a_duplicate) {
  fleet_env env;
  env.catalog_and_devices(3);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  const auto head = env.db.events->head();
  // The simulated device D1 sent this very result (same command id) and it
  // was applied; deciding it again would refuse it (the execution is final).
  events::event_meta m;
  m.principal = "device:D1";
  m.command = "sim:D1:1:1:succeeded";
  auto again = env.rt->execute(
      testing::parse_command("report_result",
                             R"({"device":"D1","task":"1","succeeded":true,"version":"1.1"})"),
      m);
  BOOST_TEST(again.ok(), again.message);
  BOOST_TEST(again.duplicate);
  BOOST_TEST(again.events.empty());
  // The same report under a new id is refused, naming the final state.
  m.command = "another-id";
  auto fresh = env.rt->execute(
      testing::parse_command("report_result",
                             R"({"device":"D1","task":"1","succeeded":true,"version":"1.1"})"),
      m);
  BOOST_TEST(!fresh.ok());
  BOOST_TEST(!fresh.duplicate);
  BOOST_TEST((env.db.events->head() == head));
}

BOOST_AUTO_TEST_CASE(failed_installs_end_failed_and_the_task_still_completes) {
  actors::sim_options sim;
  sim.failure_rate = 0.3;
  sim.seed = 7;
  fleet_env env{sim};
  env.catalog_and_devices(150);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  int expected_failed = 0;
  for (int i = 0; i < 150; ++i)
    if (env.fleet->outcome_of(fmt::format("D{}", i), "1", 1) !=
        actors::simulated_fleet::outcome::succeed)
      ++expected_failed;
  BOOST_TEST(expected_failed > 0);
  auto phases = env.phases("1", 150);
  BOOST_TEST(phases["failed"] == expected_failed);
  BOOST_TEST(phases["succeeded"] == 150 - expected_failed);
}

BOOST_AUTO_TEST_CASE(a_task_scheduled_for_later_starts_only_when_its_time_comes) {
  fleet_env env;
  env.catalog_and_devices(20);
  env.create_task("1", fmt::format(R"("start_at":"{}")", ts(t0 + 3'600'000'000)));
  env.rt->tick();
  env.settle();
  BOOST_TEST((env.task("1").status == domain::task_status::not_started));
  env.clock.advance_micros(3'600'000'000);
  env.rt->tick();
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  BOOST_TEST(env.phases("1", 20)["succeeded"] == 20);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(task_control)

BOOST_AUTO_TEST_CASE(pause_holds_every_notified_device_with_the_pause_correlation) {
  actors::sim_options sim;
  sim.silent_rate = 1.0; // devices take the instruction and stay notified
  fleet_env env{sim};
  env.catalog_and_devices(30);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  BOOST_TEST(env.phases("1", 30)["notified"] == 30);
  auto o = env.rt->execute(testing::parse_command("pause_task", R"({"task":"1"})"),
                           with_correlation("pause-42"));
  BOOST_REQUIRE(o.ok());
  env.settle();
  for (int i = 0; i < 30; ++i) {
    auto d = env.device(fmt::format("D{}", i));
    BOOST_TEST(d.execution("1")->held);
    auto evs = stream(env, fmt::format("device-D{}", i));
    BOOST_REQUIRE(!evs.empty());
    BOOST_TEST(evs.back().type == "execution.held");
    BOOST_TEST(evs.back().meta.correlation == "pause-42");
  }
  BOOST_TEST(env.fleet->tally().held == 30u);
  // Resume releases them with the resume's correlation.
  o = env.rt->execute(testing::parse_command("resume_task", R"({"task":"1"})"),
                      with_correlation("resume-43"));
  BOOST_REQUIRE(o.ok());
  env.settle();
  auto evs = stream(env, "device-D3");
  BOOST_TEST(evs.back().type == "execution.released");
  BOOST_TEST(evs.back().meta.correlation == "resume-43");
  BOOST_TEST(!env.device("D3").execution("1")->held);
}

BOOST_AUTO_TEST_CASE(
    a_paused_task_whose_devices_finish_their_downloads_installs_only_after_resume) {
  fleet_env env;
  env.catalog_and_devices(40);
  // Download-only: devices download and wait; pause; release; nothing installs while paused.
  env.create_task("1", R"("download_only":true)");
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  BOOST_TEST(env.phases("1", 40)["downloaded"] == 40);
  env.must("pause_task", R"({"task":"1"})");
  env.settle();
  env.must("release_task_install", R"({"task":"1"})");
  env.settle();
  BOOST_TEST(env.phases("1", 40)["downloaded"] == 40);
  env.must("resume_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  BOOST_TEST(env.phases("1", 40)["succeeded"] == 40);
}

BOOST_AUTO_TEST_CASE(cancel_ends_every_unfinished_device_canceled_and_stops_the_task) {
  actors::sim_options sim;
  sim.silent_rate = 1.0;
  fleet_env env{sim};
  env.catalog_and_devices(25);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  env.must("cancel_task", R"({"task":"1"})");
  env.settle();
  BOOST_TEST(env.phases("1", 25)["canceled"] == 25);
  BOOST_TEST((env.task("1").status == domain::task_status::stopped));
  BOOST_TEST(env.fleet->tally().canceled == 25u);
}

BOOST_AUTO_TEST_CASE(the_deadline_fails_every_unfinished_device_deadline_passed) {
  actors::sim_options sim;
  sim.silent_rate = 1.0;
  fleet_env env{sim};
  env.catalog_and_devices(10);
  env.create_task("1", fmt::format(R"("deadline":"{}")", ts(t0 + 3'600'000'000)));
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  BOOST_TEST(env.phases("1", 10)["notified"] == 10);
  env.clock.advance_micros(3'600'000'001);
  env.rt->tick();
  BOOST_REQUIRE(env.wait_for("task-1", "task.deadline_reached"));
  env.settle();
  BOOST_TEST(env.phases("1", 10)["failed"] == 10);
  auto dev = env.device("D4");
  auto x = dev.execution("1"); // dev holds the state x points into
  BOOST_TEST(x->note.find("deadline") != std::string::npos);
  BOOST_TEST((env.task("1").status == domain::task_status::stopped));
}

BOOST_AUTO_TEST_CASE(a_device_busy_in_a_running_task_fails_busy_in_the_second_task) {
  actors::sim_options sim;
  sim.silent_rate = 1.0;
  fleet_env env{sim};
  env.catalog_and_devices(5);
  env.create_task("1");
  env.create_task("2");
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  env.must("start_task", R"({"task":"2"})");
  env.settle();
  BOOST_TEST(env.phases("1", 5)["notified"] == 5);
  BOOST_TEST(env.phases("2", 5)["failed"] == 5);
  BOOST_TEST(env.device("D2").execution("2")->note.find("busy in task 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failed_devices_are_retried_after_the_interval_and_every_retry_is_an_event) {
  actors::sim_options sim;
  sim.failure_rate = 0.5;
  sim.seed = 3;
  fleet_env env{sim};
  const int n = 60;
  env.catalog_and_devices(n);
  env.create_task("1", R"("retry":{"max_retries":2,"interval_seconds":60})");
  env.must("start_task", R"({"task":"1"})");
  for (int round = 0; round < 10; ++round) {
    env.settle();
    if (env.task("1").status == domain::task_status::completed) break;
    env.clock.advance_micros(61'000'000);
    env.rt->tick();
  }
  BOOST_REQUIRE((env.task("1").status == domain::task_status::completed));
  env.settle();
  int expected_ok = 0, retried = 0;
  for (int i = 0; i < n; ++i) {
    auto id = fmt::format("D{}", i);
    bool ok = false;
    for (std::uint32_t a = 1; a <= 3 && !ok; ++a) {
      ok = env.fleet->outcome_of(id, "1", a) == actors::simulated_fleet::outcome::succeed;
      if (!ok && a < 3) ++retried;
    }
    expected_ok += ok;
  }
  BOOST_TEST(retried > 0);
  auto phases = env.phases("1", n);
  BOOST_TEST(phases["succeeded"] == expected_ok);
  BOOST_TEST(phases["failed"] == n - expected_ok);
  int retry_events = 0;
  for (int i = 0; i < n; ++i)
    for (const auto& e : stream(env, fmt::format("device-D{}", i)))
      retry_events += e.type == "execution.retried";
  BOOST_TEST(retry_events == retried);
}

BOOST_AUTO_TEST_CASE(a_low_battery_device_waits_deferred_and_continues_by_itself_when_charged) {
  fleet_env env;
  env.catalog_and_devices(6);
  auto o = env.run("report_device_state", R"({"device":"D2","battery":10})", "device:D2");
  BOOST_REQUIRE(o.ok());
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  auto phases = env.phases("1", 6);
  BOOST_TEST(phases["succeeded"] == 5);
  BOOST_TEST(phases["deferred"] == 1);
  BOOST_TEST((env.device("D2").execution("1")->phase == events::execution_phase::deferred));
  BOOST_TEST((env.task("1").status == domain::task_status::upgrading));
  o = env.run("report_device_state", R"({"device":"D2","battery":80})", "device:D2");
  BOOST_REQUIRE(o.ok());
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  BOOST_TEST(env.phases("1", 6)["succeeded"] == 6);
}

BOOST_AUTO_TEST_CASE(waves_halt_with_an_error_pause_when_failures_pass_the_threshold) {
  actors::sim_options sim;
  sim.failure_rate = 1.0;
  fleet_env env{sim};
  env.catalog_and_devices(50);
  env.create_task(
      "1",
      R"("rollout":{"waves":"count","wave_size":10,"error_threshold_percent":20,"error_min_finished":5})");
  env.must("start_task", R"({"task":"1"})");
  env.settle();
  auto t = env.task("1");
  BOOST_TEST((t.status == domain::task_status::paused));
  BOOST_TEST((t.paused_by.has_value()));
  auto phases = env.phases("1", 50);
  BOOST_TEST(phases["pending"] == 40); // the later waves never started
  BOOST_TEST(phases["failed"] == 10);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(restart)

BOOST_AUTO_TEST_CASE(
    an_actor_system_stopped_mid_rollout_and_restarted_ends_like_an_uninterrupted_run) {
  actors::sim_options sim;
  sim.failure_rate = 0.2;
  sim.seed = 11;
  const int n = 300;
  std::map<std::string, std::string> reference;
  {
    fleet_env env{sim};
    env.catalog_and_devices(n);
    env.create_task("1");
    env.must("start_task", R"({"task":"1"})");
    BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
    env.settle();
    for (int i = 0; i < n; ++i) {
      auto id = fmt::format("D{}", i);
      auto dev = env.device(id);
      auto x = dev.execution("1"); // dev holds the state x points into
      reference[id] = std::string{events::enum_names(x->phase)[static_cast<std::size_t>(x->phase)]};
    }
  }
  fleet_env env{sim};
  env.catalog_and_devices(n);
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("device-D150", "execution.notified"));
  env.restart(); // everything in memory is gone; the log is all that is left
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i)
    ids.push_back(fmt::format("D{}", i));
  env.fleet->poll(ids); // devices reconnect and ask for their instructions
  BOOST_REQUIRE_MESSAGE(env.wait_for("task-1", "task.completed"),
                        "the task did not complete after the restart:\n"
                            << env.stuck("1", n));
  env.settle();
  for (int i = 0; i < n; ++i) {
    auto id = fmt::format("D{}", i);
    auto dev = env.device(id);
    auto x = dev.execution("1"); // dev holds the state x points into
    BOOST_REQUIRE(x);
    BOOST_TEST(std::string{events::enum_names(x->phase)[static_cast<std::size_t>(x->phase)]} ==
                   reference[id],
               id << " ends " << events::enum_name(x->phase) << ", uninterrupted " << reference[id]
                  << "; its stream:\n"
                  << env.history("device-" + id));
  }
  auto t = env.task("1");
  BOOST_TEST((t.status == domain::task_status::completed));
}

BOOST_AUTO_TEST_SUITE_END()

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(crash)

BOOST_AUTO_TEST_CASE(
    a_rollout_process_killed_with_sigkill_finishes_after_restart_like_an_uninterrupted_run) {
  actors::sim_options sim;
  sim.failure_rate = 0.2;
  sim.seed = 5;
  const int n = 400;
  std::map<std::string, std::string> reference;
  {
    fleet_env env{sim};
    env.catalog_and_devices(n);
    env.create_task("1");
    env.must("start_task", R"({"task":"1"})");
    BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
    env.settle();
    for (int i = 0; i < n; ++i) {
      auto dev = env.device(fmt::format("D{}", i));
      auto x = dev.execution("1"); // dev holds the state x points into
      reference[fmt::format("D{}", i)] =
          std::string{events::enum_names(x->phase)[static_cast<std::size_t>(x->phase)]};
    }
  }
  auto dir = testing::make_temp_dir("sigkill");
  int out[2];
  BOOST_REQUIRE(pipe(out) == 0);
  pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(ACTORS_ROLLOUT_CHILD, ACTORS_ROLLOUT_CHILD, dir.c_str(), std::to_string(n).c_str(), "5",
          "0.2", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  // Kill it once 100 executions succeeded: in the middle of the rollout.
  std::string seen;
  FILE* f = fdopen(out[0], "r");
  char line[128];
  while (fgets(line, sizeof line, f)) {
    seen = line;
    if (seen.rfind("succeeded 100", 0) == 0 || seen.rfind("completed", 0) == 0) break;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  fclose(f);
  BOOST_TEST_MESSAGE("killed after: " << seen);
  BOOST_REQUIRE(seen.rfind("succeeded 100", 0) == 0); // killed mid-rollout, not after it
  BOOST_TEST(WIFSIGNALED(status));

  fleet_env env{sim, dir};
  env.keep = false;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i)
    ids.push_back(fmt::format("D{}", i));
  env.fleet->poll(ids);
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  for (int i = 0; i < n; ++i) {
    auto id = fmt::format("D{}", i);
    auto dev = env.device(id);
    auto x = dev.execution("1"); // dev holds the state x points into
    BOOST_REQUIRE(x);
    BOOST_TEST(std::string{events::enum_names(x->phase)[static_cast<std::size_t>(x->phase)]} ==
               reference[id]);
  }
}

BOOST_AUTO_TEST_SUITE_END()
