// The event_store contract, run against the RocksDB store (durable and
// unsynced) and the in-memory store alike; then what only RocksDB does
// (reopen, commit groups, subscriptions outliving the store).
#define BOOST_TEST_MODULE storage
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "base/time.hpp"
#include "storage/internal/rocks.hpp"
#include "tests/storage/store_fixture.hpp"

#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/table_properties.h>

#include <fmt/format.h>

#include <map>
#include <set>
#include <thread>

using namespace otaledger;
using namespace otaledger::storage;
using otaledger::testing::async_results;
using otaledger::testing::collector;
using otaledger::testing::make_append;
using otaledger::testing::make_event;
using otaledger::testing::rocks_env;
using otaledger::testing::writer_gate;

using all_stores =
    boost::mpl::list<otaledger::testing::rocks_env, otaledger::testing::rocks_unsynced_env,
                     otaledger::testing::memory_env>;

namespace {

std::vector<std::uint64_t> positions_of(const std::vector<events::envelope>& es) {
  std::vector<std::uint64_t> out;
  for (auto& e : es)
    out.push_back(e.position());
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(append_contract)

BOOST_AUTO_TEST_CASE(every_storage_error_code_has_its_own_message) {
  std::set<std::string> seen;
  for (auto e : all_errc) {
    std::error_code ec = e;
    BOOST_TEST(seen.insert(ec.message()).second, ec.message());
    BOOST_TEST(ec.message().find("unknown") == std::string::npos);
    BOOST_TEST(ec.category().name() == std::string{"otaledger.storage"});
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_new_stream_gets_dense_versions_from_one_and_positions_stay_dense,
                              Env, all_stores) {
  Env env;
  auto& s = env.store();
  auto r = s.append(make_append("task-1", expected_version::no_stream(), 3));
  BOOST_REQUIRE(r);
  BOOST_TEST(r.value().first() == 1u);
  BOOST_TEST(r.value().last() == 3u);
  BOOST_TEST(r.value().version() == 3u);
  BOOST_TEST(!r.value().duplicate);
  auto r2 = s.append(make_append("task-2", expected_version::no_stream(), 2));
  BOOST_REQUIRE(r2);
  BOOST_TEST(r2.value().first() == 4u);
  BOOST_TEST(r2.value().version() == 2u);
  auto all = s.read_all(log_position{1}, 100).value();
  BOOST_REQUIRE(all.size() == 5u);
  for (std::size_t i = 0; i < all.size(); ++i)
    BOOST_TEST(all[i].position() == i + 1);
  BOOST_TEST(all[2].version() == 3u);
  BOOST_TEST(all[3].stream == "task-2");
  BOOST_TEST(all[3].version() == 1u);
  BOOST_TEST(!all[0].id.is_nil());
  BOOST_TEST((all[0].id != all[1].id));
  BOOST_TEST(all[0].time.micros > 0);
  BOOST_TEST(s.head()() == 5u);
  BOOST_TEST(s.stream_head("task-1").value()() == 3u);
  BOOST_TEST(s.stream_head("nobody").value()() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_wrong_expected_version_is_refused_and_changes_nothing, Env,
                              all_stores) {
  Env env;
  auto& s = env.store();
  BOOST_REQUIRE(s.append(make_append("task-1", expected_version::no_stream(), 2)));
  auto before = s.read_all(log_position{1}, 100).value();

  auto r = s.append(make_append("task-1", expected_version::exactly(stream_version{1})));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::wrong_expected_version));
  BOOST_TEST(error_detail() == "task-1 is at version 2, the append expected 1");
  r = s.append(make_append("task-1", expected_version::no_stream()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::wrong_expected_version));
  BOOST_TEST(error_detail() == "task-1 is at version 2, the append expected no stream");
  r = s.append(make_append("task-9", expected_version::exactly(stream_version{3})));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::wrong_expected_version));

  BOOST_TEST(s.head()() == 2u);
  BOOST_TEST(s.stream_head("task-1").value()() == 2u);
  BOOST_TEST(s.stream_head("task-9").value()() == 0u);
  BOOST_TEST((s.read_all(log_position{1}, 100).value() == before));

  BOOST_REQUIRE(s.append(make_append("task-1", expected_version::exactly(stream_version{2}))));
  BOOST_REQUIRE(s.append(make_append("task-1", expected_version::any())));
  BOOST_REQUIRE(s.append(make_append("task-9", expected_version::at(stream_version{0}))));
  BOOST_TEST(s.stream_head("task-1").value()() == 4u);
  BOOST_TEST(s.head()() == 5u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_repeated_command_id_returns_the_first_result_and_appends_nothing,
                              Env, all_stores) {
  Env env;
  auto first = env.store().append(make_append("task-1", expected_version::no_stream(), 2, "cmd-1"));
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(env.store().append(make_append("task-2", expected_version::no_stream())));
  // A client retry: same command id; its now stale expected version does not matter.
  auto again = env.store().append(make_append("task-1", expected_version::no_stream(), 2, "cmd-1"));
  BOOST_REQUIRE(again);
  BOOST_TEST(again.value().duplicate);
  BOOST_TEST(again.value().first == first.value().first);
  BOOST_TEST(again.value().last == first.value().last);
  BOOST_TEST(again.value().version == first.value().version);
  BOOST_TEST(env.store().head()() == 3u);

  env.reopen();
  auto after_restart =
      env.store().append(make_append("task-1", expected_version::any(), 2, "cmd-1"));
  BOOST_REQUIRE(after_restart);
  BOOST_TEST(after_restart.value().duplicate);
  BOOST_TEST(after_restart.value().last == first.value().last);
  BOOST_TEST(env.store().head()() == 3u);
  BOOST_TEST(env.store().stream_head("task-1").value()() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_refused_append_does_not_record_its_command_id, Env, all_stores) {
  Env env;
  BOOST_REQUIRE(env.store().append(make_append("t", expected_version::no_stream())));
  auto refused = env.store().append(make_append("t", expected_version::no_stream(), 1, "c"));
  BOOST_REQUIRE(!refused);
  auto retried =
      env.store().append(make_append("t", expected_version::exactly(stream_version{1}), 1, "c"));
  BOOST_REQUIRE(retried);
  BOOST_TEST(!retried.value().duplicate);
  BOOST_TEST(retried.value().version() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(malformed_appends_are_refused_with_the_reason, Env, all_stores) {
  Env env;
  auto& s = env.store();
  auto r = s.append(make_append("", expected_version::any()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  BOOST_TEST(error_detail() == "the stream name is empty");
  r = s.append(make_append(std::string("a\0b", 3), expected_version::any()));
  BOOST_REQUIRE(!r);
  BOOST_TEST(error_detail() == "the stream name contains a NUL byte");
  r = s.append(make_append(std::string(events::max_stream_name + 1, 's'), expected_version::any()));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  r = s.append(make_append("task-1", expected_version::any(), 0));
  BOOST_REQUIRE(!r);
  BOOST_TEST(error_detail() == "an append to task-1 carries no event");
  auto untyped = make_append("task-1", expected_version::any());
  untyped.events[0].type.clear();
  r = s.append(untyped);
  BOOST_REQUIRE(!r);
  BOOST_TEST(error_detail() == "event 0 of the append to task-1 has an empty or overlong type");
  auto big = make_append("task-1", expected_version::any(), 2);
  big.events[1].data.assign(events::max_payload + 1, 'x');
  r = s.append(big);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::too_large));
  BOOST_TEST(error_detail().find("event 1 of the append to task-1 has 1048577 bytes") == 0u);
  BOOST_TEST(s.head()() == 0u);
  BOOST_TEST(s.stream_head("task-1").value()() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(one_appends_events_are_stored_together_with_their_metadata, Env,
                              all_stores) {
  Env env;
  auto req = make_append("task-9", expected_version::no_stream(), 3, "cmd-9");
  req.events[1].meta.reason = "why not";
  req.events[1].meta.correlation = "corr-9";
  req.events[1].schema = 7;
  req.events[2].id = base::uuid{1, 2};
  req.events[2].time = base::timestamp{-5};
  req.events[0].data = std::string("\0\xff binary", 9);
  BOOST_REQUIRE(env.store().append(req));
  auto s = env.store().read_stream("task-9", stream_version{1}, 10).value();
  BOOST_REQUIRE(s.size() == 3u);
  BOOST_TEST(s[0].data == std::string("\0\xff binary", 9));
  BOOST_TEST(s[1].meta.reason == "why not");
  BOOST_TEST(s[1].meta.correlation == "corr-9");
  BOOST_TEST(s[1].meta.principal == "operator:test");
  BOOST_TEST(s[1].schema == 7);
  BOOST_TEST(s[2].meta.command == "cmd-9");
  BOOST_TEST((s[2].id == base::uuid{1, 2}));
  BOOST_TEST(s[2].time.micros == -5);
  BOOST_TEST(s[0].time.micros == s[1].time.micros); // one commit, one stamp
  BOOST_TEST((env.store().read_all(log_position{1}, 10).value() == s));
}

BOOST_AUTO_TEST_CASE(an_append_over_the_byte_limit_is_too_large_and_changes_nothing) {
  rocks_env env;
  env.close();
  env.opts.max_append_bytes = 10'000;
  env.open();
  auto req = make_append("t", expected_version::any(), 3, "big");
  for (auto& e : req.events)
    e.data.assign(4'000, 'x');
  auto r = env.store().append(req);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::too_large));
  BOOST_TEST(error_detail().find("an append to t carries about") == 0u);
  BOOST_TEST(env.store().head()() == 0u);
  req.events.pop_back(); // under the limit now, and "big" was not recorded
  auto ok2 = env.store().append(req);
  BOOST_REQUIRE(ok2);
  BOOST_TEST(!ok2.value().duplicate);
}

BOOST_AUTO_TEST_CASE(events_without_a_time_get_the_configured_clock_time) {
  base::manual_clock clock{base::timestamp{1'700'000'000'000'000}};
  otaledger::testing::rocks_env env;
  env.close();
  env.opts.clock = &clock;
  env.open();
  BOOST_REQUIRE(env.store().append(make_append("t", expected_version::any())));
  BOOST_TEST(env.store().read_all(log_position{1}, 1).value()[0].time.micros ==
             1'700'000'000'000'000);
  auto mem = make_memory_event_store(&clock);
  BOOST_REQUIRE(mem->append(make_append("t", expected_version::any())));
  BOOST_TEST(mem->read_all(log_position{1}, 1).value()[0].time.micros == 1'700'000'000'000'000);
}

BOOST_AUTO_TEST_CASE(a_repeated_command_id_within_one_commit_group_is_a_duplicate_of_the_first) {
  rocks_env env;
  writer_gate gate;
  gate.hold(env.store(), "gate");
  async_results res;
  // All of these queue behind the held writer and form one commit group.
  env.store().append_async(make_append("d", expected_version::exactly(stream_version{5}), 1, "x"),
                           res.slot()); // refused: does not claim "x"
  for (int i = 0; i < 20; ++i)
    env.store().append_async(make_append("d", expected_version::any(), 2, "x"), res.slot());
  env.store().append_async(make_append("e", expected_version::any(), 1, "y"), res.slot());
  gate.release();
  res.wait_all();
  BOOST_REQUIRE(!res[0]);
  BOOST_TEST((res[0].error() == errc::wrong_expected_version));
  BOOST_REQUIRE(res[1]);
  BOOST_TEST(!res[1].value().duplicate);
  BOOST_TEST(res[1].value().first() == 2u); // position 1 is the gate's
  for (std::size_t i = 2; i <= 20; ++i) {
    BOOST_REQUIRE(res[i]);
    BOOST_TEST(res[i].value().duplicate);
    BOOST_TEST((res[i].value().first == res[1].value().first));
    BOOST_TEST((res[i].value().version == res[1].value().version));
  }
  BOOST_REQUIRE(res[21]);
  BOOST_TEST(res[21].value().first() == 4u);
  BOOST_TEST(env.store().head()() == 4u);
  env.reopen();
  auto again = env.store().append(make_append("d", expected_version::any(), 2, "x"));
  BOOST_REQUIRE(again);
  BOOST_TEST(again.value().duplicate);
  BOOST_TEST(again.value().first() == 2u);
}

BOOST_AUTO_TEST_CASE(a_refused_append_in_a_commit_group_leaves_the_others_dense) {
  rocks_env env;
  writer_gate gate;
  gate.hold(env.store(), "gate");
  async_results res;
  auto& s = env.store();
  s.append_async(make_append("a", expected_version::no_stream(), 2), res.slot());        // 2-3
  s.append_async(make_append("a", expected_version::no_stream()), res.slot());           // refused
  s.append_async(make_append("b", expected_version::no_stream()), res.slot());           // 4
  s.append_async(make_append("a", expected_version::at(stream_version{2})), res.slot()); // 5
  s.append_async(make_append("", expected_version::any()), res.slot());                  // refused
  s.append_async(make_append("b", expected_version::at(stream_version{1}), 3), res.slot()); // 6-8
  gate.release();
  res.wait_all();
  BOOST_TEST(res[0].value().first() == 2u);
  BOOST_REQUIRE(!res[1]);
  BOOST_TEST(res.details[1] == "a is at version 2, the append expected no stream");
  BOOST_TEST(res[2].value().first() == 4u);
  BOOST_TEST(res[3].value().first() == 5u);
  BOOST_TEST(res[3].value().version() == 3u);
  BOOST_REQUIRE(!res[4]);
  BOOST_TEST((res[4].error() == errc::invalid_argument));
  BOOST_TEST(res[5].value().last() == 8u);
  BOOST_TEST(res[5].value().version() == 4u);
  auto all = s.read_all(log_position{1}, 100).value();
  BOOST_TEST(positions_of(all) == (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(closing_the_store_completes_every_queued_append) {
  auto env = std::make_unique<rocks_env>();
  async_results res;
  for (int i = 0; i < 100; ++i)
    env->store().append_async(make_append("s", expected_version::any()), res.slot());
  env->close(); // drains the queue
  BOOST_TEST(res.done == 100u);
  for (std::size_t i = 0; i < 100; ++i)
    BOOST_TEST(res[i].has_value());
  env->open();
  BOOST_TEST(env->store().head()() == 100u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reading)

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_stream_read_from_inside_a_multi_event_append_starts_at_the_version_asked, Env, all_stores) {
  Env env;
  auto& s = env.store();
  // "a": versions 1-5 in one append, 6 alone, 7-9 in one append; "b" between.
  BOOST_REQUIRE(s.append(make_append("a", expected_version::any(), 5)));
  BOOST_REQUIRE(s.append(make_append("b", expected_version::any(), 2)));
  BOOST_REQUIRE(s.append(make_append("a", expected_version::any())));
  BOOST_REQUIRE(s.append(make_append("a", expected_version::any(), 3)));
  BOOST_TEST(s.stream_head("a").value()() == 9u);
  BOOST_TEST(s.stream_head("b").value()() == 2u);
  for (std::uint64_t from = 1; from <= 10; ++from)
    for (std::size_t max = 1; max <= 10; ++max) {
      auto page = s.read_stream("a", stream_version{from}, max);
      BOOST_REQUIRE(page);
      std::vector<std::uint64_t> versions, positions, want_versions, want_positions;
      for (const auto& e : page.value()) {
        versions.push_back(e.version());
        positions.push_back(e.position());
      }
      for (std::uint64_t v = from; v <= 9 && want_versions.size() < max; ++v) {
        want_versions.push_back(v);
        want_positions.push_back(v <= 5 ? v : v + 2); // b's two events sit at 6 and 7
      }
      BOOST_TEST_CONTEXT("from " << from << " max " << max) {
        BOOST_TEST(versions == want_versions, boost::test_tools::per_element());
        BOOST_TEST(positions == want_positions, boost::test_tools::per_element());
      }
    }
  auto b = s.read_stream("b", stream_version{2}, 10).value();
  BOOST_REQUIRE(b.size() == 1u);
  BOOST_TEST(b[0].position() == 7u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_stream_pages_by_version_and_read_all_by_position, Env,
                              all_stores) {
  Env env;
  auto& s = env.store();
  BOOST_TEST(s.read_all(log_position{0}, 10).value().empty());
  for (int i = 0; i < 10; ++i) {
    BOOST_REQUIRE(s.append(make_append("a", expected_version::any())));
    BOOST_REQUIRE(s.append(make_append("b", expected_version::any())));
  }
  auto page = s.read_stream("a", stream_version{4}, 3).value();
  BOOST_REQUIRE(page.size() == 3u);
  BOOST_TEST(page[0].version() == 4u);
  BOOST_TEST(page[0].position() == 7u);
  BOOST_TEST(page[2].version() == 6u);
  BOOST_TEST(s.read_stream("a", stream_version{0}, 100).value().size() == 10u);
  BOOST_TEST(s.read_stream("a", stream_version{11}, 3).value().empty());
  BOOST_TEST(s.read_stream("nope", stream_version{1}, 3).value().empty());
  BOOST_TEST(s.read_stream("a", stream_version{1}, 0).value().empty());
  // "a" must not see "ab"'s events although its name is a prefix of it.
  BOOST_REQUIRE(s.append(make_append("ab", expected_version::any())));
  BOOST_REQUIRE(s.append(make_append("a\x01", expected_version::any())));
  BOOST_TEST(s.read_stream("a", stream_version{1}, 100).value().size() == 10u);
  auto all = s.read_all(log_position{19}, 100).value();
  BOOST_TEST(positions_of(all) == (std::vector<std::uint64_t>{19, 20, 21, 22}),
             boost::test_tools::per_element());
  BOOST_TEST(all[2].stream == "ab");
  BOOST_TEST(s.read_all(log_position{0}, 2).value().size() == 2u);
  BOOST_TEST(s.read_all(log_position{23}, 2).value().empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_reused_page_reads_the_same_events_as_read_all, Env, all_stores) {
  Env env;
  auto& s = env.store();
  storage::log_page page;
  BOOST_REQUIRE(s.read_page(log_position{1}, 10, page));
  BOOST_TEST(page.events.empty());
  for (int i = 0; i < 7; ++i) {
    auto a = make_append(i % 2 ? "a" : "b", expected_version::any(), 1 + i % 3,
                         "cmd-" + std::to_string(i));
    a.events[0].meta.reason = "reason " + std::to_string(i);
    a.events[0].meta.correlation = "corr-" + std::to_string(i % 2);
    BOOST_REQUIRE(s.append(std::move(a)));
  }
  const auto head = s.head()();
  BOOST_REQUIRE(head == 13u);
  // Every start and page size, through one page reused for every read.
  for (std::uint64_t from = 0; from <= head + 1; ++from)
    for (std::size_t max : {std::size_t{1}, std::size_t{3}, std::size_t{100}}) {
      auto want = s.read_all(log_position{from}, max).value();
      BOOST_REQUIRE(s.read_page(log_position{from}, max, page));
      BOOST_REQUIRE(page.events.size() == want.size());
      for (std::size_t i = 0; i < want.size(); ++i)
        BOOST_TEST((page.events[i].to_envelope() == want[i]),
                   "from " << from << " max " << max << " event " << i);
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_forward_reader_reads_the_same_events_as_read_all, Env, all_stores) {
  Env env;
  auto& s = env.store();
  for (int i = 0; i < 7; ++i) {
    auto a = make_append(i % 2 ? "a" : "b", expected_version::any(), 1 + i % 3,
                         "cmd-" + std::to_string(i));
    a.events[0].meta.correlation = "corr-" + std::to_string(i % 2);
    BOOST_REQUIRE(s.append(std::move(a)));
  }
  const auto head = s.head()();
  BOOST_REQUIRE(head == 13u);
  storage::log_page page;
  // Every range (past the head too) and page size: the pages, in order,
  // are read_all of the range, then empty pages.
  for (std::uint64_t from = 0; from <= head + 1; ++from)
    for (std::uint64_t until = from; until <= head + 2; ++until)
      for (std::size_t max : {std::size_t{1}, std::size_t{4}, std::size_t{100}}) {
        const std::uint64_t first = std::max<std::uint64_t>(from, 1);
        const std::uint64_t last = std::min(until, head);
        auto want = first > last ? std::vector<events::envelope>{}
                                 : s.read_all(log_position{first}, last - first + 1).value();
        // Decoded by the reader, or read undecoded and decoded after.
        for (bool decode : {true, false}) {
          auto reader = s.read_forward(log_position{from}, log_position{until});
          std::vector<events::envelope> got;
          for (;;) {
            BOOST_REQUIRE(reader->next(max, page, decode));
            BOOST_REQUIRE(page.size() <= max);
            if (page.size() == 0) break;
            BOOST_REQUIRE(page.decode());
            for (const auto& e : page.events)
              got.push_back(e.to_envelope());
          }
          BOOST_TEST((got == want), "from " << from << " until " << until << " max " << max
                                            << " decode " << decode);
          BOOST_REQUIRE(reader->next(max, page, decode));
          BOOST_TEST(page.size() == 0u);
          BOOST_TEST(page.events.empty());
        }
      }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_forward_reader_does_not_read_past_the_head_it_was_made_at, Env,
                              all_stores) {
  Env env;
  auto& s = env.store();
  BOOST_REQUIRE(s.append(make_append("a", expected_version::any(), 3)));
  auto reader = s.read_forward(log_position{1}, log_position{100});
  BOOST_REQUIRE(s.append(make_append("a", expected_version::any(), 2)));
  storage::log_page page;
  BOOST_REQUIRE(reader->next(100, page));
  BOOST_TEST(page.events.size() == 3u);
  BOOST_REQUIRE(reader->next(100, page));
  BOOST_TEST(page.events.empty());
}

BOOST_AUTO_TEST_CASE(the_log_and_the_stream_heads_survive_a_reopen) {
  rocks_env env;
  for (int i = 0; i < 5; ++i) {
    BOOST_REQUIRE(env.store().append(make_append("t", expected_version::any(), 2)));
    BOOST_REQUIRE(env.store().append(make_append("u", expected_version::any())));
  }
  auto before = env.store().read_all(log_position{1}, 100).value();
  env.reopen();
  BOOST_TEST(env.store().head()() == 15u);
  BOOST_TEST(env.store().stream_head("t").value()() == 10u);
  BOOST_TEST((env.store().read_all(log_position{1}, 100).value() == before));
  BOOST_REQUIRE(!env.store().append(make_append("t", expected_version::no_stream())));
  auto r = env.store().append(make_append("t", expected_version::exactly(stream_version{10})));
  BOOST_REQUIRE(r);
  BOOST_TEST(r.value().first() == 16u);
  BOOST_TEST(r.value().version() == 11u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(subscriptions)

BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_subscription_catches_up_then_follows_racing_appends_without_gap_or_duplicate, Env,
    all_stores) {
  Env env;
  auto& s = env.store();
  for (int i = 0; i < 300; ++i)
    BOOST_REQUIRE(s.append(make_append("s-" + std::to_string(i % 7), expected_version::any())));
  constexpr std::size_t writers = 4, per_writer = 400;
  constexpr std::size_t total = 300 + writers * (per_writer / 2) * 3; // 1 or 2 events each
  collector c;
  auto sub = s.subscribe(log_position{0}, c.handler());
  // Appends from several threads race with the catch-up.
  // (Boost.Test is not thread-safe: the threads only count failures.)
  std::atomic<int> refused{0};
  std::vector<std::thread> ts;
  for (std::size_t w = 0; w < writers; ++w)
    ts.emplace_back([&, w] {
      for (std::size_t i = 0; i < per_writer; ++i)
        if (!s.append(make_append("w-" + std::to_string(w), expected_version::any(), 1 + i % 2)))
          ++refused;
    });
  for (auto& t : ts)
    t.join();
  BOOST_REQUIRE(refused.load() == 0);
  BOOST_REQUIRE(c.wait_for(total));
  sub->stop();
  auto seen = c.positions();
  BOOST_REQUIRE(seen.size() == total);
  for (std::size_t i = 0; i < seen.size(); ++i)
    BOOST_TEST_REQUIRE(seen[i] == i + 1);
  BOOST_TEST(sub->position()() == total);
  // Each writer's events reached the subscriber in its own version order.
  std::map<std::string, std::uint64_t> versions;
  for (auto& e : c.seen)
    BOOST_TEST_REQUIRE(e.version() == ++versions[e.stream]);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_subscription_from_a_position_starts_after_it, Env, all_stores) {
  Env env;
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  collector c;
  auto sub = env.store().subscribe(log_position{7}, c.handler());
  BOOST_REQUIRE(c.wait_for(3));
  BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  BOOST_REQUIRE(c.wait_for(4));
  sub.reset();
  BOOST_TEST(c.positions() == (std::vector<std::uint64_t>{8, 9, 10, 11}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_handler_error_stops_delivery_at_the_failed_batch, Env, all_stores) {
  Env env;
  std::mutex m;
  std::condition_variable cv;
  int calls = 0;
  auto sub = env.store().subscribe(log_position{0},
                                   [&](std::span<const events::envelope>) -> result<void> {
                                     std::lock_guard lock{m};
                                     ++calls;
                                     cv.notify_all();
                                     return make_error_code(errc::io_error);
                                   });
  BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  {
    std::unique_lock lock{m};
    BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return calls == 1; }));
  }
  BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  sub->stop(); // joins: after this no more calls can happen
  BOOST_TEST(calls == 1);
  BOOST_TEST(sub->position()() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_handler_may_stop_its_own_subscription, Env, all_stores) {
  Env env;
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  std::unique_ptr<subscription> sub;
  std::mutex m;
  std::condition_variable cv;
  bool stopped = false;
  {
    std::lock_guard lock{m}; // the handler cannot run before `sub` is set
    sub = env.store().subscribe(log_position{0},
                                [&](std::span<const events::envelope>) -> result<void> {
                                  std::lock_guard lock{m};
                                  sub->stop();
                                  stopped = true;
                                  cv.notify_all();
                                  return ok();
                                });
  }
  std::unique_lock lock{m};
  BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return stopped; }));
}

BOOST_AUTO_TEST_CASE(a_subscription_may_outlive_its_store_and_does_not_keep_it_open) {
  rocks_env env;
  BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  collector c;
  auto sub = env.store().subscribe(log_position{0}, c.handler());
  BOOST_REQUIRE(c.wait_for(1));
  env.close();
  env.open(); // the directory's lock was released although `sub` is alive
  BOOST_REQUIRE(env.store().append(make_append("x", expected_version::any())));
  sub->stop();
  BOOST_TEST(c.positions() == (std::vector<std::uint64_t>{1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(snapshots_and_checkpoints)

BOOST_AUTO_TEST_CASE_TEMPLATE(the_latest_snapshot_per_stream_is_kept_across_reopen, Env,
                              all_stores) {
  Env env;
  BOOST_TEST(!env.store().load_snapshot("task-1").value().has_value());
  BOOST_REQUIRE(env.store().save_snapshot("task-1", {stream_version{5}, 1, "five"}));
  BOOST_REQUIRE(env.store().save_snapshot("task-1", {stream_version{9}, 258, "nine"}));
  BOOST_REQUIRE(env.store().save_snapshot("task-2", {stream_version{1}, 1, ""}));
  env.reopen();
  auto s = env.store().load_snapshot("task-1").value();
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->version() == 9u);
  BOOST_TEST(s->schema == 258);
  BOOST_TEST(s->data == "nine");
  BOOST_TEST(env.store().load_snapshot("task-2").value()->data.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(named_checkpoints_start_at_zero_and_persist, Env, all_stores) {
  Env env;
  BOOST_TEST(env.store().load_checkpoint("relay").value()() == 0u);
  BOOST_REQUIRE(env.store().save_checkpoint("relay", log_position{42}));
  BOOST_REQUIRE(env.store().save_checkpoint("relay", log_position{43}));
  BOOST_REQUIRE(env.store().save_checkpoint("other", log_position{1}));
  env.reopen();
  BOOST_TEST(env.store().load_checkpoint("relay").value()() == 43u);
  BOOST_TEST(!env.store().save_checkpoint("", log_position{1}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(views)

BOOST_AUTO_TEST_CASE_TEMPLATE(a_batch_writes_rows_and_its_checkpoint_together, Env, all_stores) {
  Env env;
  auto& kv = env.views();
  write_batch b;
  for (int i = 0; i < 25; ++i)
    b.put("devices", "d" + std::to_string(100 + i), "v" + std::to_string(i));
  b.put("other", "d100", "elsewhere");
  b.set_checkpoint("view:devices", log_position{7});
  BOOST_REQUIRE(kv.write(b, write_mode::sync));
  BOOST_TEST(kv.load_checkpoint("view:devices").value()() == 7u);
  if constexpr (Env::durable) // one checkpoint space for the log and the views
    BOOST_TEST(env.store().load_checkpoint("view:devices").value()() == 7u);
  env.reopen();
  BOOST_TEST(env.views().get("devices", "d124").value().value() == "v24");
  BOOST_TEST(!env.views().get("devices", "d99").value().has_value());
  BOOST_TEST(env.views().get("other", "d100").value().value() == "elsewhere");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_scan_pages_through_a_prefix_in_key_order, Env, all_stores) {
  Env env;
  auto& kv = env.views();
  write_batch b;
  for (int i = 0; i < 25; ++i)
    b.put("devices", "d" + std::to_string(100 + i), "v" + std::to_string(i));
  b.put("devices", "e1", "not d");
  b.put("devices2", "d100", "another space");
  b.put("device", "d999", "another space");
  BOOST_REQUIRE(kv.write(b, write_mode::no_sync));

  auto p1 = kv.scan("devices", {.prefix = "d1"}, 10).value();
  BOOST_REQUIRE(p1.rows.size() == 10u);
  BOOST_TEST(p1.more);
  BOOST_TEST(p1.rows.front().first == "d100");
  BOOST_TEST(p1.rows.back().first == "d109");
  auto p2 = kv.scan("devices", {.prefix = "d1", .after = p1.rows.back().first}, 10).value();
  BOOST_TEST(p2.rows.front().first == "d110");
  auto p3 = kv.scan("devices", {.prefix = "d1", .after = p2.rows.back().first}, 10).value();
  BOOST_TEST(p3.rows.size() == 5u);
  BOOST_TEST(!p3.more);
  BOOST_TEST(p3.rows.back().second == "v24");

  auto all = kv.scan("devices", {}, 100).value();
  BOOST_TEST(all.rows.size() == 26u);
  BOOST_TEST(all.rows.back().first == "e1");
  auto range = kv.scan("devices", {.after = "d105", .before = "d108"}, 100).value();
  BOOST_REQUIRE(range.rows.size() == 2u);
  BOOST_TEST(range.rows[0].first == "d106");
  BOOST_TEST(range.rows[1].first == "d107");
  BOOST_TEST(kv.scan("devices", {.prefix = "z"}, 100).value().rows.empty());
  auto exact = kv.scan("devices", {}, 26).value();
  BOOST_TEST(!exact.more);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(erasing_a_space_leaves_other_spaces_and_later_puts, Env, all_stores) {
  Env env;
  auto& kv = env.views();
  write_batch b;
  b.put("a", "k1", "1");
  b.put("a", "k2", "2");
  b.put("ab", "k1", "other");
  BOOST_REQUIRE(kv.write(b, write_mode::sync));
  write_batch wipe;
  wipe.erase_space("a");
  wipe.put("a", "k3", "after the wipe");
  wipe.erase("ab", "missing-key-is-fine");
  BOOST_REQUIRE(kv.write(wipe, write_mode::sync));
  auto rows = kv.scan("a", {}, 10).value().rows;
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].first == "k3");
  BOOST_TEST(kv.get("ab", "k1").value().value() == "other");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_batch_with_an_invalid_operation_writes_nothing, Env, all_stores) {
  Env env;
  auto& kv = env.views();
  write_batch b;
  b.put("a", "k1", "1");
  b.set_checkpoint("cp", log_position{3});
  b.put("a", "", "empty key");
  auto r = kv.write(b, write_mode::sync);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  BOOST_TEST(error_detail() == "an empty key in view space a");
  BOOST_TEST(!kv.get("a", "k1").value().has_value());
  BOOST_TEST(kv.load_checkpoint("cp").value()() == 0u);
  BOOST_TEST(!kv.get("", "k").has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_ingest_overrides_earlier_writes_and_later_writes_override_it, Env,
                              all_stores) {
  Env env;
  auto& kv = env.views();
  write_batch b;
  b.erase_space("fresh");
  b.put("fresh", "k1", "old");
  b.put("fresh", "k3", "old");
  b.put("fresh2", "k1", "other space");
  BOOST_REQUIRE(kv.write(b, write_mode::no_sync));
  std::vector<kv_store::ingest_row> rows = {
      {"k1", "new"}, {"k2", ""}, {"k3", std::nullopt}, {"k4", "four"}};
  BOOST_REQUIRE(kv.ingest("fresh", rows));
  BOOST_TEST(kv.get("fresh", "k1").value().value() == "new");
  BOOST_TEST(kv.get("fresh", "k2").value().value().empty());
  BOOST_TEST(!kv.get("fresh", "k3").value().has_value());
  BOOST_TEST(kv.get("fresh2", "k1").value().value() == "other space");
  write_batch later;
  later.put("fresh", "k4", "later");
  BOOST_REQUIRE(kv.write(later, write_mode::no_sync));
  env.reopen();
  auto& kv2 = env.views();
  auto all = kv2.scan("fresh", {}, 10).value().rows;
  BOOST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all[0].second == "new");
  BOOST_TEST(all[2].second == "later");
  write_batch wipe;
  wipe.erase_space("fresh");
  BOOST_REQUIRE(kv2.write(wipe, write_mode::sync));
  BOOST_TEST(kv2.scan("fresh", {}, 10).value().rows.empty());
  std::vector<kv_store::ingest_row> unsorted = {{"b", "1"}, {"a", "2"}};
  auto r = kv2.ingest("fresh", unsorted);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  BOOST_TEST(kv2.scan("fresh", {}, 10).value().rows.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rows_streamed_into_an_ingest_appear_together_when_it_finishes, Env,
                              all_stores) {
  Env env;
  auto& kv = env.views();
  auto w = kv.start_ingest("fresh").value();
  for (int i = 0; i < 5000; ++i)
    BOOST_REQUIRE(w->put(fmt::format("k{:05}", i), std::string(i % 50, 'v')));
  BOOST_REQUIRE(w->erase("k99999"));
  BOOST_TEST(kv.scan("fresh", {}, 10).value().rows.empty()); // nothing before finish
  BOOST_REQUIRE(w->finish());
  auto page = kv.scan("fresh", {}, 10000).value();
  BOOST_REQUIRE(page.rows.size() == 5000u);
  BOOST_TEST(page.rows[4999].first == "k04999");
  BOOST_TEST(page.rows[4999].second == std::string(4999 % 50, 'v'));
  w.reset(); // it holds the store open
  env.reopen();
  BOOST_TEST(env.views().scan("fresh", {}, 10000).value().rows.size() == 5000u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_ingest_given_a_key_out_of_order_refuses_it_and_ingests_nothing,
                              Env, all_stores) {
  Env env;
  auto& kv = env.views();
  auto w = kv.start_ingest("fresh").value();
  BOOST_REQUIRE(w->put("b", "1"));
  auto r = w->put("a", "2");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  BOOST_TEST(error_detail() ==
             "ingest into view space fresh: keys not sorted or not unique (at a)");
  BOOST_TEST(!w->put("c", "3")); // the writer stays refused
  BOOST_TEST(!w->finish());
  auto dup = kv.start_ingest("fresh").value();
  BOOST_REQUIRE(dup->put("x", "1"));
  BOOST_TEST(!dup->put("x", "2"));
  BOOST_TEST(!kv.start_ingest("fresh").value()->put("", "empty key"));
  auto prefix = kv.start_ingest("fresh").value();
  BOOST_REQUIRE(prefix->put("k1", "1"));
  BOOST_REQUIRE(prefix->put("k1\xff", "2")); // extends the previous key: above it
  BOOST_TEST(!prefix->put("k1", "3"));       // the previous key's prefix: below it
  {
    auto dropped = kv.start_ingest("fresh").value();
    BOOST_REQUIRE(dropped->put("d", "never finished"));
  }
  BOOST_TEST(kv.scan("fresh", {}, 10).value().rows.empty());
  BOOST_TEST(!kv.start_ingest(std::string_view{"bad\0space", 9}));
}

namespace {

/// The views family's table files after a flush: (level, smallest, largest).
std::vector<std::tuple<int, std::string, std::string>> view_files(const options& opts,
                                                                  bool compact) {
  auto raw = internal::open_rocks(opts);
  BOOST_REQUIRE(raw);
  auto& db = *raw.value();
  auto* cf = db[internal::cf_views];
  BOOST_REQUIRE(db.db->Flush(rocksdb::FlushOptions{}, cf).ok());
  if (compact) {
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    BOOST_REQUIRE(db.db->CompactRange(co, cf, nullptr, nullptr).ok());
  }
  rocksdb::ColumnFamilyMetaData meta;
  db.db->GetColumnFamilyMetaData(cf, &meta);
  std::vector<std::tuple<int, std::string, std::string>> out;
  for (const auto& level : meta.levels)
    for (const auto& f : level.files)
      out.emplace_back(level.level, f.smallestkey, f.largestkey);
  return out;
}

std::string_view space_of(std::string_view key) {
  return key.substr(0, key.find('\0'));
}

} // namespace

BOOST_AUTO_TEST_CASE(a_rebuilt_space_is_ingested_below_level_0_once_older_spaces_were_compacted) {
  rocks_env env;
  write_batch b;
  for (int i = 0; i < 100; ++i) {
    b.put("fleet@1", "d" + std::to_string(i), "row");
    b.put("tasks@1", "t" + std::to_string(i), "row");
  }
  BOOST_REQUIRE(env.views().write(b, write_mode::sync));
  env.close();
  // A compaction never writes two spaces into one file.
  auto compacted = view_files(env.opts, true);
  BOOST_REQUIRE(!compacted.empty());
  for (const auto& [level, smallest, largest] : compacted)
    BOOST_TEST(space_of(smallest) == space_of(largest));
  env.open();
  // "fleet@2" sorts between the two old spaces: no file spans it.
  std::vector<kv_store::ingest_row> rows = {{"d1", "new"}, {"d2", "new"}};
  BOOST_REQUIRE(env.views().ingest("fleet@2", rows));
  BOOST_TEST(env.views().get("fleet@2", "d2").value().value() == "new");
  env.close();
  bool found = false;
  for (const auto& [level, smallest, largest] : view_files(env.opts, false))
    if (space_of(smallest) == "fleet@2") {
      found = true;
      BOOST_TEST(level > 0, "the ingested file is at level " << level);
    }
  BOOST_TEST(found);
  env.open();
}

BOOST_AUTO_TEST_CASE(an_index_ingest_scans_like_rows_but_its_file_has_no_bloom_filter) {
  rocks_env env;
  for (auto kind : {ingest_kind::rows, ingest_kind::index}) {
    const std::string space = kind == ingest_kind::index ? "fleet@3" : "fleet@2";
    auto w = env.views().start_ingest(space, kind).value();
    for (int i = 0; i < 3000; ++i)
      BOOST_REQUIRE(w->put(fmt::format("p{:05}", i), {}));
    BOOST_REQUIRE(w->finish());
    auto page = env.views().scan(space, {.prefix = "p"}, 5000).value();
    BOOST_REQUIRE(page.rows.size() == 3000u);
    BOOST_TEST(page.rows[1234].first == fmt::format("p{:05}", 1234));
    BOOST_TEST(env.views().get(space, fmt::format("p{:05}", 2999)).value().has_value());
    BOOST_TEST(!env.views().get(space, "px").value().has_value());
  }
  env.close();
  auto raw = internal::open_rocks(env.opts);
  BOOST_REQUIRE(raw);
  auto& db = *raw.value();
  rocksdb::TablePropertiesCollection tables;
  BOOST_REQUIRE(db.db->GetPropertiesOfAllTables(db[internal::cf_views], &tables).ok());
  std::size_t with_filter = 0, without = 0; // each ingest wrote one file
  for (const auto& [file, props] : tables)
    (props->filter_policy_name.empty() ? without : with_filter) += 1;
  BOOST_TEST(with_filter == 1u); // the rows
  BOOST_TEST(without == 1u);     // the index
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(many_writers_on_many_streams_leave_dense_positions_and_versions) {
  rocks_env env;
  constexpr int threads = 16, per_thread = 150, streams = 40;
  std::atomic<int> refused{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = env.store().append(
            make_append("s-" + std::to_string((t * 7 + i) % streams), expected_version::any(),
                        1 + i % 3, "c-" + std::to_string(t) + "-" + std::to_string(i)));
        if (!r || r.value().duplicate) ++refused;
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(refused.load() == 0);
  std::size_t expected_events = 0;
  for (int i = 0; i < per_thread; ++i)
    expected_events += static_cast<std::size_t>(1 + i % 3);
  expected_events *= threads;
  BOOST_TEST(env.store().head()() == expected_events);
  env.reopen();
  auto all = env.store().read_all(log_position{1}, 1'000'000).value();
  BOOST_REQUIRE(all.size() == expected_events);
  std::map<std::string, std::uint64_t> versions;
  std::map<std::string, int> per_command;
  for (std::size_t i = 0; i < all.size(); ++i) {
    BOOST_TEST_REQUIRE(all[i].position() == i + 1);
    BOOST_TEST_REQUIRE(all[i].version() == ++versions[all[i].stream]);
    ++per_command[all[i].meta.command];
  }
  BOOST_TEST(per_command.size() == static_cast<std::size_t>(threads * per_thread));
  for (auto& [stream, v] : versions)
    BOOST_TEST(env.store().stream_head(stream).value()() == v);
}

BOOST_AUTO_TEST_CASE(single_writers_per_stream_with_exact_versions_are_never_refused) {
  rocks_env env;
  constexpr int threads = 8, per_thread = 200;
  std::atomic<int> refused{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::uint64_t v = 0;
      for (int i = 0; i < per_thread; ++i) {
        auto r = env.store().append(
            make_append("owned-" + std::to_string(t), expected_version::at(stream_version{v})));
        if (!r)
          ++refused;
        else
          v = r.value().version();
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(refused.load() == 0);
  BOOST_TEST(env.store().head()() == static_cast<std::uint64_t>(threads * per_thread));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(opening)

BOOST_AUTO_TEST_CASE(invalid_options_are_refused_naming_the_field) {
  options o;
  auto r = open_database(o);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_argument));
  BOOST_TEST(error_detail() == "invalid storage option: path is empty; the store needs a data "
                               "directory");
  o.path = otaledger::testing::temp_dir("opts");
  o.max_batch_bytes = 10;
  auto r2 = open_event_store(o);
  BOOST_REQUIRE(!r2);
  BOOST_TEST(error_detail() ==
             "invalid storage option: max_batch_bytes is 10; it must be at least 4096");
  o.max_batch_bytes = 1 << 20;
  o.max_events_per_append = 0;
  BOOST_TEST(!validate(o));
  BOOST_TEST(!std::filesystem::exists(o.path)); // nothing was created
}

BOOST_AUTO_TEST_CASE(a_missing_store_is_not_created_unless_asked) {
  options o;
  o.path = otaledger::testing::temp_dir("missing");
  o.create_if_missing = false;
  auto r = open_database(o);
  BOOST_REQUIRE(!r);
  BOOST_TEST(error_detail().find("opening the store at " + o.path) == 0u);
  std::filesystem::remove_all(o.path);
}

BOOST_AUTO_TEST_CASE(a_directory_is_open_in_one_place_at_a_time) {
  rocks_env env;
  auto second = open_event_store(env.opts);
  BOOST_REQUIRE(!second);
  BOOST_TEST((second.error() == errc::io_error));
}

BOOST_AUTO_TEST_SUITE_END()
