#include "channel/mqtt.hpp"
#include "fixture.hpp"
#include "mqtt_device.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace otaledger;
using namespace otaledger::testing;
using json = nlohmann::json;

namespace {

/// The broker from OTALEDGER_MQTT_URL; skipped (reported) when unset unless
/// OTALEDGER_REQUIRE_MQTT=1, then failed.
std::optional<std::string> real_broker() {
  const char* u = std::getenv("OTALEDGER_MQTT_URL");
  if (u && *u) return std::string{u};
  const char* req = std::getenv("OTALEDGER_REQUIRE_MQTT");
  if (req && std::string{req} == "1")
    BOOST_FAIL("OTALEDGER_REQUIRE_MQTT=1 but OTALEDGER_MQTT_URL is not set: run "
               "scripts/mosquitto.sh start and export OTALEDGER_MQTT_URL=mqtt://127.0.0.1:11883");
  BOOST_TEST_MESSAGE("SKIPPED: OTALEDGER_MQTT_URL is not set (run scripts/mosquitto.sh start and "
                     "export OTALEDGER_MQTT_URL=mqtt://127.0.0.1:11883 to run this test)");
  BOOST_TEST(true);
  return std::nullopt;
}

template <class P> bool wait_until(P pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling a condition
  }
  return true;
}

std::string unique_client(const std::string& what) {
  static int n = 0;
  return "otaledger-test-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

struct mqtt_fixture : channel_fixture {
  std::unique_ptr<channel::mqtt_channel> ch;
  std::string host;
  int port = 0;

  bool open(const std::string& url) {
    auto hp = channel::parse_mqtt_url(url).value();
    host = hp.first;
    port = hp.second;
    channel::mqtt_options o;
    o.url = url;
    o.client_id = unique_client("server");
    o.topic_prefix = test_topic_prefix();
    o.reconnect_max_seconds = 1;
    ch = std::move(channel::mqtt_channel::start(o).value());
    ch->attach(svc.get());
    return wait_until([&] { return ch->connected(); }, std::chrono::seconds(10));
  }
  ~mqtt_fixture() {
    if (ch) ch->stop();
  }
};

/// A private Mosquitto this test can kill and restart.
struct private_broker {
  std::filesystem::path dir = fresh_dir("mosquitto");
  int port = 0;
  pid_t pid = -1;

  private_broker() {
    std::filesystem::create_directories(dir);
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(s);
    std::ofstream{dir / "mosquitto.conf"} << "listener " << port
                                          << " 127.0.0.1\nallow_anonymous true\n";
  }
  static std::string binary() {
    for (auto p : {"/usr/sbin/mosquitto", "/usr/bin/mosquitto"})
      if (std::filesystem::exists(p)) return p;
    return {};
  }
  bool start() {
    auto conf = (dir / "mosquitto.conf").string();
    auto bin = binary();
    pid = ::fork();
    if (pid == 0) {
      auto log = (dir / "log").string();
      freopen(log.c_str(), "a", stderr);
      freopen(log.c_str(), "a", stdout);
      ::execl(bin.c_str(), bin.c_str(), "-c", conf.c_str(), nullptr);
      ::_exit(127);
    }
    return wait_until(
        [&] {
          int s = ::socket(AF_INET, SOCK_STREAM, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_port = htons(static_cast<std::uint16_t>(port));
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
          ::close(s);
          return up;
        },
        std::chrono::seconds(10));
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

} // namespace

BOOST_FIXTURE_TEST_SUITE(mqtt_device_channel, mqtt_fixture)

BOOST_AUTO_TEST_CASE(a_report_over_mqtt_is_answered_on_the_reply_topic_with_the_instruction) {
  auto url = real_broker();
  if (!url) return;
  BOOST_REQUIRE(open(*url));
  mqtt_device dev{host, port, "d1"};
  BOOST_REQUIRE(dev.ok());
  dev.publish("report", R"({"id":"r1","battery":90,"auth":")" + d1_secret + "\"}");
  auto reply = dev.next("reply");
  BOOST_REQUIRE(reply);
  auto j = json::parse(*reply);
  BOOST_TEST(j["accepted"].get<bool>());
  BOOST_TEST(j["instruction"]["kind"] == "upgrade");
  BOOST_TEST(j["instruction"]["package"]["sha256"] == blob.sha256);
  dev.publish("progress",
              R"({"id":"p1","task":"t1","phase":"downloaded","auth":")" + d1_secret + "\"}");
  auto p = dev.next("reply");
  BOOST_REQUIRE(p);
  BOOST_TEST(json::parse(*p)["accepted"].get<bool>());
  auto d = std::get<domain::device_state>(rt->query_sync("device-d1").value());
  BOOST_TEST((d.executions.at(0).phase == events::execution_phase::downloaded));
}

BOOST_AUTO_TEST_CASE(a_message_with_a_wrong_secret_or_no_secret_is_refused_and_changes_nothing) {
  auto url = real_broker();
  if (!url) return;
  BOOST_REQUIRE(open(*url));
  mqtt_device dev{host, port, "d1"};
  BOOST_REQUIRE(dev.ok());
  auto before = appended("device-d1");
  dev.publish("progress",
              R"({"id":"p1","task":"t1","phase":"downloaded","auth":")" + d2_secret + "\"}");
  auto r = dev.next("reply");
  BOOST_REQUIRE(r);
  BOOST_TEST(json::parse(*r)["error"]["code"] == "unauthorized");
  dev.publish("progress", R"({"id":"p1","task":"t1","phase":"downloaded"})");
  auto r2 = dev.next("reply");
  BOOST_REQUIRE(r2);
  BOOST_TEST(json::parse(*r2)["error"]["code"] == "unauthorized");
  dev.publish("progress", R"(not json)");
  auto r3 = dev.next("reply");
  BOOST_REQUIRE(r3);
  BOOST_TEST(json::parse(*r3)["error"]["code"] == "malformed");
  BOOST_TEST(appended("device-d1") == before);
}

BOOST_AUTO_TEST_CASE(a_notice_is_pushed_to_the_device_as_its_instruction) {
  auto url = real_broker();
  if (!url) return;
  BOOST_REQUIRE(open(*url));
  mqtt_device dev{host, port, "d1"};
  BOOST_REQUIRE(dev.ok());
  actors::device_notice n;
  n.kind = actors::notice_kind::hold;
  n.device = "d1";
  n.task = "t1";
  n.terms.package = "k1";
  n.terms.target_version = "1.1";
  ch->deliver(n);
  auto i = dev.next("instruction");
  BOOST_REQUIRE(i);
  auto parsed = channel::decode_instruction(*i);
  BOOST_REQUIRE(parsed);
  BOOST_TEST((parsed.value().kind == channel::instruction_kind::hold));
  BOOST_TEST(!parsed.value().install_allowed);
  BOOST_TEST(parsed.value().package.size == image.size());
}

BOOST_AUTO_TEST_CASE(the_channel_reconnects_by_itself_after_the_broker_restarts) {
  if (private_broker::binary().empty()) {
    BOOST_TEST_MESSAGE("SKIPPED: no mosquitto binary (apt-get install mosquitto)");
    return;
  }
  private_broker broker;
  BOOST_REQUIRE(broker.start());
  BOOST_REQUIRE(open(broker.url()));
  BOOST_TEST(ch->stats().connects == 1u);
  broker.kill();
  BOOST_REQUIRE(wait_until([&] { return !ch->connected(); }, std::chrono::seconds(10)));
  BOOST_REQUIRE(broker.start());
  BOOST_REQUIRE(wait_until([&] { return ch->connected(); }, std::chrono::seconds(15)));
  BOOST_TEST(ch->stats().connects == 2u);
  // And it serves devices again (it resubscribed).
  mqtt_device dev{"127.0.0.1", broker.port, "d1"};
  BOOST_REQUIRE(dev.ok());
  dev.publish("report", R"({"id":"r9","online":true,"auth":")" + d1_secret + "\"}");
  auto r = dev.next("reply");
  BOOST_REQUIRE(r);
  BOOST_TEST(json::parse(*r)["accepted"].get<bool>());
}

BOOST_AUTO_TEST_SUITE_END()
