// The relay and the consumer against librdkafka's mock cluster (in process,
// real TCP, no JVM): what reaches the topic, when the checkpoint moves, how a
// restart resumes, how the consumer drops copies.
#include <boost/test/unit_test.hpp>

#include "kafka/mock_cluster.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/kafka/helpers.hpp"
#include "tests/kafka/log_fill.hpp"

#include <random>

using namespace otaledger;
using namespace otaledger::kafka;
using namespace otaledger::kafka::testing;

namespace {

struct mock_fixture {
  std::unique_ptr<mock_cluster> cluster = mock_cluster::create(1).value();
  std::string topic = unique_topic("mock");
  std::unique_ptr<storage::event_store> owned_store = storage::make_memory_event_store();
  storage::event_store& store = *owned_store;

  mock_fixture() { BOOST_REQUIRE(cluster->create_topic(topic, 4)); }

  relay_options options() { return test_relay_options(cluster->bootstrap_servers(), topic, 4); }

  std::unique_ptr<relay> make_relay(relay_options o) {
    auto r = relay::create(store, std::move(o));
    BOOST_REQUIRE(r);
    return std::move(r).value();
  }
  std::unique_ptr<relay> make_relay() { return make_relay(options()); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(relay_on_mock)

BOOST_FIXTURE_TEST_CASE(every_event_of_the_log_reaches_the_topic_in_stream_order, mock_fixture) {
  fill(store, 2000, 16);
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->wait_until_confirmed(log_position{2000}, 60s));
  BOOST_TEST(r->flush(30s));
  BOOST_TEST(store.load_checkpoint("kafka-relay").value()() == 2000u);
  BOOST_TEST(r->lag() == 0u);
  auto records = read_topic(cluster->bootstrap_servers(), topic, 2000);
  check_published(records, 2000);
  // In a healthy run nothing is published twice.
  BOOST_TEST(records.size() == 2000u);
  auto s = r->stats();
  BOOST_TEST(s.delivery_failures == 0u);
  BOOST_TEST(s.producer_restarts == 0u);
  BOOST_TEST(s.state == relay_state::running);
}

BOOST_FIXTURE_TEST_CASE(records_carry_the_documented_headers_key_and_value, mock_fixture) {
  fill(store, 50, 5);
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{50}, 60s));
  auto records = read_topic(cluster->bootstrap_servers(), topic, 50);
  BOOST_REQUIRE(records.size() == 50u);
  for (const auto& rec : records) {
    auto expected =
        make_record(store.read_all(rec.envelope.position, 1).value().at(0), "otaledger://test-node")
            .value();
    BOOST_TEST(rec.key == expected.key);
    BOOST_TEST(rec.value == expected.value);
    BOOST_TEST((rec.headers == expected.headers));
  }
}

BOOST_FIXTURE_TEST_CASE(events_appended_while_the_relay_runs_are_published, mock_fixture) {
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  for (int round = 0; round < 10; ++round) {
    fill(store, 30, 7, 7, static_cast<std::uint64_t>(round) * 30);
    BOOST_TEST(r->wait_until_confirmed(store.head(), 30s));
  }
  BOOST_TEST(r->confirmed()() == 300u);
  check_published(read_topic(cluster->bootstrap_servers(), topic, 300), 300);
}

BOOST_FIXTURE_TEST_CASE(the_checkpoint_does_not_move_past_unconfirmed_deliveries, mock_fixture) {
  // Every stream's partition has confirmed a record, so the relay pipelines.
  fill(store, 40, 8);
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{40}, 30s));
  BOOST_REQUIRE(r->flush(30s));
  BOOST_REQUIRE(cluster->set_down());
  fill(store, 460, 8, 7, 40);
  // Everything is handed to librdkafka, nothing more can be confirmed.
  BOOST_TEST(wait_until([&] { return r->stats().records_produced >= 500u; }, 30s));
  BOOST_TEST(r->confirmed()() == 40u);
  BOOST_TEST(r->checkpoint()() == 40u);
  BOOST_TEST(store.load_checkpoint("kafka-relay").value()() == 40u);
  BOOST_TEST(r->lag() == 460u);
  BOOST_REQUIRE(cluster->set_up());
  BOOST_TEST(r->wait_until_confirmed(log_position{500}, 60s));
  BOOST_TEST(r->flush(30s));
  BOOST_TEST(store.load_checkpoint("kafka-relay").value()() == 500u);
  BOOST_TEST(r->lag() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_topic_without_an_expected_partition_count_is_used_as_it_is,
                        mock_fixture) {
  auto other = unique_topic("six");
  BOOST_REQUIRE(cluster->create_topic(other, 6));
  fill(store, 300, 60);
  auto o = test_relay_options(cluster->bootstrap_servers(), other, 0);
  auto r = make_relay(o);
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->wait_until_confirmed(log_position{300}, 30s));
  auto records = read_topic(cluster->bootstrap_servers(), other, 300);
  check_published(records, 300);
  std::set<std::int32_t> partitions;
  for (const auto& rec : records)
    partitions.insert(rec.partition);
  BOOST_TEST(partitions.size() == 6u);
}

BOOST_FIXTURE_TEST_CASE(a_relay_stopped_and_started_at_random_points_resumes_from_its_checkpoint,
                        mock_fixture) {
  std::mt19937_64 rng{12345};
  const std::uint64_t total = 3000;
  fill(store, total, 32);
  auto o = options();
  o.max_in_flight = 64; // small window: stops land mid-stream
  for (int round = 0; round < 6; ++round) {
    auto r = make_relay(o);
    auto before = store.load_checkpoint("kafka-relay").value()();
    BOOST_REQUIRE(r->start());
    auto target = before + 1 + rng() % 500;
    BOOST_TEST(r->wait_until_confirmed(log_position{std::min(target, total)}, 60s));
    r->stop();
    auto after = store.load_checkpoint("kafka-relay").value()();
    // The saved checkpoint never goes back, and only covers confirmed positions.
    BOOST_TEST(after >= before);
    BOOST_TEST(after <= r->confirmed()());
  }
  auto r = make_relay(o);
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->wait_until_confirmed(log_position{total}, 60s));
  check_published(read_topic(cluster->bootstrap_servers(), topic, total), total);
}

BOOST_FIXTURE_TEST_CASE(lag_is_the_distance_from_the_log_head_to_the_confirmed_position,
                        mock_fixture) {
  fill(store, 100, 4);
  auto r = make_relay();
  BOOST_TEST(r->lag() == 100u); // not started: nothing confirmed
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->wait_until_confirmed(log_position{100}, 30s));
  BOOST_TEST(r->lag() == 0u);
  fill(store, 20, 4, 7, 100);
  BOOST_TEST(r->wait_until_confirmed(log_position{120}, 30s));
  BOOST_TEST(r->stats().lag == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_relay_refuses_a_topic_with_another_partition_count, mock_fixture) {
  auto other = unique_topic("two");
  BOOST_REQUIRE(cluster->create_topic(other, 2));
  fill(store, 10, 2);
  auto o = test_relay_options(cluster->bootstrap_servers(), other, 4);
  auto r = make_relay(o);
  BOOST_REQUIRE(r->start());
  BOOST_TEST(wait_until([&] { return r->stats().state == relay_state::failed; }, 30s));
  BOOST_TEST(r->stats().last_error.find("expected 4") != std::string::npos);
  BOOST_TEST(r->stats().records_produced == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_relay_started_twice_reports_already_running, mock_fixture) {
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->start().error() == make_error_code(kafka::errc::already_running));
  r->stop();
  BOOST_TEST(!r->running());
  BOOST_TEST(r->start());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(consumer_on_mock)

BOOST_FIXTURE_TEST_CASE(the_consumer_drops_copies_of_republished_events, mock_fixture) {
  fill(store, 400, 10);
  {
    auto r = make_relay();
    BOOST_REQUIRE(r->start());
    BOOST_REQUIRE(r->flush(60s));
  }
  // Rewind the checkpoint as a crash before saving would: positions 151..400
  // are published a second time.
  BOOST_REQUIRE(store.save_checkpoint("kafka-relay", log_position{150}));
  {
    auto r = make_relay();
    BOOST_REQUIRE(r->start());
    BOOST_REQUIRE(r->flush(60s));
  }
  BOOST_TEST(read_topic(cluster->bootstrap_servers(), topic, 400).size() == 650u);

  consumer_options o;
  o.client.brokers = cluster->bootstrap_servers();
  o.client.topic = topic;
  auto c = event_consumer::create(o).value();
  std::set<std::uint64_t> positions;
  std::map<std::string, std::uint64_t> last_version;
  std::uint64_t delivered = 0;
  bool ordered = true;
  auto n = c->consume_until_end(
      [&](const consumed_event& ev) -> result<void> {
        ++delivered;
        positions.insert(ev.envelope.position());
        auto& v = last_version[ev.envelope.stream];
        if (ev.envelope.version() != v + 1) ordered = false;
        v = ev.envelope.version();
        return ok();
      },
      60s);
  BOOST_REQUIRE(n);
  BOOST_TEST(delivered == 400u);
  BOOST_TEST(positions.size() == 400u);
  BOOST_TEST(ordered);
  auto s = c->stats();
  BOOST_TEST(s.duplicates == 250u);
  BOOST_TEST(s.records == 650u);
  BOOST_TEST(s.at_end);
  BOOST_TEST(s.partitions == 4);
}

BOOST_FIXTURE_TEST_CASE(a_consumer_group_continues_after_its_committed_offsets, mock_fixture) {
  fill(store, 100, 5);
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{100}, 30s));
  consumer_options o;
  o.client.brokers = cluster->bootstrap_servers();
  o.client.topic = topic;
  o.group_id = "analytics-" + topic;
  // The mock's group coordinator only lets the second member in once the
  // first one's session expired: keep sessions short.
  o.client.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
  std::set<std::uint64_t> first_run;
  {
    auto c = event_consumer::create(o).value();
    BOOST_REQUIRE(c->consume_until_end(
        [&](const consumed_event& ev) -> result<void> {
          first_run.insert(ev.envelope.position());
          return ok();
        },
        60s));
  } // closing commits the stored offsets
  BOOST_TEST(first_run.size() == 100u);
  fill(store, 20, 5, 7, 100);
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{120}, 30s));
  std::set<std::uint64_t> second_run;
  auto c = event_consumer::create(o).value();
  BOOST_REQUIRE(c->consume_until_end(
      [&](const consumed_event& ev) -> result<void> {
        second_run.insert(ev.envelope.position());
        return ok();
      },
      60s));
  BOOST_TEST(second_run.size() == 20u);
  BOOST_TEST(*second_run.begin() == 101u);
}

BOOST_FIXTURE_TEST_CASE(a_handler_error_stops_delivery_and_is_returned, mock_fixture) {
  fill(store, 20, 2);
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{20}, 30s));
  consumer_options o;
  o.client.brokers = cluster->bootstrap_servers();
  o.client.topic = topic;
  auto c = event_consumer::create(o).value();
  auto n = c->consume_until_end(
      [&](const consumed_event&) -> result<void> { return make_error_code(kafka::errc::stopped); },
      30s);
  BOOST_TEST(n.error() == make_error_code(kafka::errc::stopped));
}

BOOST_FIXTURE_TEST_CASE(a_record_that_is_not_an_envelope_fails_or_is_skipped_as_configured,
                        mock_fixture) {
  if (!have_kcat()) {
    BOOST_TEST_MESSAGE("SKIPPED: kcat is not installed");
    return;
  }
  fill(store, 5, 1);
  auto r = make_relay();
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{5}, 30s));
  auto cmd = "printf 'product-0:not json\\n' | kcat -P -b " + cluster->bootstrap_servers() +
             " -t " + topic + " -K: 2>&1";
  run_command(cmd);

  consumer_options o;
  o.client.brokers = cluster->bootstrap_servers();
  o.client.topic = topic;
  o.on_malformed = malformed_policy::skip;
  o.client.logger = nullptr;
  std::uint64_t delivered = 0;
  auto c = event_consumer::create(o).value();
  BOOST_TEST(wait_until(
      [&] {
        auto n = c->poll(50ms, [&](const consumed_event&) -> result<void> {
          ++delivered;
          return ok();
        });
        return n && c->stats().malformed == 1u && c->at_end();
      },
      30s));
  BOOST_TEST(delivered == 5u);

  o.on_malformed = malformed_policy::fail;
  auto strict = event_consumer::create(o).value();
  result<std::size_t> last = std::size_t{0};
  BOOST_TEST(wait_until(
      [&] {
        last = strict->poll(50ms, [](const consumed_event&) -> result<void> { return ok(); });
        return !last || strict->at_end();
      },
      30s));
  BOOST_TEST(last.error() == make_error_code(kafka::errc::malformed_record));
}

BOOST_AUTO_TEST_SUITE_END()
