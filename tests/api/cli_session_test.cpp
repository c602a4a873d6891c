// A scripted operator session through the command line: `otaledger serve` as
// a child process on a temporary data directory, and every step an
// `otaledger <resource> <verb>` child process talking to it over loopback
// (OTALEDGER_SERVER / OTALEDGER_TOKEN): a product, devices, a group filled by
// "add all matching", two firmware versions with uploaded images, an online
// delta, a task with thresholds, start, pause, resume, cancel, a refused
// start, the CSV export and the audit trail.
#include <utility> // before Boost.Asio (std::exchange)

#include <boost/asio.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct run_result {
  int status = -1;
  std::string out;
};

/// Runs otaledger with `args`; stdout captured, stderr appended to `err_log`.
run_result otaledger(std::vector<std::string> args, const fs::path& err_log) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  args.insert(args.begin(), OTALEDGER_BIN);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    (void)!std::freopen(err_log.c_str(), "a", stderr);
    std::vector<char*> a;
    for (auto& s : args)
      a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  run_result r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    r.out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

template <class F> bool eventually(F cond, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polling a child process
  }
  return cond();
}

std::string bytes(std::size_t n, unsigned seed) {
  std::mt19937 g{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(g() & 0xff);
  return s;
}

struct session {
  fs::path root = fs::temp_directory_path() / ("otaledger-cli-" + std::to_string(::getpid()));
  fs::path data = root / "data";
  fs::path err = root / "stderr.log";
  int port = free_port();
  pid_t server = -1;

  session() {
    fs::remove_all(root);
    fs::create_directories(root);
    auto tok = otaledger({"token", "create", "--data", data.string(), "--name", "root", "--role",
                          "admin"},
                         err);
    BOOST_REQUIRE_EQUAL(tok.status, 0);
    auto token = tok.out.substr(0, tok.out.find('\n'));
    ::setenv("OTALEDGER_TOKEN", token.c_str(), 1);
    auto url = "http://127.0.0.1:" + std::to_string(port);
    ::setenv("OTALEDGER_SERVER", url.c_str(), 1);
    server = ::fork();
    if (server == 0) {
      auto log = (root / "server.log").string();
      (void)!std::freopen(log.c_str(), "a", stdout);
      (void)!std::freopen(log.c_str(), "a", stderr);
      std::string listen = "127.0.0.1:" + std::to_string(port);
      ::execl(OTALEDGER_BIN, OTALEDGER_BIN, "serve", "--data", data.c_str(), "--listen",
              listen.c_str(), "--unsynced", nullptr);
      ::_exit(127);
    }
    BOOST_REQUIRE(eventually([&] { return cli({"server", "health"}).status == 0; }));
  }
  ~session() {
    if (server > 0) {
      ::kill(server, SIGTERM);
      ::waitpid(server, nullptr, 0);
    }
    fs::remove_all(root);
  }

  run_result cli(std::vector<std::string> args) { return otaledger(std::move(args), err); }

  /// A step that must succeed; its --json output parsed.
  json ok(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = cli(args);
    std::string line;
    for (auto& a : args)
      line += a + " ";
    BOOST_TEST_INFO("otaledger " << line << "-> " << r.status << " " << r.out);
    BOOST_REQUIRE_EQUAL(r.status, 0);
    return json::parse(r.out, nullptr, false);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(cli_session)

BOOST_AUTO_TEST_CASE(an_operator_walks_the_seeds_flows_end_to_end_through_the_cli) {
  session s;
  s.ok({"product", "create", "--product", "P1", "--name", "Meter", "--require-verification",
        "false"});
  for (std::string d : {"D0", "D1", "D2"})
    s.ok({"device", "register", "--device", d, "--product", "P1", "--fota-version", "1.0",
          "--mac", "aa:bb:cc:00:00:0" + d.substr(1)});
  // Groups: one by one, then "all matching" (the fleet view catches up first).
  s.ok({"group", "create", "--group", "G1", "--name", "North"});
  s.ok({"group", "add", "G1", "--devices", R"(["D0"])"});
  BOOST_REQUIRE(eventually([&] {
    auto r = s.cli({"device", "list", "--product", "P1", "--json"});
    auto j = json::parse(r.out, nullptr, false);
    return r.status == 0 && j.is_object() && j["items"].size() == 3;
  }));
  auto matched = s.ok({"group", "add-matching", "G1", "--filter", R"({"product":"P1"})"});
  BOOST_TEST(matched["matched"] == 3);
  auto found = s.ok({"device", "search", "--mac", "AA-BB-CC-00-00-02"});
  BOOST_REQUIRE_EQUAL(found["items"].size(), 1u);
  BOOST_TEST(found["items"][0]["device"] == "D2");

  // Two firmware versions with images, and an online delta between them.
  std::string v10 = bytes(200 * 1024, 1), v11 = v10;
  for (std::size_t i = 64; i < v11.size(); i += 4099)
    v11[i] = static_cast<char>(v11[i] + 1);
  std::ofstream{s.root / "m-1.0.bin", std::ios::binary} << v10;
  std::ofstream{s.root / "m-1.1.bin", std::ios::binary} << v11;
  for (auto [id, v] : {std::pair{"F10", "1.0"}, std::pair{"F11", "1.1"}}) {
    s.ok({"firmware", "create", "--firmware", id, "--product", "P1", "--vendor", "CMCC", "--model",
          "M5330", "--version", v});
    auto up = s.ok({"firmware", "upload", id, (s.root / ("m-" + std::string{v} + ".bin")).string()});
    BOOST_TEST(up["file"]["size"] == v10.size());
  }
  auto delta = s.ok({"package", "generate", "--package", "KD", "--firmware", "F11", "--from",
                     "F10"});
  BOOST_TEST(delta["delta"]["worthwhile"] == true);
  BOOST_TEST(s.ok({"package", "get", "KD"})["origin"] == "generated");

  // A task with thresholds over the group; its lifecycle.
  std::ofstream{s.root / "settings.json"}
      << R"({"name":"north 1.1","package":"KD","product":"P1","targets":{"groups":["G1"]},)"
         R"("signal_threshold":12,"battery_threshold":40})";
  s.ok({"task", "create", "--task", "T1", "--settings", "@" + (s.root / "settings.json").string(),
        "--reason", "CR-7"});
  auto t = s.ok({"task", "get", "T1"});
  BOOST_TEST(t["settings"]["signal_threshold"] == 12);
  BOOST_TEST(t["settings"]["battery_threshold"] == 40);
  for (std::string step : {"start", "pause", "resume", "cancel"})
    s.ok({"task", step, "T1"});
  BOOST_TEST(s.ok({"task", "get", "T1"})["status"] == "stopped");
  // A refused step exits 1 and names the state that refused it.
  auto refused = s.cli({"task", "start", "T1"});
  BOOST_TEST(refused.status == 1);

  // CSV export of the task's devices (the views catch up first).
  auto csv = s.root / "t1.csv";
  BOOST_REQUIRE(eventually([&] {
    if (s.cli({"task", "export", "T1", "--out", csv.string()}).status != 0) return false;
    std::ifstream in{csv};
    std::string line;
    int lines = 0;
    while (std::getline(in, line))
      ++lines;
    return lines == 4; // header + D0..D2
  }));
  std::ifstream in{csv};
  std::string header;
  std::getline(in, header);
  BOOST_TEST(header.rfind("device,name,mac,imei,online,phase", 0) == 0);

  // The audit trail names who and why.
  auto audit = s.ok({"server", "audit", "--stream", "task-T1"});
  BOOST_REQUIRE(audit["items"].size() >= 5u);
  BOOST_TEST(audit["items"][0]["principal"] == "operator:root");
  BOOST_TEST(audit["items"][0]["reason"] == "CR-7");
}

BOOST_AUTO_TEST_CASE(client_usage_errors_exit_2_and_an_unreachable_server_exits_3) {
  fs::path err = fs::temp_directory_path() / ("otaledger-cli-err-" + std::to_string(::getpid()));
  BOOST_TEST(otaledger({"task", "fly", "T1"}, err).status == 2);
  BOOST_TEST(otaledger({"task", "start"}, err).status == 2);
  BOOST_TEST(otaledger({"firmware", "upload", "F1", "/nonexistent/file.bin"}, err).status == 2);
  BOOST_TEST(otaledger({"task", "get", "T1", "--server", "ftp://x"}, err).status == 2);
  auto port = std::to_string(free_port()); // nothing listens there
  BOOST_TEST(otaledger({"task", "get", "T1", "--server", "http://127.0.0.1:" + port}, err).status ==
             3);
  fs::remove(err);
}

BOOST_AUTO_TEST_SUITE_END()
