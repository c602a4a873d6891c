// `otaledger serve` and Kafka: with --kafka-brokers it relays (a change made
// over the operators' HTTP API reaches the real broker's topic); without it,
// it runs without a relay; bad Kafka flags are refused before anything opens.
#include <boost/test/unit_test.hpp>

#include "tests/api/http_client.hpp"
#include "tests/kafka/helpers.hpp"
#include "tests/kafka/views_fixture.hpp"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

using namespace otaledger;
using namespace otaledger::kafka;
using namespace otaledger::kafka::testing;

#ifndef OTALEDGER_BIN
#error "OTALEDGER_BIN must name the otaledger executable"
#endif

namespace {

/// Runs `otaledger ARGS...` to the end; its stdout and status.
std::string run_otaledger(std::vector<std::string> args, int& status) {
  std::string cmd = OTALEDGER_BIN;
  for (auto& a : args)
    cmd += " '" + a + "'";
  cmd += " 2>/dev/null";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int rc = ::pclose(p);
  status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  return out;
}

/// `otaledger serve` in a child process, stdout and stderr to a log file,
/// listening on a port the kernel picks (read back from its banner).
struct serve_process {
  std::filesystem::path log;
  pid_t pid = -1;
  std::uint16_t port = 0;

  serve_process(const std::filesystem::path& data, const std::vector<std::string>& extra)
      : log{data.string() + ".log"} {
    std::vector<std::string> args{OTALEDGER_BIN, "serve",       "--data",    data.string(),
                                  "--listen",    "127.0.0.1:0", "--unsynced"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    BOOST_REQUIRE_MESSAGE(rc == 0, "posix_spawn " << OTALEDGER_BIN << ": " << rc);
    static const std::regex banner{R"(on http://127\.0\.0\.1:(\d+))"};
    bool up = wait_until(
        [&] {
          std::smatch m;
          std::string text = output();
          if (!std::regex_search(text, m, banner)) return exited();
          port = static_cast<std::uint16_t>(std::stoi(m[1]));
          return true;
        },
        60s);
    BOOST_REQUIRE_MESSAGE(up && port != 0, "otaledger serve did not start:\n" << output());
  }
  std::string output() const {
    std::ifstream in{log};
    std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    return text;
  }
  bool exited() {
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) pid = -1;
    return pid < 0;
  }
  /// SIGTERM, then the exit status.
  int stop() {
    if (pid <= 0) return -1;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~serve_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

std::string admin_token(const std::filesystem::path& data) {
  int status = 0;
  auto token = run_otaledger(
      {"token", "create", "--data", data.string(), "--name", "kafka-test", "--role", "admin"},
      status);
  while (!token.empty() && (token.back() == '\n' || token.back() == ' '))
    token.pop_back();
  BOOST_REQUIRE_MESSAGE(status == 0 && !token.empty(), "otaledger token create failed");
  return token;
}

int create_product(std::uint16_t port, const std::string& token, const std::string& id) {
  otaledger::testing::http_client c{port};
  auto r =
      c.request("POST", "/v1/products",
                R"({"product":")" + id + R"(","name":"Kafka meter","require_verification":false})",
                {{"authorization", "Bearer " + token}, {"content-type", "application/json"}});
  BOOST_TEST_MESSAGE("POST /v1/products: " << r.status << " " << r.body);
  return r.status;
}

} // namespace

BOOST_AUTO_TEST_SUITE(serve_relay)

BOOST_AUTO_TEST_CASE(serve_with_kafka_settings_relays_a_change_made_over_the_operator_api) {
  auto brokers = real_brokers();
  if (!brokers) return;
  scratch_dir dir{"serve"};
  auto data = dir.path / "data";
  auto token = admin_token(data);
  auto topic = unique_topic("serve");
  serve_process serve{data,
                      {"--kafka-brokers", *brokers, "--kafka-topic", topic, "--kafka-partitions",
                       "4", "--kafka-property", "compression.type=zstd", "--kafka-property",
                       "client.id=otaledger-serve-test"}};
  BOOST_TEST(serve.output().find("relaying the log to Kafka topic " + topic) != std::string::npos,
             serve.output());
  auto created = create_product(serve.port, token, "PK");
  BOOST_TEST((created == 200 || created == 201));

  // The product's event reaches the topic (read by a consumer of its own).
  consumer_options co;
  co.client.brokers = *brokers;
  co.client.topic = topic;
  co.read_headers = true;
  auto c = event_consumer::create(co);
  BOOST_REQUIRE(c);
  bool seen = false;
  std::string ce_type;
  BOOST_TEST(wait_until(
      [&] {
        auto n = c.value()->poll(100ms, [&](const consumed_event& ev) -> result<void> {
          if (ev.envelope.stream == "product-PK" && ev.envelope.type == "product.created") {
            seen = true;
            for (const auto& h : ev.headers)
              if (h.name == "ce_type") ce_type = h.value;
          }
          return ok();
        });
        BOOST_REQUIRE(n);
        return seen;
      },
      60s));
  BOOST_TEST(ce_type == "product.created.v1");
  BOOST_TEST(serve.stop() == 0, serve.output());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(serve_kafka_flags)

BOOST_AUTO_TEST_CASE(serve_without_kafka_settings_runs_without_the_relay) {
  scratch_dir dir{"serve-plain"};
  auto data = dir.path / "data";
  auto token = admin_token(data);
  serve_process serve{data, {"--memtable-mib", "8"}};
  auto created = create_product(serve.port, token, "P1");
  BOOST_TEST((created == 200 || created == 201));
  BOOST_TEST(serve.output().find("Kafka") == std::string::npos, serve.output());
  BOOST_TEST(serve.stop() == 0, serve.output());
}

BOOST_AUTO_TEST_CASE(bad_serve_flags_are_refused_before_the_data_directory_is_touched) {
  scratch_dir dir{"serve-bad"};
  auto data = (dir.path / "data").string();
  const std::vector<std::vector<std::string>> bad = {
      {"--kafka-topic", "t"}, // no brokers
      {"--kafka-brokers", "127.0.0.1:1", "--kafka-property", "novalue"},
      {"--kafka-brokers", "127.0.0.1:1", "--kafka-property", "enable.idempotence=false"},
      {"--kafka-brokers", "127.0.0.1:1", "--kafka-topic", "bad topic!"},
      {"--kafka-brokers", "127.0.0.1:1", "--kafka-partitions", "zero"},
      {"--memtable-mib", "0"},
      {"--memtable-mib", "64MB"},
      {"--max-image-mib", "2048"},
  };
  for (const auto& extra : bad) {
    std::vector<std::string> args{"serve", "--data", data, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    int status = 0;
    run_otaledger(args, status);
    BOOST_TEST(status == 2, "serve " << extra.back() << " exited " << status);
    BOOST_TEST(!std::filesystem::exists(data), "serve " << extra.back() << " created " << data);
  }
}

BOOST_AUTO_TEST_SUITE_END()
