// Projections: the views' folds, paging, rebuild and digests, as-of, and the
// property that live views equal rebuilt ones for any valid history.
#define BOOST_TEST_MODULE projections
#include <boost/test/unit_test.hpp>

#include "base/errc.hpp"
#include "projections/projector.hpp"
#include "projections/queries.hpp"
#include "projections/replay.hpp"
#include "projections/rows.hpp"
#include "projections/views.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/projections/harness.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>

using namespace otaledger;
using namespace otaledger::projections;
using otaledger::testing::world;

namespace {

const std::string scenarios = std::string(OTALEDGER_SOURCE_DIR) + "/tests/scenarios/";

std::vector<std::string> all_names() {
  std::vector<std::string> v;
  for (auto n : view_names())
    v.emplace_back(n);
  return v;
}

struct fixture {
  std::unique_ptr<storage::event_store> log = storage::make_memory_event_store();
  std::unique_ptr<storage::kv_store> kv = storage::make_memory_kv_store();
  world w{*log};

  /// Fleet, catalog and task 17 (D1, D2, D3 targeted), started, executions run.
  void rollout() {
    w.load(scenarios + "fleet.inc");
    w.load(scenarios + "task17.inc");
    BOOST_REQUIRE(w.run("start_task", {{"task", "17"}}, "start-17"));
    const events::json terms = {{"package", "KF"}, {"target_version", "1.1"}};
    for (auto d : {"D1", "D2", "D3"})
      BOOST_REQUIRE(
          w.run("assign_execution", {{"device", d}, {"task", "17"}, {"terms", terms}}, "start-17"));
    for (auto d : {"D1", "D2"})
      BOOST_REQUIRE(w.run("start_execution", {{"device", d}, {"task", "17"}}, "start-17"));
    BOOST_REQUIRE(
        w.run("report_progress",
              {{"device", "D1"}, {"task", "17"}, {"phase", "downloading"}, {"percent", 50u}}));
    BOOST_REQUIRE(
        w.run("report_progress", {{"device", "D1"}, {"task", "17"}, {"phase", "installing"}}));
    BOOST_REQUIRE(
        w.run("report_result",
              {{"device", "D1"}, {"task", "17"}, {"succeeded", true}, {"version", "1.1"}}));
    BOOST_REQUIRE(w.run("report_result", {{"device", "D2"},
                                          {"task", "17"},
                                          {"succeeded", false},
                                          {"code", "checksum_mismatch"},
                                          {"text", "md5 mismatch"}}));
  }

  void project() {
    projector p{*log, *kv, make_all_views()};
    BOOST_REQUIRE(p.open());
    auto n = p.catch_up();
    BOOST_REQUIRE_MESSAGE(n, error_detail());
    BOOST_TEST(p.position() == log->head());
  }

  std::map<std::string, view_digest> live_digests() {
    std::map<std::string, view_digest> out;
    for (auto n : view_names())
      out[std::string{n}] = digest_space(*kv, live_space(*kv, n).value()).value();
    return out;
  }
};

std::string storage_be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return s;
}

std::set<std::string> devices_of(const page<device_status_item>& p) {
  std::set<std::string> s;
  for (auto& i : p.items)
    s.insert(i.execution.device);
  return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(view_folds)

BOOST_FIXTURE_TEST_CASE(task_list_shows_state_and_success_rate_as_s_over_n, fixture) {
  rollout();
  project();
  queries q{*kv};
  auto all = q.tasks({}, {});
  BOOST_REQUIRE(all);
  BOOST_REQUIRE_EQUAL(all.value().items.size(), 1u);
  const auto& t = all.value().items[0];
  BOOST_TEST(t.task.name == "spring rollout");
  BOOST_TEST(t.task.status == "upgrading");
  BOOST_TEST(t.task.deadline.has_value());
  BOOST_TEST(t.task.started_at.has_value());
  BOOST_TEST(to_json(t)["success_rate"] == "1/3");
  BOOST_TEST(q.tasks({"upgrading", ""}, {}).value().items.size() == 1u);
  BOOST_TEST(q.tasks({"paused", ""}, {}).value().items.empty());
  BOOST_TEST(q.tasks({"", "SPRING"}, {}).value().items.size() == 1u);
  BOOST_TEST(q.tasks({"", "autumn"}, {}).value().items.empty());
  auto bad = q.tasks({"sleeping", ""}, {});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error() == make_error_code(base::errc::invalid_argument));
  BOOST_TEST(error_detail().find("sleeping") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(pausing_moves_the_task_between_state_filters, fixture) {
  rollout();
  project();
  BOOST_REQUIRE(w.run("pause_task", {{"task", "17"}}, "pause-1"));
  project();
  queries q{*kv};
  BOOST_TEST(q.tasks({"upgrading", ""}, {}).value().items.empty());
  BOOST_TEST(q.tasks({"paused", ""}, {}).value().items.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(task_progress_counts_devices_per_phase_and_per_wave, fixture) {
  rollout();
  project();
  auto p = queries{*kv}.progress("17");
  BOOST_REQUIRE(p && p.value());
  const auto& pr = *p.value();
  BOOST_TEST(pr.counters.total == 3u);
  BOOST_TEST(pr.succeeded == 1u);
  BOOST_TEST(pr.failed == 1u);
  BOOST_TEST(pr.not_upgraded == 1u);
  BOOST_TEST(pr.in_progress == 0u);
  BOOST_REQUIRE_EQUAL(pr.waves.size(), 1u);
  BOOST_TEST(pr.waves[0].first == 0u);
  BOOST_TEST(
      pr.waves[0].second.in_phase[static_cast<std::size_t>(events::execution_phase::succeeded)] ==
      1u);
  BOOST_TEST(!queries{*kv}.progress("nope").value().has_value());
}

BOOST_FIXTURE_TEST_CASE(device_status_filters_by_phase_and_searches_by_id_or_mac, fixture) {
  rollout();
  project();
  queries q{*kv};
  auto all = q.device_status("17", {}, {});
  BOOST_REQUIRE(all);
  BOOST_TEST((devices_of(all.value()) == std::set<std::string>{"D1", "D2", "D3"}));
  auto ok = q.device_status("17", {events::execution_phase::succeeded, ""}, {});
  BOOST_REQUIRE(ok);
  BOOST_REQUIRE_EQUAL(ok.value().items.size(), 1u);
  BOOST_TEST(ok.value().items[0].execution.device == "D1");
  BOOST_TEST(ok.value().items[0].device.name == "meter-1");
  BOOST_TEST(ok.value().items[0].execution.version == "1.1");
  auto failed = q.device_status("17", {events::execution_phase::failed, ""}, {}).value();
  BOOST_REQUIRE_EQUAL(failed.items.size(), 1u);
  BOOST_TEST(failed.items[0].execution.note == "md5 mismatch");
  auto by_mac = q.device_status("17", {std::nullopt, "AA:BB:CC:00:00:02"}, {}).value();
  BOOST_TEST((devices_of(by_mac) == std::set<std::string>{"D2"}));
  auto by_id = q.device_status("17", {std::nullopt, "D3"}, {}).value();
  BOOST_TEST((devices_of(by_id) == std::set<std::string>{"D3"}));
  BOOST_TEST(q.device_status("18", {}, {}).value().items.empty());
}

BOOST_FIXTURE_TEST_CASE(device_status_shows_each_devices_current_fleet_state_and_mac, fixture) {
  rollout();
  w.given(events::device_came_online{"D3"}, "d3");
  events::device_edited e;
  e.device = "D3";
  e.name = "meter-3b";
  e.mac = "aa:bb:cc:00:00:3b";
  w.given(e, "d3");
  project();
  queries q{*kv};
  auto by_id = q.device_status("17", {std::nullopt, "D3"}, {}).value();
  BOOST_REQUIRE_EQUAL(by_id.items.size(), 1u);
  BOOST_TEST(by_id.items[0].device.online);
  BOOST_TEST(by_id.items[0].device.name == "meter-3b");
  BOOST_TEST(by_id.items[0].device.mac == "aa:bb:cc:00:00:3b");
  // Found by its new MAC only; a device in no execution of the task is not.
  BOOST_TEST((devices_of(q.device_status("17", {std::nullopt, "aa:bb:cc:00:00:3b"}, {}).value()) ==
              std::set<std::string>{"D3"}));
  BOOST_TEST(q.device_status("17", {std::nullopt, "aa:bb:cc:00:00:03"}, {}).value().items.empty());
  BOOST_TEST(q.device_status("18", {std::nullopt, "aa:bb:cc:00:00:3b"}, {}).value().items.empty());
}

BOOST_FIXTURE_TEST_CASE(fleet_catalog_and_groups_reflect_the_log, fixture) {
  rollout();
  BOOST_REQUIRE(
      w.run("report_device_state", {{"device", "D4"}, {"online", true}, {"battery", 33u}}));
  project();
  queries q{*kv};
  auto s = q.fleet_summary("P1").value();
  BOOST_TEST(s.counts.devices == 4u);
  BOOST_TEST(s.counts.online == 4u);
  // D1 now runs 1.1 (it reported success); D2 and D4 still run 1.0, D3 0.9.
  std::map<std::string, std::uint64_t> by_version;
  for (auto& v : s.versions)
    by_version[v.version] = v.devices;
  BOOST_TEST(by_version["1.0"] == 2u);
  BOOST_TEST(by_version["1.1"] == 1u);
  BOOST_TEST(by_version["0.9"] == 1u);
  auto d4 = q.device("D4").value();
  BOOST_REQUIRE(d4);
  BOOST_TEST(d4->online);
  BOOST_TEST((d4->battery == std::optional<std::uint32_t>{33}));
  BOOST_TEST(q.fleet({"P1", false}, {}).value().items.empty());
  BOOST_TEST(q.fleet({"P1", true}, {}).value().items.size() == 4u);

  auto fw = q.firmware({"CMCC", "M5330", ""}, {}).value();
  BOOST_REQUIRE_EQUAL(fw.items.size(), 3u);
  for (auto& f : fw.items) {
    BOOST_TEST(f.image.has_value());
    if (f.version == "1.1") BOOST_TEST(f.package_count == 2u);
    if (f.version == "1.2") BOOST_TEST(f.verification == "unverified");
  }
  BOOST_TEST(q.firmware({"CMCC", "M5330", "1.2"}, {}).value().items.size() == 1u);
  BOOST_TEST(q.package("KD").value()->initial_version == "1.0");

  auto g = q.groups("EA", {}).value();
  BOOST_REQUIRE_EQUAL(g.items.size(), 1u);
  BOOST_TEST(g.items[0].members == 2u);
  auto m = q.group_members("G1", {}).value();
  BOOST_REQUIRE_EQUAL(m.items.size(), 2u);
  BOOST_TEST(m.items[0].device == "D1");
  BOOST_TEST(m.items[0].info->name == "meter-1");
}

BOOST_FIXTURE_TEST_CASE(audit_links_a_command_to_every_event_it_caused, fixture) {
  rollout();
  project();
  queries q{*kv};
  auto trail = q.audit_correlation(*log, "start-17", {}).value();
  // task.started + 3 assignments + 2 notifications.
  BOOST_REQUIRE_EQUAL(trail.items.size(), 6u);
  BOOST_TEST(trail.items[0].type == "task.started");
  BOOST_TEST(trail.items[0].meta.principal == "operator:test");
  auto stream = queries::audit_stream(*log, "task-17", {"", 1}).value();
  BOOST_REQUIRE_EQUAL(stream.items.size(), 1u);
  BOOST_TEST(stream.items[0].type == "task.created");
  auto rest = queries::audit_stream(*log, "task-17", {stream.next, 10}).value();
  BOOST_REQUIRE_EQUAL(rest.items.size(), 1u);
  BOOST_TEST(rest.items[0].type == "task.started");
  BOOST_TEST(to_json(rest.items[0]).value()["data"]["task"] == "17");
}

BOOST_AUTO_TEST_CASE(typed_rows_edited_in_the_overlay_are_stored_as_their_binary_encoding) {
  auto kv = storage::make_memory_kv_store();
  view_txn tx{*kv, "v@1"};
  const std::string key = make_key("t", "T1", "D1");
  execution_row r;
  r.device = "D1";
  r.task = "T1";
  tx.put_row(key, r);
  execution_row* e = tx.edit_row<execution_row>(key);
  BOOST_REQUIRE(e);
  e->phase = events::execution_phase::installing;
  e->note = "a note longer than the small-string buffer";
  r.phase = e->phase;
  r.note = e->note;
  // A raw read sees the edit, encoded exactly as encode_binary encodes it.
  const std::string* raw = tx.get(key);
  BOOST_REQUIRE(raw);
  BOOST_TEST(*raw == events::encode_binary(r));
  BOOST_TEST(!tx.edit_row<execution_row>(make_key("t", "T1", "D2"))); // absent: nothing to edit
  storage::write_batch b;
  for (auto [key, entry] : tx.dirty_sorted())
    b.put(tx.space(), *key, *entry->value);
  BOOST_REQUIRE(kv->write(b, storage::write_mode::sync));
  auto stored = kv->get("v@1", key).value();
  BOOST_REQUIRE(stored);
  BOOST_TEST(*stored == events::encode_binary(r));
  // A new overlay decodes the stored row again.
  view_txn again{*kv, "v@1"};
  auto back = again.get_row<execution_row>(key);
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == r));
}

BOOST_AUTO_TEST_CASE(keys_sharing_long_prefixes_are_written_in_bytewise_order) {
  auto kv = storage::make_memory_kv_store();
  // Keys that agree on their first 24+ bytes and differ after, a key that is
  // a prefix of another, embedded NULs and high bytes, appended and put keys;
  // with and without keys that share no prefix with the rest.
  const std::string stem = std::string("c\0", 2) + std::string(30, 'x') + '\0';
  std::mt19937_64 rng{7};
  auto check = [&](std::string space, bool outliers) {
    view_txn tx{*kv, space, /*fresh=*/true};
    std::vector<std::string> keys;
    for (int i = 0; i < 300; ++i) {
      std::string k = stem;
      const int len = static_cast<int>(rng() % 12);
      for (int j = 0; j < len; ++j)
        k.push_back(static_cast<char>(rng() % 4 == 0 ? 0 : rng() % 256));
      keys.push_back(k);
    }
    keys.push_back(stem);
    if (outliers) {
      keys.push_back("a");
      keys.push_back(std::string(40, 'z'));
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<std::string> shuffled = keys;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (std::size_t i = 0; i < shuffled.size(); ++i) {
      if (i % 2)
        tx.append(shuffled[i]);
      else
        tx.put(shuffled[i], "v");
    }
    BOOST_REQUIRE(tx.spill());
    auto page = kv->scan(space, {}, 1000).value();
    BOOST_REQUIRE_EQUAL(page.rows.size(), keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
      BOOST_TEST(page.rows[i].first == keys[i]);
    // After the spill, a key it wrote is read back from the store.
    BOOST_TEST(tx.get(shuffled[0]) != nullptr);
  };
  check("v@1", true);
  check("v@2", false);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(paging)

BOOST_FIXTURE_TEST_CASE(pages_cover_every_row_once_in_key_order, fixture) {
  w.given("product.created", R"({"product":"P1","name":"Meter"})");
  events::json ids = events::json::array();
  for (int i = 0; i < 230; ++i) {
    const auto id = fmt::format("dev{:04}", i);
    w.given("device.registered",
            fmt::format(R"({{"device":"{}","product":"P1","name":"n{}","fota_version":"1.0"}})", id,
                        i));
    ids.push_back(id);
  }
  w.given("group.created", R"({"group":"G1","name":"all"})");
  w.given(events::group_devices_added{"G1", ids.get<std::vector<std::string>>()});
  project();
  queries q{*kv};
  std::vector<std::string> seen;
  page_request req{"", 50};
  int pages = 0;
  for (;;) {
    auto p = q.group_members("G1", req);
    BOOST_REQUIRE(p);
    ++pages;
    for (auto& m : p.value().items)
      seen.push_back(m.device);
    if (p.value().next.empty()) break;
    req.cursor = p.value().next;
  }
  BOOST_TEST(pages == 5);
  BOOST_REQUIRE_EQUAL(seen.size(), 230u);
  BOOST_TEST(std::is_sorted(seen.begin(), seen.end()));
  BOOST_TEST(std::set<std::string>(seen.begin(), seen.end()).size() == 230u);
  auto fleet = q.fleet({"P1", std::nullopt}, {"", 100}).value();
  BOOST_TEST(fleet.items.size() == 100u);
  BOOST_TEST(!fleet.next.empty());
}

BOOST_FIXTURE_TEST_CASE(a_bad_cursor_or_limit_is_refused_with_what_was_wrong, fixture) {
  rollout();
  project();
  queries q{*kv};
  auto bad = q.device_status("17", {}, {"zz", 10});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error() == make_error_code(base::errc::invalid_argument));
  BOOST_TEST(error_detail().find("cursor 'zz'") != std::string::npos);
  auto other = q.fleet({}, {"00", 10}); // a cursor from another list
  BOOST_REQUIRE(!other);
  auto zero = q.device_status("17", {}, {"", 0});
  BOOST_REQUIRE(!zero);
  BOOST_TEST(error_detail().find("limit 0") != std::string::npos);
  auto bad_version = queries::audit_stream(*log, "task-17", {"x1", 10});
  BOOST_REQUIRE(!bad_version);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rebuild_and_digest)

BOOST_FIXTURE_TEST_CASE(a_view_folded_in_random_batches_equals_its_rebuild, fixture) {
  rollout();
  // Live: pages of random sizes, committed one by one.
  projector live{*log, *kv, make_all_views()};
  BOOST_REQUIRE(live.open());
  std::mt19937 rng{7};
  for (std::uint64_t from = 1; from <= log->head()();) {
    auto page = log->read_all(log_position{from}, 1 + rng() % 7).value();
    BOOST_REQUIRE(live.apply(page));
    from = page.back().position() + 1;
  }
  const auto before = live_digests();
  rebuild_options o;
  o.verify = true;
  auto r = rebuild(*log, *kv, all_names(), o);
  BOOST_REQUIRE_MESSAGE(r, error_detail());
  for (auto& rep : r.value()) {
    BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference);
    BOOST_TEST(rep.swapped);
    BOOST_TEST(rep.position == log->head());
    BOOST_TEST(rep.rebuilt.rows > 0u);
  }
  // The rebuilt generation is live now and holds the same rows.
  BOOST_TEST(live_generation(*kv, "executions").value() == 2u);
  BOOST_TEST((live_digests() == before));
  BOOST_TEST(queries{*kv}.progress("17").value()->succeeded == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_rebuild_that_spills_every_page_equals_the_live_view, fixture) {
  rollout();
  project();
  const auto before = live_digests();
  // A tiny write-back cache: the fresh fold writes its rows out (ingest) after
  // every 3-event page, so later pages read rows back from the store and
  // erase rows written out earlier.
  rebuild_options o;
  o.verify = true;
  o.projector.read_page = 3;
  o.projector.fresh_cache_bytes = 1;
  o.projector.fresh_columnar = false; // every view through the write-back cache
  auto r = rebuild(*log, *kv, all_names(), o);
  BOOST_REQUIRE_MESSAGE(r, error_detail());
  for (auto& rep : r.value()) {
    BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference);
    BOOST_TEST(rep.swapped);
  }
  BOOST_TEST((live_digests() == before));
  // And with one write-out at the end.
  o.projector.read_page = 4096;
  o.projector.fresh_cache_bytes = std::size_t{1} << 30;
  auto again = rebuild(*log, *kv, all_names(), o);
  BOOST_REQUIRE_MESSAGE(again, error_detail());
  for (auto& rep : again.value())
    BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference);
  BOOST_TEST((live_digests() == before));
  // And with the columnar executions view folded on the helper thread while
  // this one spills the other views after every 3-event page, with the
  // reader as far ahead as it may go and then only one page ahead (each page
  // reused as soon as both groups are done with it).
  o.projector.read_page = 3;
  o.projector.fresh_cache_bytes = 1;
  o.projector.fresh_columnar = true;
  for (std::size_t ahead : {std::size_t{32}, std::size_t{1}}) {
    o.projector.read_ahead_pages = ahead;
    auto columnar = rebuild(*log, *kv, all_names(), o);
    BOOST_REQUIRE_MESSAGE(columnar, error_detail());
    for (auto& rep : columnar.value())
      BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference << " with " << ahead
                                     << " pages read ahead");
    BOOST_TEST((live_digests() == before));
  }
  o.projector.fresh_columnar = false;
  // And folded on one thread (fresh_threads off), spilling every page.
  o.projector.read_page = 3;
  o.projector.fresh_cache_bytes = 1;
  o.projector.fresh_threads = false;
  auto serial = rebuild(*log, *kv, all_names(), o);
  BOOST_REQUIRE_MESSAGE(serial, error_detail());
  for (auto& rep : serial.value())
    BOOST_TEST(rep.equal, rep.view << " differs at " << rep.first_difference);
  BOOST_TEST((live_digests() == before));
}

BOOST_FIXTURE_TEST_CASE(
    a_columnar_rebuild_equals_the_live_views_after_mac_edits_and_a_correlation_over_many_blocks,
    fixture) {
  rollout();
  // MACs edited: D1 to a new one, D2 to none, D3 away and back, D4 twice.
  auto edit = [&](const char* d, const char* mac) {
    events::device_edited e;
    e.device = d;
    e.name = std::string{"meter-"} + d;
    e.mac = mac;
    w.given(e, "edits");
  };
  edit("D1", "aa:bb:cc:00:00:99");
  edit("D2", "");
  edit("D3", "aa:bb:cc:00:00:33");
  edit("D3", "aa:bb:cc:00:00:03");
  edit("D4", "aa:bb:cc:00:00:44");
  edit("D4", "aa:bb:cc:00:00:45");
  // One correlation over three audit blocks (4096 positions each).
  const std::uint64_t first = log->head()() + 1;
  const std::uint64_t n = 2 * audit_block + 10;
  for (std::uint64_t i = 0; i < n; ++i)
    w.given(events::device_conditions_changed{i % 2 ? "D1" : "D4",
                                              static_cast<std::uint32_t>(i % 31),
                                              static_cast<std::uint32_t>(i % 101)},
            "long");
  // Live: pages of random sizes, committed one by one.
  projector live{*log, *kv, make_all_views()};
  BOOST_REQUIRE(live.open());
  std::mt19937 rng{11};
  for (std::uint64_t from = 1; from <= log->head()();) {
    auto page = log->read_all(log_position{from}, 1 + rng() % 64).value();
    BOOST_REQUIRE(live.apply(page));
    from = page.back().position() + 1;
  }
  const auto before = live_digests();
  for (bool columnar : {true, false}) {
    rebuild_options o;
    o.verify = true;
    o.projector.fresh_columnar = columnar;
    auto r = rebuild(*log, *kv, all_names(), o);
    BOOST_REQUIRE_MESSAGE(r, error_detail());
    for (auto& rep : r.value())
      BOOST_TEST(rep.equal,
                 rep.view << " (columnar " << columnar << ") differs at " << rep.first_difference);
    BOOST_TEST((live_digests() == before));
  }
  queries q{*kv};
  BOOST_TEST(
      q.device_status("17", {std::nullopt, "aa:bb:cc:00:00:99"}, {"", 10}).value().items.size() ==
      1u);
  BOOST_TEST(
      q.device_status("17", {std::nullopt, "aa:bb:cc:00:00:02"}, {"", 10}).value().items.empty());
  // The long correlation pages through its blocks: every position once, in order.
  std::vector<std::uint64_t> seen;
  std::string cursor;
  do {
    auto pg = q.audit_correlation(*log, "long", {cursor, 1000});
    BOOST_REQUIRE_MESSAGE(pg, error_detail());
    for (auto& e : pg.value().items) {
      BOOST_TEST(e.meta.correlation == "long");
      seen.push_back(e.position());
    }
    cursor = pg.value().next;
  } while (!cursor.empty());
  BOOST_REQUIRE_EQUAL(seen.size(), n);
  for (std::uint64_t i = 0; i < n; ++i)
    BOOST_TEST(seen[i] == first + i);
}

BOOST_FIXTURE_TEST_CASE(an_audit_row_of_the_old_one_key_per_event_layout_is_refused_with_a_hint,
                        fixture) {
  rollout();
  project();
  // A row as view format 1 wrote it: the event's own position, no value.
  storage::write_batch b;
  b.put(live_space(*kv, "audit").value(), make_key("c", "old", "") + storage_be64(7), "");
  BOOST_REQUIRE(kv->write(b, storage::write_mode::sync));
  auto r = queries{*kv}.audit_correlation(*log, "old", {});
  BOOST_REQUIRE(!r);
  BOOST_TEST(error_detail().find("rebuild audit") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(views_written_in_an_older_format_are_refolded_from_the_log, fixture) {
  rollout();
  // A data directory of the previous release: views folded, no format recorded.
  project();
  auto before = live_digests();
  auto generation = live_generation(*kv, "audit").value();
  BOOST_TEST(stored_view_format(*kv).value() == 1u);
  auto reset = reset_views_for_format(*kv);
  BOOST_REQUIRE(reset);
  BOOST_TEST(reset.value());
  BOOST_TEST(stored_view_format(*kv).value() == view_format);
  BOOST_TEST(live_generation(*kv, "audit").value() == generation + 1);
  BOOST_TEST(kv->load_checkpoint(checkpoint_name("audit")).value() == log_position{0});
  // Nothing of the old generation is left, and the next catch_up folds it all.
  BOOST_TEST(digest_space(*kv, space_name("audit", generation)).value().rows == 0u);
  BOOST_TEST(before.at("audit").rows > 0u);
  project();
  BOOST_TEST((live_digests() == before));
  // The format is current now: nothing more is reset.
  BOOST_TEST(!reset_views_for_format(*kv).value());
  BOOST_TEST(live_generation(*kv, "audit").value() == generation + 1);
}

BOOST_AUTO_TEST_CASE(a_data_directory_without_views_only_records_the_format) {
  auto kv = storage::make_memory_kv_store();
  BOOST_TEST(!reset_views_for_format(*kv).value());
  BOOST_TEST(stored_view_format(*kv).value() == view_format);
  BOOST_TEST(live_generation(*kv, "audit").value() == 1u);
}

BOOST_FIXTURE_TEST_CASE(verify_reports_a_tampered_view_and_keeps_it, fixture) {
  rollout();
  project();
  storage::write_batch b;
  b.put(live_space(*kv, "tasks").value(), std::string("t\0zz", 4), "bogus");
  BOOST_REQUIRE(kv->write(b, storage::write_mode::sync));
  rebuild_options o;
  o.verify = true;
  auto r = rebuild(*log, *kv, {"tasks"}, o).value();
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(!r[0].equal);
  BOOST_TEST(!r[0].swapped);
  BOOST_TEST(r[0].first_difference == "t/zz");
  BOOST_TEST(live_generation(*kv, "tasks").value() == 1u);
  // Without --verify the rebuild replaces the damaged view.
  auto fixed = rebuild(*log, *kv, {"tasks"}).value();
  BOOST_TEST(fixed[0].swapped);
  BOOST_TEST((digest_space(*kv, live_space(*kv, "tasks").value()).value() == fixed[0].rebuilt));
}

BOOST_FIXTURE_TEST_CASE(an_unknown_view_is_refused_and_changes_nothing, fixture) {
  rollout();
  project();
  const auto before = live_digests();
  auto r = rebuild(*log, *kv, {"tasks", "nope"});
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error() == make_error_code(base::errc::invalid_argument));
  BOOST_TEST(error_detail().find("unknown view 'nope'") != std::string::npos);
  BOOST_TEST(live_generation(*kv, "tasks").value() == 1u);
  BOOST_TEST((live_digests() == before));
  auto past = build_as_of(*log, *kv, {"tasks"}, log_position{log->head()() + 1});
  BOOST_REQUIRE(!past);
  BOOST_TEST(error_detail().find("past the end") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_projector_of_more_than_31_views_is_refused_at_open, fixture) {
  rollout();
  // A run's plan has a bit per view.
  std::vector<std::unique_ptr<projection>> many;
  std::vector<view_target> targets;
  for (int i = 0; i < 32; ++i) {
    many.push_back(make_view("tasks"));
    targets.push_back({fmt::format("tasks@{}", 100 + i), fmt::format("many.{}", i)});
  }
  projector p{*log, *kv, std::move(many)};
  auto r = p.open(targets);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error() == make_error_code(base::errc::invalid_argument));
  BOOST_TEST(error_detail() == "projector: at most 31 views, not 32");
  // 31 fold.
  std::vector<std::unique_ptr<projection>> fewer;
  targets.pop_back();
  for (int i = 0; i < 31; ++i)
    fewer.push_back(make_view("tasks"));
  projector q{*log, *kv, std::move(fewer)};
  BOOST_REQUIRE(q.open(targets));
  BOOST_REQUIRE_MESSAGE(q.catch_up(), error_detail());
  BOOST_TEST(q.position() == log->head());
}

BOOST_FIXTURE_TEST_CASE(as_of_time_finds_the_last_event_at_or_before_it, fixture) {
  rollout();
  const auto head = log->head();
  auto last = log->read_all(head, 1).value().front();
  BOOST_TEST(position_at(*log, last.time).value() == head);
  BOOST_TEST(position_at(*log, base::timestamp{last.time.micros - 1}).value()() == head() - 1);
  BOOST_TEST(position_at(*log, base::timestamp{0}).value()() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
