// Against a real Apache Kafka broker (scripts/kafka.sh start): the bootstrap
// address comes from OTALEDGER_KAFKA_BROKERS. Without it the tests report
// SKIPPED and pass, unless OTALEDGER_REQUIRE_KAFKA=1 (scripts/test.sh sets
// both), which makes a missing broker a failure.
#include <boost/test/unit_test.hpp>

#include "events/json_codec.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/kafka/helpers.hpp"
#include "tests/kafka/log_fill.hpp"
#include "tests/kafka/relay_process.hpp"

#include <sstream>

using namespace otaledger;
using namespace otaledger::kafka;
using namespace otaledger::kafka::testing;

namespace {

// Publishes `n` events over `streams` streams to a fresh 4-partition topic;
// returns the topic.
std::string publish(const std::string& brokers, storage::event_store& store, std::uint64_t n,
                    std::uint64_t streams) {
  auto topic = unique_topic("real");
  fill(store, n, streams);
  auto r = relay::create(store, test_relay_options(brokers, topic, 4)).value();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->flush(120s));
  BOOST_TEST(r->stats().delivery_failures == 0u);
  return topic;
}

} // namespace

BOOST_AUTO_TEST_SUITE(real_broker)

BOOST_AUTO_TEST_CASE(every_event_reaches_a_real_broker_in_stream_order_with_its_headers) {
  auto brokers = real_brokers();
  if (!brokers) return;
  std::unique_ptr<storage::event_store> owned_store = storage::make_memory_event_store();
  storage::event_store& store = *owned_store;
  auto topic = publish(*brokers, store, 5000, 40);
  BOOST_TEST(store.load_checkpoint("kafka-relay").value()() == 5000u);
  auto records = read_topic(*brokers, topic, 5000);
  check_published(records, 5000);
  BOOST_TEST(records.size() == 5000u);
  std::set<std::int32_t> partitions;
  std::set<std::string> ids;
  for (const auto& rec : records) {
    partitions.insert(rec.partition);
    auto expected =
        make_record(store.read_all(rec.envelope.position, 1).value().at(0), "otaledger://test-node")
            .value();
    BOOST_TEST((rec.headers == expected.headers));
    BOOST_TEST(rec.value == expected.value);
    ids.insert(std::string{*expected.header_value("ce_id")});
  }
  BOOST_TEST(ids.size() == 5000u); // each event id at least once (exactly once here)
  BOOST_TEST(partitions.size() == 4u);
}

BOOST_AUTO_TEST_CASE(kcat_shows_the_cloudevents_headers_and_the_json_value) {
  auto brokers = real_brokers();
  if (!brokers) return;
  BOOST_REQUIRE_MESSAGE(have_kcat(), "kcat is not installed (scripts/deps.sh installs it)");
  std::unique_ptr<storage::event_store> owned_store = storage::make_memory_event_store();
  storage::event_store& store = *owned_store;
  auto topic = publish(*brokers, store, 20, 3);
  auto out = run_command("kcat -C -b " + *brokers + " -t " + topic + " -f '%h %s\\n' -e -q 2>&1");
  std::istringstream lines{out};
  std::string line;
  std::set<std::uint64_t> positions;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    // "%h": name=value pairs separated by commas, then a space, then the value.
    auto space = line.find(" {");
    BOOST_REQUIRE_MESSAGE(space != std::string::npos, "unexpected kcat line: " << line);
    auto headers = line.substr(0, space);
    auto value = events::json::parse(line.substr(space + 1));
    auto pos = value["position"].get<std::uint64_t>();
    positions.insert(pos);
    auto e = store.read_all(log_position{pos}, 1).value().at(0);
    BOOST_TEST(headers.find("ce_specversion=1.0") != std::string::npos);
    BOOST_TEST(headers.find("ce_id=" + e.id.to_string()) != std::string::npos);
    BOOST_TEST(headers.find("ce_source=otaledger://test-node") != std::string::npos);
    BOOST_TEST(headers.find("ce_type=product.created.v1") != std::string::npos);
    BOOST_TEST(headers.find("ce_time=" + base::format_rfc3339(e.time)) != std::string::npos);
    BOOST_TEST(headers.find("ce_subject=" + e.stream) != std::string::npos);
    BOOST_TEST(headers.find("content-type=application/json") != std::string::npos);
    BOOST_TEST(value["stream"].get<std::string>() == e.stream);
    BOOST_TEST(value["id"].get<std::string>() == e.id.to_string());
    BOOST_TEST(value["type"].get<std::string>() == "product.created");
  }
  BOOST_TEST(positions.size() == 20u);
}

BOOST_AUTO_TEST_CASE(the_consume_command_prints_every_event_once_despite_copies) {
  auto brokers = real_brokers();
  if (!brokers) return;
  std::unique_ptr<storage::event_store> owned_store = storage::make_memory_event_store();
  storage::event_store& store = *owned_store;
  auto topic = publish(*brokers, store, 300, 6);
  // Publish 101..300 again, as a relay that crashed before saving would.
  BOOST_REQUIRE(store.save_checkpoint("kafka-relay", log_position{100}));
  {
    auto r = relay::create(store, test_relay_options(*brokers, topic, 4)).value();
    BOOST_REQUIRE(r->start());
    BOOST_REQUIRE(r->flush(60s));
  }
  auto out = run_command(std::string{KAFKA_RELAY_CHILD} + " consume --brokers " + *brokers +
                         " --topic " + topic + " --from-beginning --exit-at-end --stats");
  std::istringstream lines{out};
  std::string line;
  std::set<std::uint64_t> positions;
  std::uint64_t count = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++count;
    std::string error;
    auto e = events::envelope_from_json(events::json::parse(line), error);
    BOOST_REQUIRE_MESSAGE(e, error);
    positions.insert(e.value().position());
  }
  BOOST_TEST(count == 300u);
  BOOST_TEST(positions.size() == 300u);

  auto limited = run_command(std::string{KAFKA_RELAY_CHILD} + " consume --brokers=" + *brokers +
                             " --topic=" + topic + " --from-beginning --max 7");
  BOOST_TEST(std::count(limited.begin(), limited.end(), '\n') == 7);
}

BOOST_AUTO_TEST_CASE(a_relay_process_killed_with_sigkill_resumes_against_a_real_broker) {
  auto brokers = real_brokers();
  if (!brokers) return;
  kill_relay_at_random_points(*brokers, unique_topic("sigkill"), 20000, 5);
}

BOOST_AUTO_TEST_SUITE_END()
