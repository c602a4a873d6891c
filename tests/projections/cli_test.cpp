// The log subcommands, run as the otaledger binary on a real data directory.
#define BOOST_TEST_MODULE projections_cli
#include <boost/test/unit_test.hpp>

#include "events/json_codec.hpp"
#include "storage/open.hpp"
#include "tests/projections/rollout_log.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace otaledger;
namespace fs = std::filesystem;

namespace {

struct run_result {
  int status = -1;
  std::string out;
};

/// Runs `otaledger ARGS` (stderr merged into stdout) and returns its status and output.
run_result run(const std::string& args) {
  const std::string cmd = std::string(OTALEDGER_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p);
  run_result r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

struct data_dir {
  std::string path =
      (fs::temp_directory_path() / ("proj-cli-" + std::to_string(::getpid()))).string();
  std::uint64_t head = 0;
  data_dir() {
    fs::remove_all(path);
    storage::options o;
    o.path = path;
    o.sync = false;
    auto db = storage::open_database(o);
    BOOST_REQUIRE(db);
    BOOST_REQUIRE(testing::append_rollout(*db.value().events, 40, 10));
    head = db.value().events->head()();
  }
  ~data_dir() { fs::remove_all(path); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(cli_commands)

BOOST_FIXTURE_TEST_CASE(every_log_command_has_help, data_dir) {
  for (auto c : {"replay", "audit", "rebuild", "export", "verify"}) {
    auto r = run(std::string(c) + " --help");
    BOOST_TEST(r.status == 0, c);
    BOOST_TEST(r.out.find("usage: otaledger " + std::string(c)) != std::string::npos, c);
  }
}

BOOST_FIXTURE_TEST_CASE(verify_export_and_audit_read_the_whole_log, data_dir) {
  auto v = run("verify --data " + path);
  BOOST_TEST(v.status == 0, v.out);
  auto j = events::json::parse(lines(v.out).back());
  BOOST_TEST(j["ok"] == true);
  BOOST_TEST(j["events"] == head);

  auto e = run("export --data " + path + " --out " + path + "/log.jsonl");
  BOOST_TEST(e.status == 0, e.out);
  std::ifstream in(path + "/log.jsonl");
  std::string l;
  std::uint64_t n = 0;
  while (std::getline(in, l)) {
    auto ev = events::json::parse(l);
    BOOST_TEST(ev["position"] == n + 1);
    ++n;
  }
  BOOST_TEST(n == head);
  auto s = run("export --data " + path + " --stream task-T1");
  auto sl = lines(s.out);
  BOOST_REQUIRE_EQUAL(sl.size(), 3u); // two events and the summary on stderr
  BOOST_TEST(events::json::parse(sl[1])["type"] == "task.started");

  auto a = run("audit task-T1 --data " + path);
  BOOST_TEST(a.status == 0, a.out);
  BOOST_TEST(lines(a.out).size() == 2u);
  auto rb = run("rebuild audit --data " + path);
  BOOST_TEST(rb.status == 0, rb.out);
  auto c = run("audit --correlation start-T1 --data " + path);
  BOOST_TEST(c.status == 0);
  BOOST_TEST(lines(c.out).size() ==
             2u + 40u * 5u); // task.created, task.started, 5 execution events per device
}

BOOST_FIXTURE_TEST_CASE(replay_shows_a_device_as_of_a_position, data_dir) {
  // Positions: 1 product, 2-3 task, then cohorts of 10 devices x 6 steps.
  auto now = run("replay device-d1000000000 --json --data " + path);
  BOOST_TEST(now.status == 0, now.out);
  auto j = events::json::parse(now.out);
  BOOST_TEST(j["state"]["executions"][0]["phase"] == "succeeded");
  BOOST_TEST(j["timeline"].size() == 6u);
  auto then = run("replay device-d1000000000 --json --position 14 --data " + path);
  auto t = events::json::parse(then.out);
  BOOST_TEST(t["version"] == 2u); // registered (4), assigned (14)
  BOOST_TEST(t["state"]["executions"][0]["phase"] == "pending");
  auto bad = run("replay device-d1000000000 --until yesterday --data " + path);
  BOOST_TEST(bad.status == 2);
  BOOST_TEST(bad.out.find("--until wants an RFC 3339 time") != std::string::npos);
  auto past = run("replay device-d1000000000 --position 999999 --data " + path);
  BOOST_TEST(past.status == 2);
  BOOST_TEST(past.out.find("past the end of the log") != std::string::npos);
  auto unknown = run("replay gadget-1 --data " + path);
  BOOST_TEST(unknown.status == 1);
  BOOST_TEST(unknown.out.find("stream 'gadget-1' is not one of") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(rebuild_verify_proves_every_view_equals_a_fresh_fold, data_dir) {
  auto r = run("rebuild --all --verify --data " + path);
  BOOST_TEST(r.status == 0, r.out);
  auto ls = lines(r.out);
  BOOST_REQUIRE_MESSAGE(ls.size() == 6u, r.out);
  for (auto& l : ls) {
    auto j = events::json::parse(l);
    BOOST_TEST(j["equal"] == true, l);
    BOOST_TEST(j["position"] == head);
  }
  auto again = run("rebuild executions --verify --data " + path);
  BOOST_TEST(again.status == 0, again.out);
  auto bad = run("rebuild nope --data " + path);
  BOOST_TEST(bad.status == 2);
  BOOST_TEST(bad.out.find("unknown view 'nope'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
