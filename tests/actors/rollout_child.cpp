// A rollout in a process of its own, for the SIGKILL test:
//   actors_rollout_child DIR DEVICES SEED FAILURE_RATE
// Sets up the catalog and DEVICES devices, starts task 1 over the simulated
// fleet, and prints "succeeded N" on stdout each time the log holds 50 more
// succeeded executions, until it is killed (or the task completes: "completed").
#include "tests/actors/fleet_fixture.hpp"

#include <cstdio>
#include <cstdlib>

using namespace otaledger;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: actors_rollout_child DIR DEVICES SEED FAILURE_RATE\n");
    return 2;
  }
  actors::sim_options sim;
  sim.seed = std::strtoull(argv[3], nullptr, 10);
  sim.failure_rate = std::strtod(argv[4], nullptr);
  int n = std::atoi(argv[2]);
  testing::fleet_env env{sim, argv[1]};
  env.catalog_and_devices(n);
  env.create_task("1");
  std::mutex m;
  std::uint64_t succeeded = 0;
  auto sub = env.db.events->subscribe(
      log_position{0}, [&](std::span<const events::envelope> b) -> result<void> {
        std::lock_guard lock{m};
        for (const auto& e : b) {
          if (e.type == "execution.succeeded" && ++succeeded % 50 == 0) {
            std::printf("succeeded %llu\n", static_cast<unsigned long long>(succeeded));
            std::fflush(stdout);
          }
          if (e.type == "task.completed") {
            std::printf("completed\n");
            std::fflush(stdout);
          }
        }
        return outcome::success();
      });
  env.must("start_task", R"({"task":"1"})");
  env.wait_for("task-1", "task.completed", std::chrono::seconds{600});
  sub->stop();
  env.keep = true;
  return 0;
}
