#include <boost/test/unit_test.hpp>

#include "domain/task.hpp"

#include <map>

using namespace otaledger;
using namespace otaledger::domain;

namespace {

using op = task_operation;
using st = task_status;

// SPEC §2's table, written out independently of domain/task.cpp.
const std::map<op, std::vector<st>>& spec_table() {
  static const std::map<op, std::vector<st>> t = {
      {op::edit, {st::not_started}},
      {op::delete_task, {st::not_started, st::stopped, st::completed}},
      {op::start, {st::not_started}},
      {op::scheduled_start, {st::not_started}},
      {op::pause, {st::upgrading}},
      {op::resume, {st::paused}},
      {op::cancel, {st::upgrading, st::paused}},
      {op::export_report, {st::not_started, st::paused, st::stopped, st::completed}},
      {op::complete, {st::upgrading}},
      {op::deadline, {st::upgrading, st::paused}},
      {op::record_targets, {st::upgrading, st::paused}},
      {op::advance_wave, {st::upgrading, st::paused}},
      {op::error_pause, {st::upgrading}},
      {op::release_install, {st::upgrading, st::paused}},
      {op::retry_failed, {st::upgrading, st::paused}},
  };
  return t;
}

constexpr st five_states[] = {st::not_started, st::upgrading, st::paused, st::stopped,
                              st::completed};

task_state task_in(st status) {
  task_state s;
  s.id = "17";
  s.exists = true;
  s.status = status;
  s.settings.name = "t";
  s.settings.start_at = base::timestamp::from_seconds(1000);
  s.settings.deadline = base::timestamp::from_seconds(2000);
  s.settings.download_only = true;
  s.settings.rollout.waves = events::wave_mode::count;
  s.settings.rollout.wave_size = 1;
  s.settings.rollout.error_threshold_percent = 10;
  s.targets_total = 10;
  return s;
}

task_command command_for(op o) {
  switch (o) {
  case op::edit:
    return edit_task{"17", {}};
  case op::delete_task:
    return delete_task{"17"};
  case op::start:
    return start_task{"17"};
  case op::scheduled_start:
    return start_task_on_schedule{"17"};
  case op::pause:
    return pause_task{"17"};
  case op::resume:
    return resume_task{"17"};
  case op::cancel:
    return cancel_task{"17"};
  case op::export_report:
    return export_task_report{"17"};
  case op::complete:
    return complete_task{"17", 10, 10, 0, 0};
  case op::deadline:
    return reach_task_deadline{"17"};
  case op::record_targets:
    return record_task_targets{"17", 11};
  case op::advance_wave:
    return advance_task_wave{"17", std::nullopt, true};
  case op::error_pause:
    return pause_task_on_errors{"17", 1, 2};
  case op::release_install:
    return release_task_install{"17"};
  case op::retry_failed:
    return retry_failed_devices{"17"};
  }
  return pause_task{"17"};
}

} // namespace

BOOST_AUTO_TEST_SUITE(task_state_table)

BOOST_AUTO_TEST_CASE(the_table_in_code_is_the_table_of_the_spec) {
  for (auto o : all_task_operations) {
    const auto& allowed = spec_table().at(o);
    for (auto s : five_states) {
      bool expected = std::find(allowed.begin(), allowed.end(), s) != allowed.end();
      BOOST_TEST(task_operation_allowed(o, s) == expected, events::enum_name(o)
                                                               << " in " << events::enum_name(s));
    }
    BOOST_TEST(!task_operation_allowed(o, st::deleted), events::enum_name(o) << " when deleted");
  }
}

BOOST_AUTO_TEST_CASE(every_refused_operation_names_the_task_and_its_state_and_decides_nothing) {
  int refused = 0;
  for (auto o : all_task_operations) {
    for (auto s :
         {st::not_started, st::upgrading, st::paused, st::stopped, st::completed, st::deleted}) {
      if (task_operation_allowed(o, s)) continue;
      if (o == op::start && s == st::paused) continue; // "start" on paused is resume
      decide_context ctx{base::timestamp::from_seconds(1500), "operator:test", {}, nullptr};
      auto d = decide(task_in(s), command_for(o), ctx);
      BOOST_REQUIRE_MESSAGE(!d, events::enum_name(o)
                                    << " in " << events::enum_name(s) << " was accepted");
      BOOST_TEST((d.error().code == errc::invalid_state), d.error().message);
      auto name = std::string{"it is "} + std::string{events::enum_name(s)};
      BOOST_TEST(d.error().message.find(name) != std::string::npos, d.error().message);
      BOOST_TEST(d.error().message.find("task 17") != std::string::npos, d.error().message);
      ++refused;
    }
  }
  BOOST_TEST(refused > 50);
}

BOOST_AUTO_TEST_CASE(every_allowed_operation_passes_the_state_check) {
  for (auto o : all_task_operations)
    for (auto s : five_states) {
      if (!task_operation_allowed(o, s)) continue;
      decide_context ctx{base::timestamp::from_seconds(2500), "operator:test", {}, nullptr};
      if (o == op::scheduled_start || o == op::start) ctx.now = base::timestamp::from_seconds(1500);
      auto d = decide(task_in(s), command_for(o), ctx);
      // Allowed by the table; only the command's own preconditions may refuse.
      if (!d)
        BOOST_TEST((d.error().code != errc::invalid_state), events::enum_name(o)
                                                                << " in " << events::enum_name(s)
                                                                << ": " << d.error().message);
    }
}

BOOST_AUTO_TEST_CASE(start_on_a_paused_task_resumes_it) {
  decide_context ctx{base::timestamp::from_seconds(1500), "operator:test", {}, nullptr};
  auto d = decide(task_in(st::paused), start_task{"17"}, ctx);
  BOOST_REQUIRE(d);
  BOOST_REQUIRE(d.value().size() == 1u);
  BOOST_TEST(std::holds_alternative<events::task_resumed>(d.value()[0]));
}

BOOST_AUTO_TEST_CASE(stopped_and_completed_tasks_never_start_again_by_any_command) {
  for (auto s : {st::stopped, st::completed}) {
    decide_context ctx{base::timestamp::from_seconds(1500), "operator:test", {}, nullptr};
    for (task_command c : {task_command{start_task{"17"}}, task_command{resume_task{"17"}},
                           task_command{start_task_on_schedule{"17"}}}) {
      auto d = decide(task_in(s), c, ctx);
      BOOST_TEST(!d);
    }
  }
}

BOOST_AUTO_TEST_CASE(evolve_ignores_events_of_other_tasks) {
  task_state s;
  s = evolve(s, events::task_created{"17", {}, {}, {}});
  s = evolve(s, events::task_started{"18", false, {}});
  BOOST_TEST((s.status == st::not_started));
  s = evolve(s, events::task_started{"17", false, {}});
  BOOST_TEST((s.status == st::upgrading));
}

BOOST_AUTO_TEST_SUITE_END()
