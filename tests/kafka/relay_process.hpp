// Runs kafka_relay_child processes: a relay killed with SIGKILL at random
// points and restarted must publish the whole log, nothing missing.
#pragma once

#include "tests/kafka/helpers.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <vector>

extern char** environ;

namespace otaledger::kafka::testing {

#ifndef KAFKA_RELAY_CHILD
#error "KAFKA_RELAY_CHILD must name the kafka_relay_child executable"
#endif

inline pid_t spawn_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string path = KAFKA_RELAY_CHILD;
  argv.push_back(path.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), environ);
  BOOST_REQUIRE_MESSAGE(rc == 0, "posix_spawn " << path << " failed: " << rc);
  return pid;
}

inline std::uint64_t read_checkpoint_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  unsigned long long v = 0;
  if (in >> v) return v;
  return 0;
}

/// Exit status of a child, or -1 while it runs.
inline int try_reap(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Starts the child relay over a deterministic log of `total` events, kills it
/// with SIGKILL once its checkpoint passed a random point, five times, then
/// lets a last one finish; the topic must then hold every position.
inline void kill_relay_at_random_points(const std::string& brokers, const std::string& topic,
                                        std::uint64_t total, std::uint64_t window) {
  std::mt19937_64 rng{std::random_device{}()};
  auto dir = std::filesystem::temp_directory_path() /
             ("otaledger-kafka-child-" + std::to_string(::getpid()) + "-" +
              std::to_string(rng() % 1000000));
  std::filesystem::create_directories(dir);
  // The child's store is RocksDB, which the parent must not open while a
  // child runs; the child mirrors its relay's checkpoint in a file for us.
  auto checkpoint = dir / "checkpoint";
  std::vector<std::string> args = {"relay",
                                   "--brokers",
                                   brokers,
                                   "--topic",
                                   topic,
                                   "--count",
                                   std::to_string(total),
                                   "--streams",
                                   "24",
                                   "--seed",
                                   "11",
                                   "--dir",
                                   dir.string(),
                                   "--window",
                                   std::to_string(window)};
  std::uint64_t kills = 0;
  for (int round = 0; round < 5; ++round) {
    auto before = read_checkpoint_file(checkpoint);
    if (before >= total) break;
    auto target = before + 1 + rng() % std::max<std::uint64_t>(1, (total - before) / 4);
    pid_t pid = spawn_child(args);
    int exited = -1;
    bool reached = wait_until(
        [&] {
          exited = try_reap(pid);
          return exited >= 0 || read_checkpoint_file(checkpoint) >= target;
        },
        90s);
    if (exited < 0) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      ++kills;
    }
    BOOST_TEST_REQUIRE(reached);
    BOOST_TEST_REQUIRE(exited <= 0); // killed by us, never an error exit
    auto after = read_checkpoint_file(checkpoint);
    BOOST_TEST_MESSAGE("round " << round << ": checkpoint " << before << " -> " << after
                                << " (killed at >= " << target << ")");
    BOOST_TEST(after >= before);
  }
  BOOST_TEST(kills >= 1u);
  auto last = args;
  last.push_back("--exit-when-done");
  pid_t pid = spawn_child(last);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST_REQUIRE(WIFEXITED(status));
  BOOST_TEST_REQUIRE(WEXITSTATUS(status) == 0);
  BOOST_TEST(read_checkpoint_file(checkpoint) == total);
  auto records = read_topic(brokers, topic, total, 120s);
  check_published(records, total);
  BOOST_TEST_MESSAGE("topic holds " << records.size() << " records for " << total
                                    << " events (copies from the kills: " << records.size() - total
                                    << ")");
  std::filesystem::remove_all(dir);
}

} // namespace otaledger::kafka::testing
