#include <boost/test/unit_test.hpp>

#include "domain/rollout.hpp"

using namespace otaledger;
using namespace otaledger::domain;
using events::execution_phase;
using events::wave_mode;

namespace {

base::timestamp at(const char* text) {
  return base::parse_rfc3339(text).value();
}

base::timestamp t0 = at("2026-01-01T00:00:00Z");

task_state running_task() {
  task_state s;
  s.id = "17";
  s.exists = true;
  s.status = task_status::upgrading;
  s.started_at = t0;
  s.wave_opened_at = t0;
  return s;
}

rollout_counters with(std::initializer_list<std::pair<execution_phase, std::uint64_t>> phases,
                      std::uint64_t admitted = 0) {
  rollout_counters c;
  for (auto [p, n] : phases) {
    c.in_phase[static_cast<std::size_t>(p)] = n;
    c.total += n;
  }
  c.admitted = admitted;
  return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(rollout_planner)

BOOST_AUTO_TEST_CASE(wave_ends_by_count_percentage_and_exponential_growth) {
  events::rollout_policy p;
  BOOST_TEST(wave_end(p, 1000, 0) == 1000u);
  p.waves = wave_mode::count;
  p.wave_size = 100;
  BOOST_TEST(wave_end(p, 1000, 0) == 100u);
  BOOST_TEST(wave_end(p, 1000, 2) == 300u);
  BOOST_TEST(wave_end(p, 1000, 20) == 1000u);
  p.waves = wave_mode::percentage;
  p.wave_percent = 25;
  BOOST_TEST(wave_end(p, 1'000'001, 0) == 250'001u); // rounded up: no device left out
  BOOST_TEST(wave_end(p, 1'000'001, 3) == 1'000'001u);
  BOOST_TEST(wave_end(p, 1'000'001, 9) == 1'000'001u);
  p.waves = wave_mode::exponential;
  p.wave_size = 10;
  p.wave_growth_percent = 200;
  BOOST_TEST(wave_end(p, 1'000'000, 0) == 10u);
  BOOST_TEST(wave_end(p, 1'000'000, 1) == 30u);  // 10 + 20
  BOOST_TEST(wave_end(p, 1'000'000, 3) == 150u); // 10 + 20 + 40 + 80
  BOOST_TEST(wave_end(p, 1'000'000, 100) == 1'000'000u);
  p.wave_growth_percent = 150;
  BOOST_TEST(wave_end(p, 1'000'000, 2) == 48u); // 10 + 15 + 23 (rounded up)
}

BOOST_AUTO_TEST_CASE(the_rate_grows_by_its_factor_per_step_and_saturates) {
  events::rollout_policy p;
  rollout_counters c;
  BOOST_TEST(current_rate(p, c) == 0u);
  p.rate_per_minute = 50;
  BOOST_TEST(current_rate(p, c) == 50u);
  p.rate_growth_percent = 200;
  p.rate_growth_every = 1000;
  c.in_phase[static_cast<std::size_t>(execution_phase::succeeded)] = 2999;
  BOOST_TEST(current_rate(p, c) == 200u); // two steps
  p.rate_growth_on = events::rate_basis::started;
  c.notifications = 1000;
  BOOST_TEST(current_rate(p, c) == 100u);
  c.notifications = 1'000'000'000;
  BOOST_TEST(current_rate(p, c) == (1ull << 50)); // saturated, no overflow
}

BOOST_AUTO_TEST_CASE(counters_fold_execution_events_by_their_from_phase) {
  rollout_counters c;
  using namespace events;
  c.apply(execution_assigned{"D1", "17", {}});
  c.apply(execution_assigned{"D2", "17", {}});
  c.apply(execution_notified{"D1", "17", execution_phase::pending, 1, t0});
  c.apply(execution_deferred{"D2", "17", execution_phase::pending, deferral_reason::offline});
  BOOST_TEST(c.admitted == 2u);
  c.apply(execution_deferral_ended{"D2", "17"});
  c.apply(execution_notified{"D2", "17", execution_phase::queued, 1, t0});
  BOOST_TEST(c.admitted == 2u); // a re-start is not a new admission
  BOOST_TEST(c.notifications == 2u);
  BOOST_TEST(c.started_in_window == 2u);
  c.apply(execution_downloading{"D1", "17", execution_phase::notified, 10});
  c.apply(execution_downloading{"D1", "17", execution_phase::downloading, 60});
  BOOST_TEST(c.phase(execution_phase::downloading) == 1u);
  c.apply(
      execution_failed{"D2", "17", execution_phase::notified, failure_code::timed_out, "t", 1, t0});
  BOOST_TEST(c.phase(execution_phase::retry_wait) == 1u);
  c.apply(execution_retried{"D2", "17", execution_phase::retry_wait, 2, false});
  BOOST_TEST(c.phase(execution_phase::queued) == 1u);
  c.apply(execution_downloaded{"D1", "17", execution_phase::downloading});
  c.apply(execution_installing{"D1", "17"});
  c.apply(execution_succeeded{"D1", "17", execution_phase::installing, "1.1"});
  BOOST_TEST(c.phase(execution_phase::succeeded) == 1u);
  BOOST_TEST(c.phase(execution_phase::notified) == 0u);
  BOOST_TEST(c.total == 2u);
  BOOST_TEST(c.final_count() == 1u);
  // A notification a minute later opens a new rate window.
  c.apply(execution_notified{"D2", "17", execution_phase::queued, 2,
                             base::timestamp{t0.micros + 60'000'000}});
  BOOST_TEST(c.started_in_window == 1u);
}

BOOST_AUTO_TEST_CASE(a_scheduled_task_is_due_at_its_start_time) {
  auto s = running_task();
  s.status = task_status::not_started;
  s.settings.start_at = at("2026-01-02T00:00:00Z");
  auto p = plan_rollout(s, {}, {}, 0, t0);
  BOOST_TEST(!p.start_due);
  BOOST_TEST((p.next_check == s.settings.start_at));
  p = plan_rollout(s, {}, {}, 0, at("2026-01-02T00:00:00Z"));
  BOOST_TEST(p.start_due);
  s.settings.deadline = at("2026-01-02T00:00:00Z");
  p = plan_rollout(s, {}, {}, 0, at("2026-01-02T00:00:00Z"));
  BOOST_TEST(!p.start_due); // too late: start_task would refuse, so do not ask
  BOOST_TEST(!p.next_check);
}

BOOST_AUTO_TEST_CASE(the_deadline_is_due_for_running_and_paused_tasks) {
  auto s = running_task();
  s.settings.deadline = at("2026-01-03T00:00:00Z");
  auto c = with({{execution_phase::pending, 5}});
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.deadline_due);
  BOOST_TEST(p.start_pending == 5u);
  BOOST_TEST((p.next_check == s.settings.deadline));
  s.status = task_status::paused;
  p = plan_rollout(s, c, {}, 0, at("2026-01-03T00:00:00Z"));
  BOOST_TEST(p.deadline_due);
  BOOST_TEST(p.start_pending == 0u);
}

BOOST_AUTO_TEST_CASE(a_paused_task_starts_nobody_but_keeps_per_device_timers) {
  auto s = running_task();
  s.status = task_status::paused;
  rollout_timers timers{at("2026-01-01T00:10:00Z"), at("2026-01-01T00:05:00Z")};
  auto p = plan_rollout(s, with({{execution_phase::pending, 100}}), timers, 0, t0);
  BOOST_TEST(p.start_pending == 0u);
  BOOST_TEST((p.limited_by == rollout_limit::not_running));
  BOOST_TEST((p.next_check == at("2026-01-01T00:05:00Z")));
}

BOOST_AUTO_TEST_CASE(the_concurrency_cap_counts_notified_downloading_and_outstanding) {
  auto s = running_task();
  s.settings.rollout.max_concurrent = 10;
  auto c = with({{execution_phase::pending, 100},
                 {execution_phase::notified, 3},
                 {execution_phase::downloading, 4},
                 {execution_phase::downloaded, 50},
                 {execution_phase::installing, 50}});
  auto p = plan_rollout(s, c, {}, 1, t0);
  BOOST_TEST(p.start_pending == 2u);
  BOOST_TEST((p.limited_by == rollout_limit::concurrency));
  BOOST_TEST(!p.next_check); // the cap frees up on events, not on time
}

BOOST_AUTO_TEST_CASE(the_rate_limit_spends_a_budget_per_minute_window) {
  auto s = running_task();
  s.settings.rollout.rate_per_minute = 100;
  auto c = with({{execution_phase::pending, 1000}});
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(p.start_pending == 100u);
  BOOST_TEST((p.limited_by == rollout_limit::rate));
  c.window_start = t0;
  c.started_in_window = 100;
  p = plan_rollout(s, c, {}, 0, at("2026-01-01T00:00:30Z"));
  BOOST_TEST(p.start_pending == 0u);
  BOOST_TEST((p.next_check == at("2026-01-01T00:01:00Z")));
  c.started_in_window = 40;
  p = plan_rollout(s, c, {}, 0, at("2026-01-01T00:00:30Z"));
  BOOST_TEST(p.start_pending == 60u);
  p = plan_rollout(s, c, {}, 0, at("2026-01-01T00:01:00Z"));
  BOOST_TEST(p.start_pending == 100u);
}

BOOST_AUTO_TEST_CASE(queued_devices_start_before_new_ones_and_use_no_wave_budget) {
  auto s = running_task();
  s.settings.rollout.rate_per_minute = 10;
  s.settings.rollout.waves = wave_mode::count;
  s.settings.rollout.wave_size = 20;
  s.targets_total = 100;
  auto c = with({{execution_phase::pending, 80}, {execution_phase::queued, 4}}, 20);
  c.total = 100;
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(p.start_queued == 4u);
  BOOST_TEST(p.start_pending == 0u); // wave 0 (20 devices) is fully admitted
}

BOOST_AUTO_TEST_CASE(a_wave_limits_new_starts_and_advances_on_the_success_threshold) {
  auto s = running_task();
  s.settings.rollout.waves = wave_mode::count;
  s.settings.rollout.wave_size = 5;
  s.settings.rollout.success_threshold_percent = 80;
  s.targets_total = 20;
  auto c = with({{execution_phase::pending, 20}});
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(p.start_pending == 5u);
  BOOST_TEST((p.limited_by == rollout_limit::wave));
  BOOST_TEST(!p.advance_to_wave);
  // The wave is out; 3 of 5 succeeded: below 80 %.
  c = with({{execution_phase::pending, 15},
            {execution_phase::succeeded, 3},
            {execution_phase::installing, 2}},
           5);
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.advance_to_wave);
  BOOST_TEST(p.start_pending == 0u);
  c = with({{execution_phase::pending, 15},
            {execution_phase::succeeded, 4},
            {execution_phase::failed, 1}},
           5);
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST((p.advance_to_wave == std::optional<std::uint32_t>{1}));
  s.wave = 1;
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.advance_to_wave);
  BOOST_TEST(p.start_pending == 5u);
}

BOOST_AUTO_TEST_CASE(a_wave_soaks_before_the_next_one_opens) {
  auto s = running_task();
  s.settings.rollout.waves = wave_mode::count;
  s.settings.rollout.wave_size = 5;
  s.settings.rollout.wave_soak_minutes = 60;
  s.targets_total = 20;
  auto c = with({{execution_phase::pending, 15}, {execution_phase::succeeded, 5}}, 5);
  auto p = plan_rollout(s, c, {}, 0, at("2026-01-01T00:30:00Z"));
  BOOST_TEST(!p.advance_to_wave);
  BOOST_TEST((p.next_check == at("2026-01-01T01:00:00Z")));
  p = plan_rollout(s, c, {}, 0, at("2026-01-01T01:00:00Z"));
  BOOST_TEST(p.advance_to_wave.has_value());
}

BOOST_AUTO_TEST_CASE(waves_do_not_advance_before_the_targets_are_resolved) {
  auto s = running_task();
  s.settings.rollout.waves = wave_mode::count;
  s.settings.rollout.wave_size = 5;
  auto c = with({{execution_phase::succeeded, 5}, {execution_phase::pending, 3}}, 5);
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.advance_to_wave);
}

BOOST_AUTO_TEST_CASE(the_error_threshold_pauses_once_enough_devices_finished) {
  auto s = running_task();
  s.settings.rollout.error_threshold_percent = 10;
  s.settings.rollout.error_min_finished = 10;
  auto c = with({{execution_phase::pending, 100},
                 {execution_phase::succeeded, 7},
                 {execution_phase::failed, 2}});
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.pause_for_errors); // 9 finished: under the minimum
  c = with({{execution_phase::pending, 100},
            {execution_phase::succeeded, 9},
            {execution_phase::failed, 1}});
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.pause_for_errors); // exactly 10 %: not past it
  c = with({{execution_phase::pending, 100},
            {execution_phase::succeeded, 9},
            {execution_phase::retry_wait, 1}});
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.pause_for_errors); // a device waiting for its retry counts as a failure
  c = with({{execution_phase::pending, 100},
            {execution_phase::succeeded, 8},
            {execution_phase::failed, 2},
            {execution_phase::retry_wait, 1}});
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(p.pause_for_errors);
  BOOST_TEST(p.failures == 3u);
  BOOST_TEST(p.finished == 11u);
  BOOST_TEST(p.start_pending == 0u);
}

BOOST_AUTO_TEST_CASE(after_an_error_pause_the_threshold_judges_only_later_finishes) {
  auto s = running_task();
  s.settings.rollout.error_threshold_percent = 10;
  s.settings.rollout.error_min_finished = 10;
  s.error_base_failures = 3;
  s.error_base_finished = 11;
  auto c = with({{execution_phase::pending, 100},
                 {execution_phase::succeeded, 17},
                 {execution_phase::failed, 4}}); // since the pause: 1 failure of 10
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(!p.pause_for_errors);
  c = with({{execution_phase::pending, 100},
            {execution_phase::succeeded, 16},
            {execution_phase::failed, 5}}); // since the pause: 2 of 10
  p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(p.pause_for_errors);
}

BOOST_AUTO_TEST_CASE(a_task_completes_when_every_resolved_target_is_final) {
  auto s = running_task();
  s.targets_total = 3;
  auto c = with({{execution_phase::succeeded, 2}, {execution_phase::retry_wait, 1}});
  BOOST_TEST(!plan_rollout(s, c, {}, 0, t0).complete);
  c = with({{execution_phase::succeeded, 2}, {execution_phase::failed, 1}});
  BOOST_TEST(plan_rollout(s, c, {}, 0, t0).complete);
  BOOST_TEST(!plan_rollout(s, c, {}, 1, t0).complete); // a start is still in flight
  s.targets_total.reset();
  BOOST_TEST(!plan_rollout(s, c, {}, 0, t0).complete);
  s.targets_total = 3;
  s.settings.targets.dynamic = true;
  BOOST_TEST(!plan_rollout(s, c, {}, 0, t0).complete);
}

BOOST_AUTO_TEST_CASE(a_task_with_no_targets_completes_at_once) {
  auto s = running_task();
  s.targets_total = 0;
  BOOST_TEST(plan_rollout(s, {}, {}, 0, t0).complete);
}

BOOST_AUTO_TEST_CASE(outside_the_daily_window_nobody_starts_until_it_opens) {
  auto s = running_task();
  s.settings.window = events::daily_window{22, 6};
  auto c = with({{execution_phase::pending, 10}});
  auto p = plan_rollout(s, c, {}, 0, at("2026-01-01T12:00:00Z"));
  BOOST_TEST(p.start_pending == 0u);
  BOOST_TEST((p.limited_by == rollout_limit::outside_window));
  BOOST_TEST((p.next_check == at("2026-01-01T22:00:00Z")));
  p = plan_rollout(s, c, {}, 0, at("2026-01-01T23:00:00Z"));
  BOOST_TEST(p.start_pending == 10u);
}

BOOST_AUTO_TEST_CASE(the_push_period_bounds_starts) {
  auto s = running_task();
  s.settings.push_from = at("2026-01-05T00:00:00Z");
  s.settings.push_until = at("2026-01-10T00:00:00Z");
  s.settings.window = events::daily_window{2, 4};
  auto c = with({{execution_phase::pending, 10}});
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST((p.limited_by == rollout_limit::outside_push_period));
  BOOST_TEST((p.next_check == at("2026-01-05T02:00:00Z")));
  p = plan_rollout(s, c, {}, 0, at("2026-01-09T05:00:00Z"));
  BOOST_TEST((p.limited_by == rollout_limit::push_period_over));
  BOOST_TEST(!p.next_check);
  p = plan_rollout(s, c, {}, 0, at("2026-01-06T03:00:00Z"));
  BOOST_TEST(p.start_pending == 10u);
}

BOOST_AUTO_TEST_CASE(a_million_device_task_plans_in_constant_space) {
  auto s = running_task();
  s.targets_total = 1'000'000;
  s.settings.rollout.waves = wave_mode::exponential;
  s.settings.rollout.wave_size = 1000;
  s.settings.rollout.max_concurrent = 20'000;
  s.settings.rollout.rate_per_minute = 5000;
  auto c = with({{execution_phase::pending, 1'000'000}});
  auto p = plan_rollout(s, c, {}, 0, t0);
  BOOST_TEST(p.start_pending == 1000u);
  BOOST_TEST((p.limited_by == rollout_limit::wave));
  BOOST_TEST(sizeof(rollout_counters) < 256u);
}

BOOST_AUTO_TEST_SUITE_END()
