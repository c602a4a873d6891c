#include "domain/rollout.hpp"

#include "domain/validation.hpp"

#include <algorithm>
#include <limits>

namespace otaledger::domain {

using namespace events;

namespace {

constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();
constexpr std::int64_t micros_per_minute = 60ll * 1'000'000;
// Growth stops here: far beyond any fleet, far below overflow.
constexpr std::uint64_t saturation = 1ull << 50;

std::uint64_t sat_sub(std::uint64_t a, std::uint64_t b) {
  return a > b ? a - b : 0;
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

void earliest(std::optional<base::timestamp>& acc, std::optional<base::timestamp> t) {
  if (t && (!acc || *t < *acc)) acc = t;
}

} // namespace

std::uint64_t rollout_counters::final_count() const {
  return phase(execution_phase::succeeded) + phase(execution_phase::failed) +
         phase(execution_phase::canceled);
}

std::optional<std::string_view> task_of(const event& ev) {
  return std::visit(
      [](const auto& e) -> std::optional<std::string_view> {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("execution.")) return std::string_view{e.task};
        return std::nullopt;
      },
      ev);
}

void rollout_counters::apply(const event& ev) {
  auto move = [&](execution_phase from, execution_phase to) {
    auto& f = in_phase[static_cast<std::size_t>(from)];
    f = sat_sub(f, 1);
    ++in_phase[static_cast<std::size_t>(to)];
    if (from == execution_phase::pending && to != execution_phase::pending) ++admitted;
  };
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, execution_assigned>) {
          ++total;
          ++in_phase[static_cast<std::size_t>(execution_phase::pending)];
        } else if constexpr (std::is_same_v<T, execution_deferred>) {
          if (e.from != execution_phase::deferred) move(e.from, execution_phase::deferred);
        } else if constexpr (std::is_same_v<T, execution_deferral_ended>) {
          move(execution_phase::deferred, execution_phase::queued);
        } else if constexpr (std::is_same_v<T, execution_notified>) {
          move(e.from, execution_phase::notified);
          ++notifications;
          if (!window_start || e.at.micros >= window_start->micros + micros_per_minute) {
            window_start = e.at;
            started_in_window = 0;
          }
          ++started_in_window;
        } else if constexpr (std::is_same_v<T, execution_downloading>) {
          if (e.from != execution_phase::downloading) move(e.from, execution_phase::downloading);
        } else if constexpr (std::is_same_v<T, execution_downloaded>) {
          move(e.from, execution_phase::downloaded);
        } else if constexpr (std::is_same_v<T, execution_installing>) {
          move(execution_phase::downloaded, execution_phase::installing);
        } else if constexpr (std::is_same_v<T, execution_succeeded>) {
          move(e.from, execution_phase::succeeded);
        } else if constexpr (std::is_same_v<T, execution_failed>) {
          move(e.from, e.retry_at ? execution_phase::retry_wait : execution_phase::failed);
        } else if constexpr (std::is_same_v<T, execution_canceled>) {
          move(e.from, execution_phase::canceled);
        } else if constexpr (std::is_same_v<T, execution_retried>) {
          move(e.from, execution_phase::queued);
        } else if constexpr (std::is_same_v<T, execution_retry_dropped>) {
          move(execution_phase::retry_wait, execution_phase::failed);
        }
      },
      ev);
}

std::uint64_t wave_end(const rollout_policy& p, std::uint64_t total, std::uint32_t wave) {
  std::uint64_t end = total;
  switch (p.waves) {
  case wave_mode::none:
    return total;
  case wave_mode::count:
    end = std::min<std::uint64_t>(saturation,
                                  static_cast<std::uint64_t>(p.wave_size) * (wave + 1ull));
    break;
  case wave_mode::percentage: {
    auto pct =
        std::min<std::uint64_t>(100, static_cast<std::uint64_t>(p.wave_percent) * (wave + 1ull));
    end = ceil_div(total * pct, 100);
    break;
  }
  case wave_mode::exponential: {
    std::uint64_t size = p.wave_size;
    end = size;
    for (std::uint32_t w = 0; w < wave && end < total && end < saturation; ++w) {
      size = std::min(saturation, ceil_div(size * p.wave_growth_percent, 100));
      end = std::min(saturation, end + size);
    }
    break;
  }
  }
  return std::min(end, total);
}

std::uint64_t current_rate(const rollout_policy& p, const rollout_counters& c) {
  std::uint64_t rate = p.rate_per_minute;
  if (rate == 0 || p.rate_growth_percent <= 100 || p.rate_growth_every == 0) return rate;
  auto basis = p.rate_growth_on == rate_basis::started ? c.notifications
                                                       : c.phase(execution_phase::succeeded);
  for (auto steps = basis / p.rate_growth_every; steps > 0 && rate < saturation; --steps)
    rate = std::min(saturation, rate * p.rate_growth_percent / 100);
  return rate;
}

bool in_push_time(const task_settings& s, base::timestamp t) {
  if (s.push_from && t < *s.push_from) return false;
  if (s.push_until && t >= *s.push_until) return false;
  return !s.window || in_daily_window(*s.window, t);
}

std::optional<base::timestamp> next_push_time(const task_settings& s, base::timestamp t) {
  if (s.push_from && t < *s.push_from) t = *s.push_from;
  if (s.window) t = next_window_opening(*s.window, t);
  if (s.push_until && t >= *s.push_until) return std::nullopt;
  return t;
}

rollout_plan plan_rollout(const task_state& task, const rollout_counters& c,
                          const rollout_timers& timers, std::uint64_t outstanding,
                          base::timestamp now) {
  rollout_plan plan;
  plan.limited_by = rollout_limit::not_running;
  if (!task.exists) return plan;
  const auto& settings = task.settings;
  const auto& policy = settings.rollout;

  if (task.status == task_status::not_started) {
    // Past its deadline a task can no longer start (start_task refuses); it
    // waits for an operator to delete it.
    if (settings.deadline && now >= *settings.deadline) return plan;
    if (settings.start_at) {
      if (now >= *settings.start_at)
        plan.start_due = true;
      else
        plan.next_check = settings.start_at;
    }
    return plan;
  }
  if (task.status != task_status::upgrading && task.status != task_status::paused) return plan;

  if (settings.deadline) {
    if (now >= *settings.deadline) {
      plan.deadline_due = true;
      return plan;
    }
    plan.next_check = settings.deadline;
  }
  // Devices that are already out keep their per-device clocks while paused.
  earliest(plan.next_check, timers.next_retry_at);
  earliest(plan.next_check, timers.next_timeout_at);
  plan.rate_per_minute = current_rate(policy, c);
  if (task.status == task_status::paused) return plan;

  // Completion: every target final, and nothing in flight.
  if (!settings.targets.dynamic && task.targets_total && c.total >= *task.targets_total &&
      c.final_count() == c.total && outstanding == 0) {
    plan.complete = true;
    return plan;
  }

  // Error threshold: judged on what finished since the last error pause.
  if (policy.error_threshold_percent > 0) {
    auto failures = c.phase(execution_phase::failed) + c.phase(execution_phase::retry_wait);
    auto finished = c.phase(execution_phase::succeeded) + failures;
    auto df = sat_sub(failures, task.error_base_failures);
    auto dn = sat_sub(finished, task.error_base_finished);
    if (dn >= std::max<std::uint64_t>(1, policy.error_min_finished) &&
        df * 100 > static_cast<std::uint64_t>(policy.error_threshold_percent) * dn) {
      plan.pause_for_errors = true;
      plan.failures = failures;
      plan.finished = finished;
      return plan;
    }
  }

  // Waves: advance when the open wave is fully started, its soak time is
  // over and enough of the waves so far succeeded.
  auto wave_total = task.targets_total ? std::max(*task.targets_total, c.total) : c.total;
  auto open_end =
      policy.waves == wave_mode::none ? unlimited : wave_end(policy, wave_total, task.wave);
  if (policy.waves != wave_mode::none && task.targets_total && open_end < wave_total &&
      c.admitted >= open_end) {
    auto soak_over = task.wave_opened_at
                         ? base::timestamp{task.wave_opened_at->micros +
                                           static_cast<std::int64_t>(policy.wave_soak_minutes) *
                                               micros_per_minute}
                         : now;
    bool successes = c.phase(execution_phase::succeeded) * 100 >=
                     static_cast<std::uint64_t>(policy.success_threshold_percent) * open_end;
    if (successes && now >= soak_over) {
      plan.advance_to_wave = task.wave + 1;
      return plan;
    }
    if (successes) earliest(plan.next_check, soak_over);
  }

  // Starts: push period and window first.
  auto queued = c.phase(execution_phase::queued);
  auto pending = c.phase(execution_phase::pending);
  if (queued + pending == 0) {
    plan.limited_by = rollout_limit::nothing_to_start;
    return plan;
  }
  if (!in_push_time(settings, now)) {
    auto next = next_push_time(settings, now);
    if (!next) {
      plan.limited_by = rollout_limit::push_period_over;
    } else {
      plan.limited_by = settings.push_from && now < *settings.push_from
                            ? rollout_limit::outside_push_period
                            : rollout_limit::outside_window;
      earliest(plan.next_check, next);
    }
    return plan;
  }

  std::uint64_t capacity = unlimited;
  rollout_limit binding = rollout_limit::none;
  if (policy.max_concurrent > 0) {
    auto in_flight =
        c.phase(execution_phase::notified) + c.phase(execution_phase::downloading) + outstanding;
    capacity = sat_sub(policy.max_concurrent, in_flight);
    binding = rollout_limit::concurrency;
  }
  if (plan.rate_per_minute > 0) {
    bool fresh_window = !c.window_start || now.micros >= c.window_start->micros + micros_per_minute;
    auto left =
        fresh_window ? plan.rate_per_minute : sat_sub(plan.rate_per_minute, c.started_in_window);
    left = sat_sub(left, outstanding);
    if (left < capacity) {
      capacity = left;
      binding = rollout_limit::rate;
    }
    if (left == 0 && !fresh_window)
      earliest(plan.next_check, base::timestamp{c.window_start->micros + micros_per_minute});
  }

  plan.start_queued = std::min(capacity, queued);
  capacity -= plan.start_queued;
  auto wave_left =
      open_end == unlimited ? unlimited : sat_sub(sat_sub(open_end, c.admitted), outstanding);
  plan.start_pending = std::min({capacity, wave_left, pending});

  if (plan.start_queued == queued && plan.start_pending == pending)
    plan.limited_by = rollout_limit::none;
  else if (plan.start_queued == queued && wave_left <= capacity && plan.start_pending == wave_left)
    plan.limited_by = rollout_limit::wave;
  else
    plan.limited_by = binding;
  return plan;
}

} // namespace otaledger::domain
