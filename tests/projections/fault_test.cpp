// Crash: SIGKILL the projector in the middle of a batch, restart it, and the
// views equal a fresh rebuild; at every kill, each view equals the log folded
// up to its checkpoint (never ahead, never behind).
#define BOOST_TEST_MODULE projections_faults
#include <boost/test/unit_test.hpp>

#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"
#include "storage/internal/rocks.hpp"
#include "storage/open.hpp"
#include "tests/projections/rollout_log.hpp"

#include <rocksdb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <random>

using namespace otaledger;
using namespace otaledger::projections;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names() {
  std::vector<std::string> v;
  for (auto n : view_names())
    v.emplace_back(n);
  return v;
}

storage::options opts(const std::string& dir) {
  storage::options o;
  o.path = dir;
  o.sync = false;
  return o;
}

/// Runs the child on `dir`, reads `want` progress lines, SIGKILLs it.
/// Returns whether it was killed (false: it finished first).
bool run_and_kill(const std::string& dir, std::size_t want) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(PROJECTIONS_CRASH_CHILD, PROJECTIONS_CRASH_CHILD, dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  FILE* in = ::fdopen(fds[0], "r");
  char line[64];
  std::size_t got = 0;
  while (got < want && std::fgets(line, sizeof line, in))
    ++got;
  ::kill(pid, SIGKILL);
  while (std::fgets(line, sizeof line, in)) {
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    BOOST_TEST(WEXITSTATUS(status) == 0);
    return false;
  }
  return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(projector_crash)

BOOST_AUTO_TEST_CASE(sigkill_mid_batch_leaves_views_at_their_checkpoints_and_restart_converges) {
  const auto dir = (fs::temp_directory_path() / fmt::format("proj-crash-{}", ::getpid())).string();
  fs::remove_all(dir);
  {
    auto db = storage::open_database(opts(dir));
    BOOST_REQUIRE(db);
    BOOST_REQUIRE(testing::append_rollout(*db.value().events, 1500, 100));
  }
  std::mt19937 rng{11};
  int kills = 0;
  for (int round = 0; round < 8; ++round) {
    const bool killed = run_and_kill(dir, 1 + rng() % 9);
    kills += killed;
    auto db = storage::open_database(opts(dir));
    BOOST_REQUIRE(db);
    auto& log = *db.value().events;
    auto& kv = *db.value().views;
    // Every view equals the log folded up to its checkpoint.
    for (auto& v : names()) {
      const auto cp = kv.load_checkpoint(checkpoint_name(v)).value();
      BOOST_TEST(cp() <= log.head()());
      auto past = build_as_of(log, kv, {v}, cp);
      BOOST_REQUIRE_MESSAGE(past, error_detail());
      const bool same = digest_space(kv, past.value().at(v)).value() ==
                        digest_space(kv, live_space(kv, v).value()).value();
      BOOST_TEST(same, "round " << round << ": " << v << " at checkpoint " << cp());
    }
    if (!killed) break;
  }
  BOOST_TEST(kills >= 3);
  {
    auto db = storage::open_database(opts(dir));
    BOOST_REQUIRE(db);
    projector p{*db.value().events, *db.value().views, make_all_views()};
    BOOST_REQUIRE(p.open());
    BOOST_REQUIRE(p.catch_up());
    rebuild_options o;
    o.verify = true;
    auto r = rebuild(*db.value().events, *db.value().views, names(), o);
    BOOST_REQUIRE_MESSAGE(r, error_detail());
    for (auto& rep : r.value())
      BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference);
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(projector_corruption)

BOOST_AUTO_TEST_CASE(
    a_flipped_byte_in_the_log_fails_a_rebuild_at_its_position_and_keeps_live_views) {
  const auto dir =
      (fs::temp_directory_path() / fmt::format("proj-corrupt-{}", ::getpid())).string();
  fs::remove_all(dir);
  std::map<std::string, view_digest> before;
  {
    auto db = storage::open_database(opts(dir));
    BOOST_REQUIRE(db);
    BOOST_REQUIRE(testing::append_rollout(*db.value().events, 3000, 100)); // 18,003 events
    projector p{*db.value().events, *db.value().views, make_all_views()};
    BOOST_REQUIRE(p.open());
    BOOST_REQUIRE(p.catch_up());
    for (auto& v : names())
      before[v] = digest_space(*db.value().views, live_space(*db.value().views, v).value()).value();
  }
  {
    // Position 13,000: in the fourth page of 4,096 events, so the rebuild's
    // reader is pages ahead of the folds when it finds the damage.
    auto raw = storage::internal::open_rocks(opts(dir));
    BOOST_REQUIRE(raw);
    auto& r = *raw.value();
    std::string key(8, '\0');
    for (int i = 7, v = 13000; i >= 0; --i, v >>= 8)
      key[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    std::string value;
    BOOST_REQUIRE(r.db->Get({}, r[storage::internal::cf_log], key, &value).ok());
    value[value.size() - 4] ^= 0x20;
    BOOST_REQUIRE(r.db->Put({}, r[storage::internal::cf_log], key, value).ok());
  }
  for (bool threads : {true, false}) {
    auto db = storage::open_database(opts(dir));
    BOOST_REQUIRE(db);
    auto& kv = *db.value().views;
    rebuild_options o;
    o.projector.fresh_threads = threads;
    auto r = rebuild(*db.value().events, kv, names(), o);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error() == storage::errc::corruption));
    BOOST_TEST(
        error_detail().find("record at position 13000: the record failed its CRC32C check") !=
            std::string::npos,
        error_detail());
    for (auto& v : names()) {
      BOOST_TEST(live_generation(kv, v).value() == 1u);
      BOOST_TEST((digest_space(kv, live_space(kv, v).value()).value() == before[v]), v);
    }
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
