#define BOOST_TEST_MODULE storage
#include <boost/test/unit_test.hpp>

#include "storage/errc.hpp"
#include "storage/open.hpp"
#include "tests/storage/store_fixture.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace otaledger;
using namespace otaledger::storage;
using otaledger::testing::make_append;
using otaledger::testing::store_fixture;

BOOST_FIXTURE_TEST_SUITE(append_contract, store_fixture)

BOOST_AUTO_TEST_CASE(every_storage_error_code_has_its_own_message) {
  std::set<std::string> seen;
  for (auto e : all_errc) {
    std::error_code ec = e;
    BOOST_TEST(seen.insert(ec.message()).second);
    BOOST_TEST(ec.message().find("unknown") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_new_stream_gets_dense_versions_from_one_and_dense_positions) {
  auto r = store().append(make_append("task-1", expected_version::no_stream(), 3));
  BOOST_REQUIRE(r);
  BOOST_TEST(r.value().first() == 1u);
  BOOST_TEST(r.value().last() == 3u);
  BOOST_TEST(r.value().version() == 3u);
  auto r2 = store().append(make_append("task-2", expected_version::no_stream(), 2));
  BOOST_REQUIRE(r2);
  BOOST_TEST(r2.value().first() == 4u);
  auto all = store().read_all(log_position{1}, 100).value();
  BOOST_REQUIRE(all.size() == 5u);
  for (std::size_t i = 0; i < all.size(); ++i)
    BOOST_TEST(all[i].position() == i + 1);
  BOOST_TEST(all[3].stream == "task-2");
  BOOST_TEST(all[3].version() == 1u);
  BOOST_TEST(!all[0].id.is_nil());
  BOOST_TEST(all[0].time.micros > 0);
  BOOST_TEST(store().head()() == 5u);
}

BOOST_AUTO_TEST_CASE(a_wrong_expected_version_is_refused_and_changes_nothing) {
  BOOST_REQUIRE(store().append(make_append("task-1", expected_version::no_stream(), 2)));
  auto r = store().append(make_append("task-1", expected_version::exactly(stream_version{1})));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::wrong_expected_version));
  BOOST_TEST(error_detail() == "task-1 is at version 2, the append expected 1");
  r = store().append(make_append("task-1", expected_version::no_stream()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::wrong_expected_version));
  BOOST_TEST(store().head()() == 2u);
  BOOST_TEST(store().stream_head("task-1").value()() == 2u);
  BOOST_REQUIRE(
      store().append(make_append("task-1", expected_version::exactly(stream_version{2}))));
  BOOST_REQUIRE(store().append(make_append("task-1", expected_version::any())));
  BOOST_TEST(store().stream_head("task-1").value()() == 4u);
}

BOOST_AUTO_TEST_CASE(a_repeated_command_id_returns_the_first_result_and_appends_nothing) {
  auto first = store().append(make_append("task-1", expected_version::no_stream(), 2, "cmd-1"));
  BOOST_REQUIRE(first);
  // A client retry: same command id; even its (now stale) expected version does not matter.
  auto again = store().append(make_append("task-1", expected_version::no_stream(), 2, "cmd-1"));
  BOOST_REQUIRE(again);
  BOOST_TEST(again.value().duplicate);
  BOOST_TEST(again.value().first == first.value().first);
  BOOST_TEST(again.value().version == first.value().version);
  BOOST_TEST(store().head()() == 2u);
  reopen();
  auto after_restart = store().append(make_append("task-1", expected_version::any(), 2, "cmd-1"));
  BOOST_REQUIRE(after_restart);
  BOOST_TEST(after_restart.value().duplicate);
  BOOST_TEST(after_restart.value().last == first.value().last);
  BOOST_TEST(store().head()() == 2u);
}

BOOST_AUTO_TEST_CASE(a_repeated_command_id_within_one_commit_group_is_a_duplicate) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<append_result> results;
  for (int i = 0; i < 50; ++i)
    store().append_async(make_append("device-1", expected_version::any(), 1, "same"),
                         [&](result<append_result> r) {
                           std::lock_guard lock{m};
                           results.push_back(r.value());
                           cv.notify_one();
                         });
  std::unique_lock lock{m};
  cv.wait(lock, [&] { return results.size() == 50; });
  int originals = 0;
  for (auto& r : results)
    originals += r.duplicate ? 0 : 1;
  BOOST_TEST(originals == 1);
  BOOST_TEST(store().head()() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_appends_are_refused_with_the_reason) {
  auto r = store().append(make_append("", expected_version::any()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  BOOST_TEST(error_detail() == "the stream name is empty");
  r = store().append(make_append("task-1", expected_version::any(), 0));
  BOOST_REQUIRE(!r);
  BOOST_TEST(error_detail() == "an append to task-1 carries no event");
  auto big = make_append("task-1", expected_version::any());
  big.events[0].data.assign(events::max_payload + 1, 'x');
  r = store().append(big);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::too_large));
  BOOST_TEST(store().head()() == 0u);
}

BOOST_AUTO_TEST_CASE(one_appends_events_are_stored_together_with_their_metadata) {
  auto req = make_append("task-9", expected_version::no_stream(), 3, "cmd-9");
  req.events[1].meta.reason = "why not";
  req.events[1].meta.correlation = "corr-9";
  BOOST_REQUIRE(store().append(req));
  auto s = store().read_stream("task-9", stream_version{1}, 10).value();
  BOOST_REQUIRE(s.size() == 3u);
  BOOST_TEST(s[1].meta.reason == "why not");
  BOOST_TEST(s[1].meta.correlation == "corr-9");
  BOOST_TEST(s[2].meta.command == "cmd-9");
  BOOST_TEST(s[0].time.micros == s[2].time.micros);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(reading, store_fixture)

BOOST_AUTO_TEST_CASE(read_stream_pages_by_version_and_read_all_by_position) {
  for (int i = 0; i < 10; ++i) {
    BOOST_REQUIRE(store().append(make_append("a", expected_version::any())));
    BOOST_REQUIRE(store().append(make_append("b", expected_version::any())));
  }
  auto page = store().read_stream("a", stream_version{4}, 3).value();
  BOOST_REQUIRE(page.size() == 3u);
  BOOST_TEST(page[0].version() == 4u);
  BOOST_TEST(page[0].position() == 7u);
  BOOST_TEST(page[2].version() == 6u);
  BOOST_TEST(store().read_stream("a", stream_version{11}, 3).value().empty());
  BOOST_TEST(store().read_stream("nope", stream_version{1}, 3).value().empty());
  // "a" must not see "ab"'s events even though it is a prefix.
  BOOST_REQUIRE(store().append(make_append("ab", expected_version::any())));
  BOOST_TEST(store().read_stream("a", stream_version{1}, 100).value().size() == 10u);
  auto all = store().read_all(log_position{19}, 100).value();
  BOOST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all.back().stream == "ab");
}

BOOST_AUTO_TEST_CASE(the_log_survives_a_reopen) {
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(store().append(make_append("t", expected_version::any(), 2)));
  reopen();
  BOOST_TEST(store().head()() == 10u);
  BOOST_TEST(store().stream_head("t").value()() == 10u);
  auto r = store().append(make_append("t", expected_version::exactly(stream_version{10})));
  BOOST_REQUIRE(r);
  BOOST_TEST(r.value().first() == 11u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(subscriptions, store_fixture)

BOOST_AUTO_TEST_CASE(a_subscription_catches_up_then_follows_live_appends_without_gap_or_duplicate) {
  for (int i = 0; i < 300; ++i)
    BOOST_REQUIRE(
        store().append(make_append("s-" + std::to_string(i % 7), expected_version::any())));
  constexpr std::uint64_t total = 300 + 4 * 500;
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::uint64_t> seen;
  auto sub = store().subscribe(log_position{0},
                               [&](std::span<const events::envelope> batch) -> result<void> {
                                 std::lock_guard lock{m};
                                 for (auto& e : batch)
                                   seen.push_back(e.position());
                                 cv.notify_one();
                                 return ok();
                               });
  // Appends race with the catch-up from four threads.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i)
        (void)store().append(make_append("w-" + std::to_string(w), expected_version::any()));
    });
  for (auto& t : writers)
    t.join();
  {
    std::unique_lock lock{m};
    BOOST_REQUIRE(
        cv.wait_for(lock, std::chrono::seconds(60), [&] { return seen.size() >= total; }));
  }
  sub->stop();
  BOOST_REQUIRE(seen.size() == total);
  for (std::size_t i = 0; i < seen.size(); ++i)
    BOOST_TEST_REQUIRE(seen[i] == i + 1);
  BOOST_TEST(sub->position()() == total);
}

BOOST_AUTO_TEST_CASE(a_subscription_from_a_position_starts_after_it) {
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(store().append(make_append("x", expected_version::any())));
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::uint64_t> seen;
  auto sub = store().subscribe(log_position{7},
                               [&](std::span<const events::envelope> batch) -> result<void> {
                                 std::lock_guard lock{m};
                                 for (auto& e : batch)
                                   seen.push_back(e.position());
                                 cv.notify_one();
                                 return ok();
                               });
  std::unique_lock lock{m};
  BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return seen.size() >= 3; }));
  BOOST_TEST(seen == (std::vector<std::uint64_t>{8, 9, 10}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(snapshots_checkpoints_and_views, store_fixture)

BOOST_AUTO_TEST_CASE(the_latest_snapshot_per_stream_is_kept_across_reopen) {
  BOOST_TEST(!store().load_snapshot("task-1").value().has_value());
  BOOST_REQUIRE(store().save_snapshot("task-1", {stream_version{5}, 1, "five"}));
  BOOST_REQUIRE(store().save_snapshot("task-1", {stream_version{9}, 2, "nine"}));
  reopen();
  auto s = store().load_snapshot("task-1").value();
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->version() == 9u);
  BOOST_TEST(s->schema == 2);
  BOOST_TEST(s->data == "nine");
}

BOOST_AUTO_TEST_CASE(named_checkpoints_start_at_zero_and_persist) {
  BOOST_TEST(store().load_checkpoint("relay").value()() == 0u);
  BOOST_REQUIRE(store().save_checkpoint("relay", log_position{42}));
  reopen();
  BOOST_TEST(store().load_checkpoint("relay").value()() == 42u);
}

BOOST_AUTO_TEST_CASE(a_view_batch_writes_rows_and_its_checkpoint_together) {
  kv_batch b;
  for (int i = 0; i < 25; ++i)
    b.put("devices", "d" + std::to_string(100 + i), "v" + std::to_string(i));
  b.put("other", "d100", "elsewhere");
  b.set_checkpoint("view:devices", log_position{7});
  BOOST_REQUIRE(db.views->commit(b, true));
  BOOST_TEST(store().load_checkpoint("view:devices").value()() == 7u);
  auto page1 = db.views->scan("devices", "d1", "", 10).value();
  BOOST_REQUIRE(page1.size() == 10u);
  BOOST_TEST(page1.front().first == "d100");
  auto page2 = db.views->scan("devices", "d1", page1.back().first, 100).value();
  BOOST_TEST(page2.size() == 15u);
  BOOST_TEST(page2.front().first == "d110");
  BOOST_TEST(db.views->get("other", "d100").value().value() == "elsewhere");
  kv_batch wipe;
  wipe.erase_space("devices");
  wipe.erase("other", "d100");
  BOOST_REQUIRE(db.views->commit(wipe, false));
  BOOST_TEST(db.views->scan("devices", "", "", 100).value().empty());
  BOOST_TEST(!db.views->get("other", "d100").value().has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(many_writers_on_many_streams_leave_dense_positions_and_versions) {
  store_fixture f;
  constexpr int threads = 16, per_thread = 150, streams = 40;
  std::atomic<int> refused{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = f.store().append(make_append("s-" + std::to_string((t * 7 + i) % streams),
                                              expected_version::any(), 1 + i % 3,
                                              "c-" + std::to_string(t) + "-" + std::to_string(i)));
        if (!r || r.value().duplicate) ++refused;
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(refused.load() == 0);
  auto all = f.store().read_all(log_position{1}, 1'000'000).value();
  std::size_t expected_events = 0;
  for (int i = 0; i < per_thread; ++i)
    expected_events += static_cast<std::size_t>(1 + i % 3);
  expected_events *= threads;
  BOOST_REQUIRE(all.size() == expected_events);
  std::map<std::string, std::uint64_t> versions;
  std::map<std::string, int> per_command;
  for (std::size_t i = 0; i < all.size(); ++i) {
    BOOST_TEST_REQUIRE(all[i].position() == i + 1);
    BOOST_TEST_REQUIRE(all[i].version() == ++versions[all[i].stream]);
    ++per_command[all[i].meta.command];
  }
  BOOST_TEST(per_command.size() == static_cast<std::size_t>(threads * per_thread));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(memory_store)

BOOST_AUTO_TEST_CASE(the_memory_store_keeps_the_same_append_contract) {
  auto s = make_memory_event_store();
  BOOST_REQUIRE(s->append(make_append("t", expected_version::no_stream(), 2, "c1")));
  auto dup = s->append(make_append("t", expected_version::no_stream(), 2, "c1"));
  BOOST_REQUIRE(dup);
  BOOST_TEST(dup.value().duplicate);
  auto bad = s->append(make_append("t", expected_version::exactly(stream_version{1})));
  BOOST_REQUIRE(!bad);
  BOOST_TEST((bad.error() == errc::wrong_expected_version));
  BOOST_TEST(s->head()() == 2u);
  BOOST_TEST(s->read_stream("t", stream_version{2}, 5).value().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
