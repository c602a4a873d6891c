// Crash and corruption: the failures the store must survive or report.
#include <boost/test/unit_test.hpp>

#include "storage/errc.hpp"
#include "storage/internal/rocks.hpp"
#include "tests/storage/store_fixture.hpp"

#include <rocksdb/db.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace otaledger;
using namespace otaledger::storage;
using otaledger::testing::make_append;

namespace {

constexpr std::size_t events_per_command = 3;

// The child: appends commands of three events from four threads and reports
// each acknowledgement ("<command id>\n") on the pipe, until it is killed.
[[noreturn]] void run_child(const std::string& dir, int round, int fd) {
  options o;
  o.path = dir;
  auto db = open_database(o);
  if (!db) _exit(3);
  auto& store = *db.value().events;
  std::mutex pipe_mtx;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        auto cmd = "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = store.append(make_append("s-" + std::to_string((t + i) % 5),
                                          expected_version::any(), events_per_command, cmd));
        if (!r) _exit(4);
        auto line = cmd + "\n";
        std::lock_guard lock{pipe_mtx};
        if (::write(fd, line.data(), line.size()) < 0) _exit(5);
      }
    });
  for (auto& t : ts)
    t.join();
  _exit(0);
}

} // namespace

BOOST_AUTO_TEST_SUITE(crash_recovery)

BOOST_AUTO_TEST_CASE(
    sigkill_at_random_instants_loses_no_acknowledged_append_and_leaves_no_half_command) {
  auto dir = otaledger::testing::temp_dir("crash");
  std::mt19937 rng{12345};
  std::set<std::string> acknowledged;
  for (int round = 0; round < 20; ++round) {
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_child(dir, round, fds[1]);
    }
    ::close(fds[1]);
    // Read a random number of acknowledgements (0 to 400), then kill.
    auto want = rng() % 401;
    FILE* in = ::fdopen(fds[0], "r");
    char line[128];
    std::size_t got = 0;
    while (got < want && std::fgets(line, sizeof line, in)) {
      std::string s{line};
      if (!s.empty() && s.back() == '\n') s.pop_back();
      acknowledged.insert(s);
      ++got;
    }
    ::kill(pid, SIGKILL);
    // Acknowledgements already in the pipe were given before the kill: they count.
    while (std::fgets(line, sizeof line, in)) {
      std::string s{line};
      if (!s.empty() && s.back() == '\n') {
        s.pop_back();
        acknowledged.insert(s);
      }
    }
    std::fclose(in);
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST_REQUIRE(WIFSIGNALED(status), "round " << round << ": the child ended by itself");

    options o;
    o.path = dir;
    auto db = open_database(o);
    BOOST_REQUIRE_MESSAGE(db, "reopen after round " << round << ": " << error_detail());
    auto all = db.value().events->read_all(log_position{1}, 100'000'000);
    BOOST_REQUIRE_MESSAGE(all, "read after round " << round << ": " << error_detail());
    std::map<std::string, std::size_t> per_command;
    std::map<std::string, std::uint64_t> versions;
    for (std::size_t i = 0; i < all.value().size(); ++i) {
      auto& e = all.value()[i];
      BOOST_TEST_REQUIRE(e.position() == i + 1, "gap at " << i + 1);
      BOOST_TEST_REQUIRE(e.version() == ++versions[e.stream], "version gap in " << e.stream);
      ++per_command[e.meta.command];
    }
    for (auto& [cmd, n] : per_command)
      BOOST_TEST_REQUIRE(n == events_per_command, "command " << cmd << " is half-written");
    for (auto& cmd : acknowledged)
      BOOST_TEST_REQUIRE(per_command.count(cmd) == 1u, "acknowledged " << cmd << " is lost");
  }
  BOOST_TEST(acknowledged.size() > 100u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(corruption)

BOOST_AUTO_TEST_CASE(a_flipped_byte_in_a_stored_record_is_reported_with_its_position) {
  otaledger::testing::store_fixture f;
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(f.store().append(make_append("t", expected_version::any())));
  f.db = {};
  {
    // Flip one byte of the record at position 6, behind the store's back.
    rocksdb::DBOptions dbo;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (auto* n : internal::cf_names)
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions{});
    std::vector<rocksdb::ColumnFamilyHandle*> hs;
    rocksdb::DB* raw = nullptr;
    BOOST_REQUIRE(rocksdb::DB::Open(dbo, f.dir + "/db", cfs, &hs, &raw).ok());
    std::string key(8, '\0');
    key[7] = 6;
    std::string value;
    BOOST_REQUIRE(raw->Get({}, hs[internal::cf_log], key, &value).ok());
    value[value.size() - 3] ^= 0x20;
    BOOST_REQUIRE(raw->Put({}, hs[internal::cf_log], key, value).ok());
    for (auto* h : hs)
      BOOST_REQUIRE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  f.open();
  auto head = f.store().read_all(log_position{1}, 5);
  BOOST_REQUIRE(head); // positions before the damage still read
  auto r = f.store().read_all(log_position{1}, 100);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::corruption));
  BOOST_TEST(error_detail() == "record at position 6: record failed its CRC32C check");
  auto s = f.store().read_stream("t", stream_version{1}, 100);
  BOOST_REQUIRE(!s);
  BOOST_TEST((s.error() == errc::corruption));
}

BOOST_AUTO_TEST_SUITE_END()
