// The rollout planner: the pure decision logic of the rollout coordinator.
//
// The coordinator (a CAF process manager, actors/) owns one task's rollout. It
// keeps `rollout_counters` by folding the task's execution.* events from the
// device streams (rollout_counters::apply; compact: a few integers, no
// per-device map, so a 1,000,000-device task costs the same as a 10-device
// one), and asks `plan_rollout` what to do now:
//
//   auto plan = plan_rollout(task, counters, timers, outstanding, now);
//   if (plan.start_due)        -> start_task_on_schedule
//   if (plan.deadline_due)     -> reach_task_deadline, then expire_execution per unfinished device
//   if (plan.complete)         -> complete_task with the counters
//   if (plan.pause_for_errors) -> pause_task_on_errors{failures, finished}
//   if (plan.advance_to_wave)  -> advance_task_wave{wave, manual = false}
//   start plan.start_queued queued devices, then plan.start_pending pending
//   devices in target order (start_execution), counting them as outstanding
//   until their events are folded;
//   arm one durable timer for plan.next_check (or none).
//
// It plans again after each folded event that matters and when the timer
// fires. Every answer is a function of its arguments: the same log gives the
// same plan after a restart (timers are state, ARCHITECTURE.md invariant 8).
// Per-device timers (retry_at, in-progress timeouts) are the caller's index
// (e.g. a RocksDB view keyed by time); the planner only needs their earliest
// instant (`rollout_timers`) to say when to look next.
#pragma once

#include "domain/task.hpp"
#include "events/catalog.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace otaledger::domain {

/// Per-task counters folded from execution events (only that task's: filter
/// with task_of). Every phase count is a number of devices.
struct rollout_counters {
  std::uint64_t total = 0;    ///< devices assigned (targets so far)
  std::uint64_t admitted = 0; ///< devices that left `pending` (started, or settled at assignment)
  std::uint64_t notifications = 0; ///< instructions issued (every execution.notified)
  /// Devices per execution_phase (index = the enum's value).
  std::array<std::uint64_t, 11> in_phase{};
  /// The one-minute rate window: opened by the first notification after the
  /// previous window ended.
  std::optional<base::timestamp> window_start;
  std::uint64_t started_in_window = 0;

  std::uint64_t phase(events::execution_phase p) const {
    return in_phase[static_cast<std::size_t>(p)];
  }
  /// succeeded + failed + canceled.
  std::uint64_t final_count() const;
  /// Folds one execution event of this task (other events are ignored).
  void apply(const events::event& e);
  bool operator==(const rollout_counters&) const = default;
};

/// The task id an execution event belongs to (nullopt for other events).
std::optional<std::string_view> task_of(const events::event& e);

/// The earliest per-device instants the caller tracks for this task.
struct rollout_timers {
  std::optional<base::timestamp> next_retry_at;   ///< earliest retry_at of a retry_wait device
  std::optional<base::timestamp> next_timeout_at; ///< earliest in-progress start + timeout
};

/// What bounds the number of starts right now.
enum class rollout_limit : std::uint8_t {
  none,                ///< every startable device may start
  not_running,         ///< the task is not upgrading (not started, paused, finished)
  nothing_to_start,    ///< no pending or queued device
  outside_push_period, ///< before the push period
  push_period_over,    ///< after the push period: nothing more will start
  outside_window,      ///< outside the daily push window
  concurrency,         ///< max_concurrent devices are notified or downloading
  rate,                ///< the minute's start budget is spent
  wave,                ///< the open wave is fully started
};

inline std::span<const std::string_view> enum_names(rollout_limit) {
  static constexpr std::string_view names[] = {"none",
                                               "not_running",
                                               "nothing_to_start",
                                               "outside_push_period",
                                               "push_period_over",
                                               "outside_window",
                                               "concurrency",
                                               "rate",
                                               "wave"};
  return names;
}

/// The planner's answer.
struct rollout_plan {
  bool start_due = false;    ///< not_started and the start time arrived
  bool deadline_due = false; ///< upgrading/paused and the deadline arrived
  bool complete = false;     ///< every target is final
  bool pause_for_errors = false;
  std::uint64_t failures = 0; ///< with pause_for_errors: failed + retry_wait devices
  std::uint64_t finished = 0; ///< with pause_for_errors: succeeded + failures
  std::optional<std::uint32_t> advance_to_wave;
  std::uint64_t start_queued = 0;  ///< start this many queued devices (already admitted) first
  std::uint64_t start_pending = 0; ///< then this many pending devices, in target order
  rollout_limit limited_by = rollout_limit::none;
  std::uint64_t rate_per_minute = 0;         ///< the current rate with growth; 0: unlimited
  std::optional<base::timestamp> next_check; ///< plan again then, even without new events
  bool operator==(const rollout_plan&) const = default;
};

/// Plans one step of the rollout. `outstanding` is the number of
/// start_execution commands issued whose events are not folded yet (they
/// count against the cap, the rate and the wave).
rollout_plan plan_rollout(const task_state& task, const rollout_counters& counters,
                          const rollout_timers& timers, std::uint64_t outstanding,
                          base::timestamp now);

/// The number of targets in waves 0..wave together (capped at total). With no
/// waves, total. Count: (wave+1) x size. Percentage: ceil(total x percent x
/// (wave+1) / 100). Exponential: size, then each wave growth% of the previous
/// (rounded up).
std::uint64_t wave_end(const events::rollout_policy& p, std::uint64_t total, std::uint32_t wave);

/// The start rate now: rate_per_minute grown by rate_growth_percent once per
/// rate_growth_every devices started or succeeded (0: unlimited).
std::uint64_t current_rate(const events::rollout_policy& p, const rollout_counters& c);

/// Whether `t` is inside the push period and the daily window.
bool in_push_time(const events::task_settings& s, base::timestamp t);
/// The first instant >= t inside the push period and daily window; nullopt
/// when the period is over.
std::optional<base::timestamp> next_push_time(const events::task_settings& s, base::timestamp t);

} // namespace otaledger::domain
