// Shared helpers of the Kafka tests: brokers from the environment (with the
// skip / require rule), waiting on conditions with deadlines, reading a topic
// back, and checking what the relay promises about it.
#pragma once

#include "kafka/consumer.hpp"
#include "kafka/errc.hpp"
#include "kafka/relay.hpp"
#include "tests/kafka/print.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otaledger::kafka::testing {

using namespace std::chrono_literals;

/// Waits until `cond` holds, checking every few milliseconds; false when the
/// deadline passes first. (Polling a condition with a deadline, not sleeping
/// for a guessed time.)
inline bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// The real broker's bootstrap address from OTALEDGER_KAFKA_BROKERS. When it
/// is unset the test is skipped (reported, passes) unless
/// OTALEDGER_REQUIRE_KAFKA=1, in which case it fails.
inline std::optional<std::string> real_brokers() {
  const char* b = std::getenv("OTALEDGER_KAFKA_BROKERS");
  if (b && *b) return std::string{b};
  const char* req = std::getenv("OTALEDGER_REQUIRE_KAFKA");
  if (req && std::string{req} == "1") {
    BOOST_FAIL("OTALEDGER_REQUIRE_KAFKA=1 but OTALEDGER_KAFKA_BROKERS is not set: start a broker "
               "with scripts/kafka.sh start and export OTALEDGER_KAFKA_BROKERS=127.0.0.1:19092");
  }
  BOOST_TEST_MESSAGE("SKIPPED: OTALEDGER_KAFKA_BROKERS is not set (run scripts/kafka.sh start and "
                     "export OTALEDGER_KAFKA_BROKERS=127.0.0.1:19092 to run this test)");
  BOOST_TEST(true);
  return std::nullopt;
}

/// A topic name no other run uses.
inline std::string unique_topic(const std::string& what) {
  std::random_device rd;
  return "otaledger-test-" + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(rd() % 1000000);
}

/// Relay options for tests: fast checkpoints, quick recovery, a fixed source.
inline relay_options test_relay_options(const std::string& brokers, const std::string& topic,
                                        int partitions = 4) {
  relay_options o;
  o.client.brokers = brokers;
  o.client.topic = topic;
  o.client.partitions = partitions;
  o.client.client_id = "otaledger-test";
  // Down brokers keep their ports bound in the mock: do not wait long for them.
  o.client.properties = {{"socket.connection.setup.timeout.ms", "3000"},
                         {"reconnect.backoff.max.ms", "500"}};
  o.source = "otaledger://test-node";
  o.checkpoint_interval = 20ms;
  o.restart_backoff = 20ms;
  o.restart_backoff_max = 500ms;
  o.linger_ms = 1;
  return o;
}

/// One record as read back from the topic.
struct read_record {
  events::envelope envelope;
  std::string key;
  std::string value;
  std::vector<record_header> headers;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// Reads the topic from the beginning, copies included (dedupe off), until
/// `distinct` different positions were seen and every partition was read to
/// its end, or the timeout passes.
inline std::vector<read_record> read_topic(const std::string& brokers, const std::string& topic,
                                           std::uint64_t distinct,
                                           std::chrono::milliseconds timeout = 60s) {
  consumer_options o;
  o.client.brokers = brokers;
  o.client.topic = topic;
  o.dedupe = false;
  o.read_headers = true;
  auto c = event_consumer::create(o);
  BOOST_REQUIRE(c);
  std::vector<read_record> out;
  std::set<std::uint64_t> seen;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = c.value()->poll(100ms, [&](const consumed_event& ev) -> result<void> {
      out.push_back({ev.envelope,
                     std::string{ev.key},
                     std::string{ev.value},
                     {ev.headers.begin(), ev.headers.end()},
                     ev.partition,
                     ev.offset});
      seen.insert(ev.envelope.position());
      return ok();
    });
    BOOST_REQUIRE(n);
    if (seen.size() >= distinct && c.value()->at_end()) break;
  }
  return out;
}

/// What the relay promises about a topic holding positions 1..n:
/// every position at least once; per key (stream), the first copies of its
/// events arrive in version order 1, 2, 3...; each record's key is its stream.
inline void check_published(const std::vector<read_record>& records, std::uint64_t n) {
  std::set<std::uint64_t> positions;
  std::map<std::string, std::uint64_t> next_version;
  std::map<std::int32_t, std::uint64_t> partition_high;
  std::uint64_t version_gaps = 0, position_regressions = 0;
  for (const auto& r : records) {
    auto pos = r.envelope.position();
    bool first_copy = positions.insert(pos).second;
    BOOST_TEST(r.key == r.envelope.stream);
    auto& next = next_version[r.envelope.stream];
    if (first_copy) {
      // Per key: the first copy of each event is the stream's next version.
      if (r.envelope.version() != next + 1) ++version_gaps;
      next = std::max(next, r.envelope.version());
      // Per partition: first copies come in position order (what the
      // consumer's deduplication by position high-water rests on).
      if (pos < partition_high[r.partition]) ++position_regressions;
    }
    partition_high[r.partition] = std::max(partition_high[r.partition], pos);
  }
  BOOST_TEST(version_gaps == 0u);
  BOOST_TEST(position_regressions == 0u);
  BOOST_TEST(positions.size() == n);
  if (!positions.empty()) {
    BOOST_TEST(*positions.begin() == 1u);
    BOOST_TEST(*positions.rbegin() == n);
  }
}

/// Runs a shell command and returns its stdout.
inline std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  ::pclose(p);
  return out;
}

inline bool have_kcat() {
  return std::system("command -v kcat >/dev/null 2>&1") == 0;
}

} // namespace otaledger::kafka::testing
