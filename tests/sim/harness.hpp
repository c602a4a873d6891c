// The parts of a networked end-to-end run, all real: an `otaledger serve`
// CHILD PROCESS on a fresh data directory (so it can be SIGKILLed and
// restarted on the same directory and port), the shared Mosquitto
// (OTALEDGER_MQTT_URL) or a private one this test may kill, the operators' API
// with an admin token made by `otaledger token create`, and sim::fleet.
#pragma once

#include "channel/auth.hpp"
#include "sim/fleet.hpp"
#include "storage/open.hpp"
#include "tests/api/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>

namespace otaledger::testing {

using json = nlohmann::json;

inline std::filesystem::path fresh_dir(const std::string& what) {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() /
           ("otaledger-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p);
  return p;
}

template <class P> bool wait_until(P pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polling a condition
  }
  return true;
}

inline int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return up;
}

/// The shared broker (OTALEDGER_MQTT_URL); nullopt (reported) when unset,
/// a failure when OTALEDGER_REQUIRE_MQTT=1.
inline std::optional<std::string> shared_broker() {
  const char* u = std::getenv("OTALEDGER_MQTT_URL");
  if (u && *u) return std::string{u};
  const char* req = std::getenv("OTALEDGER_REQUIRE_MQTT");
  if (req && std::string{req} == "1")
    BOOST_FAIL("OTALEDGER_REQUIRE_MQTT=1 but OTALEDGER_MQTT_URL is not set");
  BOOST_TEST_MESSAGE("OTALEDGER_MQTT_URL is not set: HTTP devices only (scripts/mosquitto.sh "
                     "start; export OTALEDGER_MQTT_URL=mqtt://127.0.0.1:11883)");
  return std::nullopt;
}

/// A private Mosquitto on its own port that this test may kill and restart.
struct private_broker {
  std::filesystem::path dir = fresh_dir("sim-mosquitto");
  int port = free_port();
  pid_t pid = -1;
  private_broker() {
    std::filesystem::create_directories(dir);
    std::ofstream{dir / "mosquitto.conf"}
        << "listener " << port
        << " 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n"
           "max_inflight_messages 1000\n";
  }
  static std::string binary() {
    for (auto p : {"/usr/sbin/mosquitto", "/usr/bin/mosquitto"})
      if (std::filesystem::exists(p)) return p;
    return {};
  }
  bool start() {
    auto conf = (dir / "mosquitto.conf").string();
    auto bin = binary();
    if (bin.empty()) return false;
    pid = ::fork();
    if (pid == 0) {
      auto log = (dir / "log").string();
      (void)!freopen(log.c_str(), "a", stderr);
      (void)!freopen(log.c_str(), "a", stdout);
      ::execl(bin.c_str(), bin.c_str(), "-c", conf.c_str(), nullptr);
      ::_exit(127);
    }
    return wait_until([&] { return port_open(port); }, std::chrono::seconds(10));
  }
  void kill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~private_broker() {
    kill();
    std::filesystem::remove_all(dir);
  }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port); }
};

/// Runs `argv` and returns its stdout (the exit status in `status`).
inline std::string run_capture(std::vector<std::string> argv, int& status) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> a;
    for (auto& s : argv)
      a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ::waitpid(pid, &status, 0);
  return out;
}

/// `otaledger serve` as a child process on a fixed port.
struct server_process {
  std::filesystem::path data;
  int port = free_port();
  std::string mqtt_url, mqtt_prefix, mqtt_client;
  pid_t pid = -1;

  bool start() {
    std::vector<std::string> argv{OTALEDGER_BIN, "serve", "--data", data.string(), "--listen",
                                  fmt::format("127.0.0.1:{}", port)};
    if (!mqtt_url.empty())
      for (auto s : {std::string{"--mqtt"}, mqtt_url, std::string{"--mqtt-prefix"}, mqtt_prefix,
                     std::string{"--mqtt-client-id"}, mqtt_client})
        argv.push_back(s);
    pid = ::fork();
    if (pid == 0) {
      auto log = (data.parent_path() / (data.filename().string() + ".log")).string();
      (void)!freopen(log.c_str(), "a", stdout);
      (void)!freopen(log.c_str(), "a", stderr);
      std::vector<char*> a;
      for (auto& s : argv)
        a.push_back(s.data());
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::_exit(127);
    }
    return wait_until(
        [&] {
          if (!port_open(port)) return false;
          try {
            http_client c{static_cast<std::uint16_t>(port)};
            return c.request("GET", "/healthz").status == 200;
          } catch (...) {
            return false;
          }
        },
        std::chrono::seconds(60));
  }
  void sigkill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  bool stop() {
    if (pid <= 0) return true;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ~server_process() { sigkill(); }
};

/// A data directory with a package image, an admin token, a running server,
/// and the catalog (product P1 with secret "product-secret", firmware F11 1.1,
/// package KF) created through the operators' API.
struct networked_env {
  std::filesystem::path root = fresh_dir("sim");
  server_process server;
  std::string token;
  std::string image;
  storage::blob_info blob;

  explicit networked_env(std::optional<std::string> mqtt_url, std::size_t image_bytes = 48 * 1024) {
    std::filesystem::create_directories(root);
    server.data = root / "data";
    {
      storage::options o;
      o.path = server.data.string();
      auto db = storage::open_database(o);
      BOOST_REQUIRE(db);
      std::mt19937_64 rng{3};
      image.resize(image_bytes);
      for (auto& c : image)
        c = static_cast<char>(rng());
      auto w = db.value().blobs->begin(0).value();
      BOOST_REQUIRE(w->write(image));
      blob = w->finish().value();
    }
    int status = 0;
    token = run_capture({OTALEDGER_BIN, "token", "create", "--data", server.data.string(), "--name",
                         "sim-test", "--role", "admin"},
                        status);
    while (!token.empty() && (token.back() == '\n' || token.back() == ' '))
      token.pop_back();
    BOOST_REQUIRE_MESSAGE(status == 0 && !token.empty(), "otaledger token create failed");
    if (mqtt_url) {
      server.mqtt_url = *mqtt_url;
      server.mqtt_prefix = fmt::format("otaledger-sim-{}-{}/v1/devices", ::getpid(),
                                       root.filename().string());
      server.mqtt_client = fmt::format("otaledger-sim-server-{}", root.filename().string());
    }
    BOOST_REQUIRE_MESSAGE(server.start(), "otaledger serve did not start");
    auto file = fmt::format(R"("name":"m-1.1.bin","size":{},"md5":"{}","sha256":"{}","blob":"{}")",
                            blob.size, blob.md5, blob.sha256, blob.id);
    must("POST", "/v1/products",
         fmt::format(
             R"({{"product":"P1","name":"Meter","secret_hash":"{}","require_verification":false}})",
             channel::sha256_hex("product-secret")));
    must("POST", "/v1/firmware",
         fmt::format(R"({{"firmware":"F11","product":"P1","vendor":"CMCC","model":"M5330",)"
                     R"("version":"1.1","image":{{{}}}}})",
                     file));
    must("POST", "/v1/packages",
         fmt::format(
             R"({{"package":"KF","firmware":"F11","type":"full","origin":"image","file":{{{}}}}})",
             file));
  }
  ~networked_env() {
    server.sigkill();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }

  http_reply call(const std::string& method, const std::string& target, std::string body = {}) {
    http_client c{static_cast<std::uint16_t>(server.port)};
    return c.request(method, target, std::move(body), {{"authorization", "Bearer " + token}});
  }
  json must(const std::string& method, const std::string& target, std::string body = {}) {
    auto r = call(method, target, std::move(body));
    BOOST_REQUIRE_MESSAGE(r.status == 200 || r.status == 201,
                          method << " " << target << ": " << r.status << " " << r.body);
    return json::parse(r.body);
  }

  sim::fleet_options fleet_options(std::uint64_t devices, double mqtt_share) const {
    sim::fleet_options o;
    o.server = fmt::format("http://127.0.0.1:{}", server.port);
    o.devices = devices;
    if (!server.mqtt_url.empty()) {
      o.mqtt_url = server.mqtt_url;
      o.mqtt_share = mqtt_share;
      o.topic_prefix = server.mqtt_prefix;
      o.mqtt_client_prefix = "sim-" + root.filename().string();
    }
    o.product = "P1";
    o.product_secret = "product-secret";
    o.province = "GD";
    o.chunk_bytes = 16 * 1024;
    o.poll_seconds = 0.3;
    o.report_seconds = 30;
    o.install_seconds = 0.05;
    o.ramp_seconds = 0.5;
    o.reply_timeout_seconds = 3;
    o.retry_seconds = 0.2;
    o.offline_seconds = 1;
    o.recover_seconds = 1;
    return o;
  }

  /// Waits until every device of the fleet reported (so the task targets them all).
  bool wait_registered(sim::fleet& f, std::uint64_t n) {
    return wait_until([&] { return f.tally().registered >= n && f.tally().reports >= n; },
                      std::chrono::seconds(120));
  }

  void create_and_start(const std::string& task, const std::string& extra = "") {
    must("POST", "/v1/tasks",
         fmt::format(R"({{"task":"{}","settings":{{"name":"sim","package":"KF","product":"P1",)"
                     R"("targets":{{"regions":[{{"province":"GD","city":""}}]}}{}}}}})",
                     task, extra));
    must("POST", "/v1/tasks/" + task + "/start");
  }

  json task(const std::string& id) { return must("GET", "/v1/tasks/" + id); }
  json counts(const std::string& id) {
    return must("GET", "/v1/tasks/" + id + "/devices?limit=1")["counts"];
  }
  std::string status(const std::string& id) { return task(id).value("status", ""); }
};

} // namespace otaledger::testing
