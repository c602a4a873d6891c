// Fault tests, each named after the failure it provokes: brokers down,
// produce errors (retriable, fatal for idempotence, permanent), an event
// Kafka refuses, and a relay process killed with SIGKILL. In every case
// nothing is lost: every position of the log reaches the topic, in stream order.
#include <boost/test/unit_test.hpp>

#include "kafka/mock_cluster.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/kafka/helpers.hpp"
#include "tests/kafka/log_fill.hpp"
#include "tests/kafka/relay_process.hpp"

using namespace otaledger;
using namespace otaledger::kafka;
using namespace otaledger::kafka::testing;

namespace {

struct fault_fixture {
  std::unique_ptr<mock_cluster> cluster = mock_cluster::create(1).value();
  std::string topic = unique_topic("fault");
  std::unique_ptr<storage::event_store> owned_store = storage::make_memory_event_store();
  storage::event_store& store = *owned_store;

  fault_fixture() { BOOST_REQUIRE(cluster->create_topic(topic, 4)); }

  relay_options options() {
    auto o = test_relay_options(cluster->bootstrap_servers(), topic, 4);
    o.client.logger = nullptr; // the faults are expected: keep the test log readable
    return o;
  }

  std::unique_ptr<relay> make_relay(relay_options o) {
    auto r = relay::create(store, std::move(o));
    BOOST_REQUIRE(r);
    return std::move(r).value();
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(relay_faults)

BOOST_FIXTURE_TEST_CASE(all_brokers_down_mid_run_loses_nothing, fault_fixture) {
  fill(store, 3000, 16);
  auto o = options();
  o.max_in_flight = 200;
  BOOST_REQUIRE(cluster->set_rtt(1, 2));
  auto r = make_relay(o);
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{500}, 60s));
  BOOST_REQUIRE(cluster->set_down());
  // The log keeps accepting appends while Kafka is away.
  fill(store, 1000, 16, 7, 3000);
  BOOST_TEST(wait_until([&] { return r->stats().broker_errors > 0u; }, 30s));
  auto during = r->confirmed();
  BOOST_TEST(during() < 4000u);
  BOOST_TEST(r->lag() > 0u);
  BOOST_REQUIRE(cluster->set_up());
  BOOST_TEST(r->wait_until_confirmed(log_position{4000}, 90s));
  BOOST_TEST(r->flush(30s));
  BOOST_TEST(store.load_checkpoint("kafka-relay").value()() == 4000u);
  check_published(read_topic(cluster->bootstrap_servers(), topic, 4000), 4000);
}

BOOST_FIXTURE_TEST_CASE(retriable_produce_errors_lose_nothing_and_duplicate_nothing,
                        fault_fixture) {
  fill(store, 2000, 16);
  cluster->push_request_errors(api_key::produce,
                               {broker_error::not_leader_for_partition,
                                broker_error::not_leader_for_partition,
                                broker_error::request_timed_out, broker_error::not_enough_replicas,
                                broker_error::not_enough_replicas, broker_error::transport});
  auto r = make_relay(options());
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->wait_until_confirmed(log_position{2000}, 90s));
  auto records = read_topic(cluster->bootstrap_servers(), topic, 2000);
  check_published(records, 2000);
  // Within one producer session the idempotent producer's retries are
  // deduplicated by the broker: no copies at all.
  BOOST_TEST(records.size() == 2000u);
  BOOST_TEST(r->stats().producer_restarts == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_refused_first_batch_overtaken_by_a_later_one_loses_nothing,
                        fault_fixture) {
  // A new producer id's first batch to a partition is refused (e.g. the
  // partition's leader is not ready yet), while its second batch, already in
  // flight, is accepted: brokers take any first sequence from a producer they
  // do not know, and librdkafka 2.0.2 then reports the refused batch as
  // delivered ("implicitly acked"). The relay sends one record to each
  // partition until the partition confirmed one, so this cannot happen.
  fill(store, 400, 3);
  auto o = options();
  o.linger_ms = 0;
  o.max_in_flight = 5;
  cluster->push_request_errors(api_key::produce, {broker_error::not_leader_for_partition});
  auto r = make_relay(o);
  BOOST_REQUIRE(r->start());
  BOOST_TEST(r->wait_until_confirmed(log_position{400}, 60s));
  check_published(read_topic(cluster->bootstrap_servers(), topic, 400), 400);
}

BOOST_FIXTURE_TEST_CASE(a_fatal_idempotence_error_recreates_the_producer_and_loses_nothing,
                        fault_fixture) {
  fill(store, 1000, 16);
  auto r = make_relay(options());
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{1000}, 60s));
  // librdkafka 2.0.2 treats OUT_OF_ORDER_SEQUENCE_NUMBER as a fatal error
  // ("sequence desynchronization"): the producer is unusable afterwards.
  cluster->push_request_errors(api_key::produce, {broker_error::out_of_order_sequence_number,
                                                  broker_error::out_of_order_sequence_number});
  fill(store, 1000, 16, 7, 1000);
  BOOST_TEST(r->wait_until_confirmed(log_position{2000}, 90s));
  auto s = r->stats();
  BOOST_TEST(s.producer_restarts >= 1u);
  BOOST_TEST(s.last_error.find("fatal") != std::string::npos);
  check_published(read_topic(cluster->bootstrap_servers(), topic, 2000), 2000);
}

BOOST_FIXTURE_TEST_CASE(a_batch_rejected_for_good_is_published_again_without_a_gap, fault_fixture) {
  fill(store, 1000, 16);
  auto r = make_relay(options());
  BOOST_REQUIRE(r->start());
  BOOST_REQUIRE(r->wait_until_confirmed(log_position{1000}, 60s));
  // INVALID_RECORD fails a batch for good; under the gapless guarantee the
  // producer stops instead of letting later records of the partition through.
  cluster->push_request_errors(api_key::produce,
                               {broker_error::invalid_record, broker_error::invalid_record});
  fill(store, 1000, 16, 7, 1000);
  BOOST_TEST(r->wait_until_confirmed(log_position{2000}, 90s));
  BOOST_TEST(r->stats().producer_restarts >= 1u);
  check_published(read_topic(cluster->bootstrap_servers(), topic, 2000), 2000);
}

BOOST_FIXTURE_TEST_CASE(an_event_larger_than_kafka_accepts_stops_the_relay_at_its_position,
                        fault_fixture) {
  fill(store, 19, 4);
  {
    base::uuid_generator ids{99};
    storage::append_request req;
    req.stream = "product-big";
    auto e = make_event(ids, 19, req.stream);
    events::product_created big;
    big.product = req.stream;
    big.name = std::string(20000, 'x');
    e.data = events::encode_payload(events::event{big});
    req.events.push_back(std::move(e));
    BOOST_REQUIRE(store.append(std::move(req)));
  }
  fill(store, 10, 4, 7, 20);
  auto o = options();
  o.client.properties["message.max.bytes"] = "10000";
  o.batch_bytes = 10000;
  auto r = make_relay(o);
  BOOST_REQUIRE(r->start());
  BOOST_TEST(wait_until(
      [&] {
        return r->confirmed()() == 19u &&
               r->stats().last_error.find("position 20") != std::string::npos;
      },
      30s));
  // Nothing after the refused event is published: consumers see no gap.
  BOOST_TEST(r->stats().records_produced == 19u);
  BOOST_TEST(r->lag() == 11u);
  BOOST_TEST(r->flush(10ms).error() == make_error_code(kafka::errc::timeout));
}

BOOST_FIXTURE_TEST_CASE(a_relay_process_killed_with_sigkill_resumes_from_its_checkpoint,
                        fault_fixture) {
  // Slow the broker down so that kills land in the middle of the log.
  BOOST_REQUIRE(cluster->set_rtt(1, 10));
  kill_relay_at_random_points(cluster->bootstrap_servers(), topic, 6000, 50);
}

BOOST_AUTO_TEST_SUITE_END()
