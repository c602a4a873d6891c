// Streams of events and commands, the JSON form of commands, the catalog
// index, and dynamic targeting.
#include <boost/test/unit_test.hpp>

#include "domain/catalog_index.hpp"
#include "domain/dispatch.hpp"
#include "domain/targeting.hpp"
#include "tests/events/random_values.hpp"

#include <set>

using namespace otaledger;
using namespace otaledger::domain;

namespace {
template <class V, class F> void for_each_alternative(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f.template operator()<std::variant_alternative_t<I, V>>(), ...);
  }
  (std::make_index_sequence<std::variant_size_v<V>>{});
}
} // namespace

BOOST_AUTO_TEST_SUITE(event_routing)

BOOST_AUTO_TEST_CASE(every_event_type_belongs_to_a_known_aggregate_by_its_first_field) {
  for_each_alternative<events::event>([]<class T>() {
    T e{};
    testing::random_filler rnd{3};
    rnd.fill(e);
    auto ref = stream_of(events::event{e});
    std::string first;
    T::fields(e, [&](std::string_view, const auto& v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>)
        if (first.empty()) first = v;
    });
    BOOST_TEST(ref.id == first, T::type_name);
    auto prefix = std::string{T::type_name.substr(0, T::type_name.find('.'))};
    auto kind = std::string{events::enum_name(ref.kind)};
    BOOST_TEST((prefix == kind || (prefix == "execution" && kind == "device")), T::type_name);
  });
}

BOOST_AUTO_TEST_CASE(streams_are_named_aggregate_dash_id) {
  BOOST_TEST(stream_of(events::event{events::task_paused{"17", {}, 0, 0, {}}}).stream() ==
             "task-17");
  BOOST_TEST(stream_of(events::event{events::execution_held{"42", "17"}}).stream() == "device-42");
  BOOST_TEST(stream_of(command{pause_task{"17"}}).stream() == "task-17");
  BOOST_TEST(stream_of(command{start_execution{"42", "17"}}).stream() == "device-42");
  BOOST_TEST(stream_of(command{create_package{"K1", {}, {}, {}, {}, {}}}).stream() == "package-K1");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(command_json)

BOOST_AUTO_TEST_CASE(command_names_are_unique) {
  std::set<std::string_view> seen;
  for (auto n : command_names())
    BOOST_TEST(seen.insert(n).second, n);
  BOOST_TEST(seen.size() == std::variant_size_v<command>);
}

BOOST_AUTO_TEST_CASE(every_command_round_trips_through_json) {
  testing::random_filler rnd{11};
  for_each_alternative<command>([&]<class T>() {
    for (int round = 0; round < 50; ++round) {
      T c{};
      if (round > 0) rnd.fill(c);
      auto j = command_to_json(command{c});
      std::string error;
      auto back = command_from_json(events::json::parse(j.dump()), error, false);
      BOOST_REQUIRE_MESSAGE(back, T::command_name << ": " << error);
      BOOST_TEST((back.value() == command{c}), T::command_name);
    }
  });
}

BOOST_AUTO_TEST_CASE(missing_fields_take_defaults_and_unknown_fields_are_refused) {
  std::string error;
  auto c = command_from_json("create_task",
                             events::json::parse(R"({"task":"1","settings":{"name":"n"}})"), error);
  BOOST_REQUIRE_MESSAGE(c, error);
  const auto& t = std::get<create_task>(c.value());
  BOOST_TEST(t.settings.signal_threshold == 10u);
  BOOST_TEST(t.settings.battery_threshold == 50u);
  auto strict = command_from_json("pause_task", events::json::object(), error, false);
  BOOST_TEST(!strict);
  BOOST_TEST(error == "missing field data.task");
  auto typo = command_from_json("pause_task", events::json::parse(R"({"tsak":"1"})"), error);
  BOOST_TEST(!typo);
  BOOST_TEST(error == "unknown field data.tsak");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(catalog_lookups)

BOOST_AUTO_TEST_CASE(the_index_follows_creation_and_deletion) {
  catalog_index idx;
  idx.apply(events::firmware_created{"F1",
                                     "P1",
                                     events::firmware_kind::fota,
                                     "CMCC",
                                     "M5330",
                                     "1.0",
                                     "HW",
                                     "SW",
                                     std::nullopt,
                                     {}});
  BOOST_TEST(idx.firmware_by_version(events::firmware_kind::fota, "CMCC", "M5330", "1.0"));
  BOOST_TEST(!idx.firmware_by_version(events::firmware_kind::sota, "CMCC", "M5330", "1.0"));
  BOOST_TEST(idx.firmware_by_codes("P1", "HW", "SW"));
  idx.apply(events::firmware_verified{"F1", {}});
  BOOST_TEST(idx.firmware("F1")->verified);
  idx.apply(events::firmware_image_uploaded{"F1", {}, false});
  BOOST_TEST(!idx.firmware("F1")->verified);
  idx.apply(events::firmware_deleted{"F1"});
  BOOST_TEST(!idx.firmware("F1"));
  BOOST_TEST(!idx.firmware_by_version(events::firmware_kind::fota, "CMCC", "M5330", "1.0"));
  BOOST_TEST(!idx.firmware_by_codes("P1", "HW", "SW"));
}

BOOST_AUTO_TEST_CASE(a_task_uses_its_package_and_groups_until_it_finishes) {
  catalog_index idx;
  events::task_settings s;
  s.package = "K1";
  s.targets.groups = {"G1"};
  idx.apply(events::task_created{"T1", s, {}, {}});
  BOOST_TEST(idx.task_using_package("K1"));
  BOOST_TEST(idx.task_using_group("G1"));
  idx.apply(events::task_started{"T1", false, {}});
  BOOST_TEST(idx.task("T1")->status == "upgrading");
  idx.apply(events::task_completed{"T1", 0, 0, 0, 0, {}});
  BOOST_TEST(!idx.task_using_package("K1"));
  BOOST_TEST(!idx.task_using_group("G1"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dynamic_targets)

BOOST_AUTO_TEST_CASE(a_device_matches_by_list_group_region_or_mac_within_the_product) {
  events::target_spec t;
  t.devices = {"D1"};
  t.groups = {"G1"};
  t.regions = {{"广东省", ""}, {"浙江省", "杭州市"}};
  t.macs = {"AA-BB-CC-00-00-09"};
  auto kind = events::firmware_kind::fota;
  device_facts d{"D1", "P1", "", {}, "1.0", "", {}};
  BOOST_TEST(matches_targets(t, "P1", kind, d));
  BOOST_TEST(!matches_targets(t, "P2", kind, d));
  d.id = "D2";
  BOOST_TEST(!matches_targets(t, "P1", kind, d));
  d.groups = {"G1"};
  BOOST_TEST(matches_targets(t, "P1", kind, d));
  d.groups = {};
  d.region = {"广东省", "深圳市"};
  BOOST_TEST(matches_targets(t, "P1", kind, d));
  d.region = {"浙江省", "宁波市"};
  BOOST_TEST(!matches_targets(t, "P1", kind, d));
  d.region = {"浙江省", "杭州市"};
  BOOST_TEST(matches_targets(t, "P1", kind, d));
  d.region = {};
  d.mac = "aa:bb:cc:00:00:09";
  BOOST_TEST(matches_targets(t, "P1", kind, d));
}

BOOST_AUTO_TEST_CASE(the_version_filter_applies_to_the_package_kind) {
  events::target_spec t;
  t.dynamic = true;
  t.versions = {"1.0", "1.1"};
  device_facts d{"D9", "P1", "", {}, "1.0", "7.0", {}};
  BOOST_TEST(matches_targets(t, "P1", events::firmware_kind::fota, d));
  BOOST_TEST(!matches_targets(t, "P1", events::firmware_kind::sota, d));
  d.fota_version = "0.9";
  BOOST_TEST(!matches_targets(t, "P1", events::firmware_kind::fota, d));
}

BOOST_AUTO_TEST_CASE(a_dynamic_task_without_lists_takes_the_whole_product_while_it_runs) {
  task_state task;
  task.exists = true;
  task.settings.product = "P1";
  task.settings.targets.dynamic = true;
  device_facts newcomer{"D77", "P1", "", {}, "", "", {}};
  BOOST_TEST(matches_targets(task, newcomer));
  BOOST_TEST(!accepts_new_targets(task)); // not started yet
  task.status = task_status::upgrading;
  BOOST_TEST(accepts_new_targets(task));
  task.status = task_status::stopped;
  BOOST_TEST(!accepts_new_targets(task));
}

BOOST_AUTO_TEST_SUITE_END()
