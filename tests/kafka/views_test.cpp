// Consumer-built views (kafka/views.hpp): the views folded from the topic
// alone equal the views folded from the log. Against the real broker
// (views_from_topic: a rollout run by the actor runtime over the simulated
// fleet, relayed, built back, digests compared with a fresh local rebuild;
// copies on the topic) and the mock cluster (views_on_mock: a position missing
// from the topic, resuming a views directory, refusing a server's data).
#include <boost/test/unit_test.hpp>

#include "events/json_codec.hpp"
#include "kafka/mock_cluster.hpp"
#include "storage/memory_event_store.hpp"
#include "storage/open.hpp"
#include "tests/actors/fleet_fixture.hpp"
#include "tests/kafka/helpers.hpp"
#include "tests/kafka/log_fill.hpp"
#include "tests/kafka/views_fixture.hpp"
#include "tests/projections/rollout_log.hpp"

#include <fstream>
#include <random>
#include <sstream>

using namespace otaledger;
using namespace otaledger::kafka;
using namespace otaledger::kafka::testing;

namespace {

/// `kafka_relay_child consume ...` (the same consume_main as `otaledger
/// consume`) with --views: view name -> digest hash, from its JSON lines.
std::map<std::string, std::string> consume_views_command(const std::string& brokers,
                                                         const std::string& topic,
                                                         const std::filesystem::path& dir) {
  auto out = run_command(std::string{KAFKA_RELAY_CHILD} + " consume --brokers " + brokers +
                         " --topic " + topic + " --views " + dir.string() + " --exit-at-end");
  std::map<std::string, std::string> digests;
  std::istringstream lines{out};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto j = events::json::parse(line, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!j.is_discarded() && j.contains("view"), "unexpected line: " << line);
    digests[j["view"].get<std::string>()] = j["digest"].get<std::string>();
  }
  return digests;
}

} // namespace

BOOST_AUTO_TEST_SUITE(views_from_topic)

BOOST_AUTO_TEST_CASE(views_built_from_the_topic_alone_equal_a_fresh_local_rebuild_of_the_log) {
  auto brokers = real_brokers();
  if (!brokers) return;
  // A rollout as the server runs it: catalog, devices registering and
  // reporting, a task, the coordinator and the simulated fleet (a fifth of
  // the installs fail), on a real RocksDB store.
  actors::sim_options sim;
  sim.failure_rate = 0.2;
  sim.seed = 11;
  otaledger::testing::fleet_env env{sim};
  env.catalog_and_devices(250);
  env.must("create_group", R"({"group":"G1","name":"pilot","description":"first wave"})");
  env.must("add_group_devices", R"({"group":"G1","devices":["D0","D1","D2","D3"]})");
  env.create_task("1");
  env.must("start_task", R"({"task":"1"})");
  BOOST_REQUIRE(env.wait_for("task-1", "task.completed"));
  env.settle();
  env.stop();
  storage::event_store& log = *env.db.events;
  const std::uint64_t head = log.head()();
  BOOST_TEST_MESSAGE("the rollout wrote " << head << " events");
  BOOST_REQUIRE(head >= 1500u);

  auto topic = unique_topic("views");
  relay_all(log, test_relay_options(*brokers, topic, 4));

  scratch_dir dir{"views"};
  auto built = build_views_from_topic(test_views_options(*brokers, topic, dir.path / "views"));
  BOOST_REQUIRE_MESSAGE(built, views_error_detail());
  const auto& rep = built.value();
  BOOST_TEST(rep.started_at() == 0u);
  BOOST_TEST(rep.position() == head);
  BOOST_TEST(rep.folded == head);
  BOOST_TEST(rep.records == head);
  BOOST_TEST(rep.duplicates == 0u);
  BOOST_TEST_MESSAGE("at most " << rep.most_held << " events waited for an earlier position");

  auto local = local_digests(log);
  check_same_views(rep.digests, local);
  // The views are not trivially equal: they have rows (audit aside: these
  // commands carry no correlation id; the copies test below covers it).
  for (const auto& [view, d] : local)
    if (view != "audit") BOOST_TEST(d.rows > 0u, "view " << view << " is empty");
  BOOST_TEST(local.at("executions").rows >= 250u);
  BOOST_TEST(local.at("fleet").rows >= 250u);

  // `otaledger consume --views` prints the same digests.
  auto printed = consume_views_command(*brokers, topic, dir.path / "cli-views");
  BOOST_TEST(printed.size() == local.size());
  for (const auto& [view, d] : local)
    BOOST_TEST(printed[view] == d.hash, "view " << view);
}

BOOST_AUTO_TEST_CASE(copies_of_events_on_the_topic_do_not_change_the_views_built_from_it) {
  auto brokers = real_brokers();
  if (!brokers) return;
  BOOST_REQUIRE_MESSAGE(have_kcat(), "kcat is not installed (scripts/deps.sh installs it)");
  auto owned = storage::make_memory_event_store();
  storage::event_store& log = *owned;
  BOOST_REQUIRE(otaledger::testing::append_rollout(log, 300, 64));
  const std::uint64_t head = log.head()();
  auto topic = unique_topic("views-copies");
  relay_all(log, test_relay_options(*brokers, topic, 4));

  // Copies as a relay makes them: it crashed before saving its checkpoint
  // past 600 and publishes 601..head again.
  BOOST_REQUIRE(log.save_checkpoint("kafka-relay", log_position{600}));
  relay_all(log, test_relay_options(*brokers, topic, 4));
  // Copies as nobody here makes them: kcat produces 50 records again, each
  // to another partition than its original's, after everything else.
  auto records = read_topic(*brokers, topic, head);
  BOOST_REQUIRE(records.size() >= head);
  scratch_dir dir{"views-copies"};
  std::mt19937_64 rng{5};
  for (int part = 0; part < 4; ++part) {
    auto file = dir.path / ("copies-" + std::to_string(part) + ".txt");
    std::ofstream out{file};
    int n = 0;
    for (int i = 0; i < 200 && n < 13; ++i) {
      const auto& r = records[rng() % records.size()];
      if (r.partition == part) continue;
      out << r.key << '|' << r.value << '\n';
      ++n;
    }
    out.close();
    auto cmd = "kcat -P -b " + *brokers + " -t " + topic + " -p " + std::to_string(part) +
               " -K '|' -l " + file.string() + " 2>&1";
    BOOST_REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, cmd);
  }

  auto built = build_views_from_topic(test_views_options(*brokers, topic, dir.path / "views"));
  BOOST_REQUIRE_MESSAGE(built, views_error_detail());
  const auto& rep = built.value();
  BOOST_TEST(rep.position() == head);
  BOOST_TEST(rep.folded == head);
  // Every copy was read and dropped: the relay's (head - 600) and kcat's 4 x 13.
  BOOST_TEST(rep.records == head + (head - 600) + 52);
  BOOST_TEST(rep.duplicates == rep.records - head);
  auto local = local_digests(log);
  check_same_views(rep.digests, local);
  BOOST_TEST(local.at("audit").rows > 0u);
  BOOST_TEST(local.at("executions").rows >= 300u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(views_on_mock)

struct mock_topic {
  std::unique_ptr<mock_cluster> cluster = mock_cluster::create(1).value();
  std::string topic = unique_topic("views-mock");
  mock_topic() { BOOST_REQUIRE(cluster->create_topic(topic, 4)); }
  relay_options relay_opts() { return test_relay_options(cluster->bootstrap_servers(), topic, 4); }
  views_options views_opts(const std::filesystem::path& dir) {
    auto o = test_views_options(cluster->bootstrap_servers(), topic, dir);
    o.gap_wait = 500ms;
    return o;
  }
};

BOOST_FIXTURE_TEST_CASE(a_position_missing_from_the_topic_stops_the_build_and_names_it,
                        mock_topic) {
  auto owned = storage::make_memory_event_store();
  storage::event_store& log = *owned;
  BOOST_REQUIRE(otaledger::testing::append_rollout(log, 40, 16)); // 243 events
  // Published: 1..100 and 111..243; 101..110 never were.
  BOOST_REQUIRE(log.save_checkpoint("kafka-relay", log_position{110}));
  relay_all(log, relay_opts());
  BOOST_REQUIRE(log.save_checkpoint("kafka-relay", log_position{0}));
  {
    // Only 1..100: a relay over a copy of the log's first 100 events.
    auto first = storage::make_memory_event_store();
    auto page = log.read_all(log_position{1}, 100).value();
    for (const auto& e : page) {
      storage::append_request req;
      req.stream = e.stream;
      storage::new_event n;
      n.id = e.id;
      n.type = e.type;
      n.schema = e.schema;
      n.time = e.time;
      n.meta = e.meta;
      n.data = e.data;
      req.events.push_back(std::move(n));
      BOOST_REQUIRE(first->append(std::move(req)));
    }
    relay_all(*first, relay_opts());
  }
  scratch_dir dir{"views-gap"};
  auto built = build_views_from_topic(views_opts(dir.path / "views"));
  BOOST_REQUIRE(!built);
  BOOST_TEST((built.error() == make_error_code(errc::missing_position)));
  BOOST_TEST(views_error_detail().find("position 101 is missing") != std::string::npos,
             views_error_detail());

  // The views kept 1..100; once 101..110 are published (the relay starts
  // again from 100), the same directory resumes there and ends equal to the
  // log's views.
  BOOST_REQUIRE(log.save_checkpoint("kafka-relay", log_position{100}));
  relay_all(log, relay_opts());
  auto resumed = build_views_from_topic(views_opts(dir.path / "views"));
  BOOST_REQUIRE_MESSAGE(resumed, views_error_detail());
  BOOST_TEST(resumed.value().started_at() == 100u);
  BOOST_TEST(resumed.value().position() == log.head()());
  BOOST_TEST(resumed.value().folded == log.head()() - 100);
  check_same_views(resumed.value().digests, local_digests(log));
}

BOOST_FIXTURE_TEST_CASE(views_built_again_on_the_same_directory_continue_with_new_events,
                        mock_topic) {
  auto owned = storage::make_memory_event_store();
  storage::event_store& log = *owned;
  BOOST_REQUIRE(otaledger::testing::append_rollout(log, 30, 10));
  relay_all(log, relay_opts());
  scratch_dir dir{"views-resume"};
  auto first = build_views_from_topic(views_opts(dir.path / "views"));
  BOOST_REQUIRE_MESSAGE(first, views_error_detail());
  const auto at = log.head()();
  BOOST_TEST(first.value().position() == at);
  fill(log, 200, 7); // more events: product.created on 7 streams
  relay_all(log, relay_opts());
  auto second = build_views_from_topic(views_opts(dir.path / "views"));
  BOOST_REQUIRE_MESSAGE(second, views_error_detail());
  BOOST_TEST(second.value().started_at() == at);
  BOOST_TEST(second.value().folded == 200u);
  BOOST_TEST(second.value().duplicates == at); // the first events, read again and skipped
  check_same_views(second.value().digests, local_digests(log));
}

BOOST_FIXTURE_TEST_CASE(a_directory_holding_an_event_log_is_refused_and_left_unchanged,
                        mock_topic) {
  scratch_dir dir{"views-refused"};
  {
    storage::options so;
    so.path = (dir.path / "data").string();
    auto db = storage::open_database(so);
    BOOST_REQUIRE(db);
    fill(*db.value().events, 5, 2);
  }
  auto built = build_views_from_topic(views_opts(dir.path / "data"));
  BOOST_REQUIRE(!built);
  BOOST_TEST((built.error() == make_error_code(errc::invalid_options)));
  BOOST_TEST(views_error_detail().find("holds an event log (head 5)") != std::string::npos,
             views_error_detail());
  storage::options so;
  so.path = (dir.path / "data").string();
  auto db = storage::open_database(so);
  BOOST_REQUIRE(db);
  BOOST_TEST(db.value().events->head()() == 5u);
  BOOST_TEST(db.value().views->load_checkpoint(projections::checkpoint_name("tasks")).value()() ==
             0u);
}

BOOST_FIXTURE_TEST_CASE(views_from_a_topic_that_does_not_exist_fail_with_unknown_topic,
                        mock_topic) {
  scratch_dir dir{"views-no-topic"};
  auto o = views_opts(dir.path / "views");
  o.consumer.client.topic = unique_topic("missing");
  o.consumer.client.logger = [](log_level, std::string_view) {};
  auto built = build_views_from_topic(o);
  BOOST_REQUIRE(!built);
  BOOST_TEST((built.error() == make_error_code(errc::unknown_topic)));
  BOOST_TEST(views_error_detail().find("does not exist") != std::string::npos,
             views_error_detail());
}

BOOST_AUTO_TEST_SUITE_END()
