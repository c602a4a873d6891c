// The real broker stopped in the middle of a run and started again
// (scripts/kafka.sh stop / start): the relay waits, the log keeps taking
// events, and afterwards every event is on the topic.
//
// It stops the broker every other Kafka test uses, so CTest runs it alone
// (RUN_SERIAL, label broker_restart), and only when scripts/kafka.sh started
// the broker this run uses (scripts/test.sh sets OTALEDGER_REQUIRE_KAFKA=1):
// otherwise it reports SKIPPED. The outage lasts OTALEDGER_OUTAGE_S seconds,
// default 30 (shorter for a quick local run: OTALEDGER_OUTAGE_S=5).
#include <boost/test/unit_test.hpp>

#include "storage/memory_event_store.hpp"
#include "tests/kafka/helpers.hpp"
#include "tests/kafka/log_fill.hpp"

#include <atomic>
#include <cstdlib>
#include <thread>

using namespace otaledger;
using namespace otaledger::kafka;
using namespace otaledger::kafka::testing;

#ifndef OTALEDGER_SOURCE_DIR
#error "OTALEDGER_SOURCE_DIR must name the source tree (scripts/kafka.sh)"
#endif

namespace {

/// `scripts/kafka.sh CMD` from the source tree (its default cache is there);
/// its stdout, and its exit status in `status`.
std::string kafka_sh(const std::string& cmd, int& status) {
  std::string line = std::string{"cd '"} + OTALEDGER_SOURCE_DIR + "' && bash scripts/kafka.sh " +
                     cmd + " 2>/dev/null";
  std::string out;
  FILE* p = ::popen(line.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[1024];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int rc = ::pclose(p);
  status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

/// Starts the broker again when the test leaves while it is stopped.
struct broker_guard {
  bool stopped = false;
  ~broker_guard() {
    if (stopped) {
      int status = 0;
      kafka_sh("start", status);
    }
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(broker_outage)

BOOST_AUTO_TEST_CASE(a_broker_stopped_mid_run_and_restarted_loses_no_event) {
  auto brokers = real_brokers();
  if (!brokers) return;
  const char* req = std::getenv("OTALEDGER_REQUIRE_KAFKA");
  int status = 0;
  if (!req || std::string{req} != "1" || kafka_sh("brokers", status) != *brokers || status != 0) {
    BOOST_TEST_MESSAGE("SKIPPED: the broker at " << *brokers
                                                 << " was not started by scripts/kafka.sh for "
                                                    "this run (OTALEDGER_REQUIRE_KAFKA=1): it is "
                                                    "not this test's to stop");
    BOOST_TEST(true);
    return;
  }
  int outage_s = 30;
  if (const char* s = std::getenv("OTALEDGER_OUTAGE_S")) outage_s = std::max(1, std::atoi(s));

  auto owned = storage::make_memory_event_store();
  storage::event_store& log = *owned;
  auto topic = unique_topic("outage");
  fill(log, 2000, 25);
  auto r = relay::create(log, test_relay_options(*brokers, topic, 4)).value();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{2000}, 120s));

  // Events keep coming during the whole outage.
  std::atomic<bool> appending{true};
  std::atomic<std::uint64_t> appended{0};
  std::thread writer{[&] {
    std::uint64_t i = 0;
    while (appending.load()) {
      fill(log, 10, 25, 7, 2000 + i);
      i += 10;
      appended.store(i);
      std::this_thread::sleep_for(20ms); // a steady trickle, not a synchronisation
    }
  }};
  struct joiner {
    std::atomic<bool>& flag;
    std::thread& t;
    ~joiner() {
      flag.store(false);
      if (t.joinable()) t.join();
    }
  } join_writer{appending, writer};

  broker_guard guard;
  BOOST_TEST_MESSAGE("stopping the broker for " << outage_s << " s");
  kafka_sh("stop", status);
  BOOST_REQUIRE_MESSAGE(status == 0, "scripts/kafka.sh stop failed");
  guard.stopped = true;
  const auto confirmed_at_stop = r->confirmed()();
  // The outage itself (its length is the fault, not a wait for something).
  const auto outage_end = std::chrono::steady_clock::now() + std::chrono::seconds{outage_s};
  std::uint64_t most_lag = 0;
  while (std::chrono::steady_clock::now() < outage_end) {
    most_lag = std::max(most_lag, r->lag());
    std::this_thread::sleep_for(50ms);
  }
  // Nothing new can be confirmed while the broker is down: the lag grew.
  BOOST_TEST(most_lag > 0u);
  BOOST_TEST((r->stats().state != relay_state::failed));
  BOOST_TEST_MESSAGE("confirmed " << confirmed_at_stop << " -> " << r->confirmed()()
                                  << " during the outage; lag up to " << most_lag);

  kafka_sh("start", status);
  BOOST_REQUIRE_MESSAGE(status == 0, "scripts/kafka.sh start failed");
  guard.stopped = false;
  appending.store(false);
  writer.join();
  const auto head = log.head()();
  BOOST_TEST_MESSAGE(appended.load() << " events appended during the outage; head " << head);
  BOOST_TEST(appended.load() > 0u);

  BOOST_REQUIRE(r->flush(120s));
  BOOST_TEST(r->lag() == 0u);
  auto records = read_topic(*brokers, topic, head);
  check_published(records, head);
}

BOOST_AUTO_TEST_SUITE_END()
