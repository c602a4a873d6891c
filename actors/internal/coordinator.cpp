#include "actors/internal/coordinator.hpp"

#include "actors/internal/catalog_actor.hpp"
#include "actors/internal/device_agg.hpp"
#include "domain/rollout.hpp"
#include "domain/targeting.hpp"

#include <absl/container/flat_hash_map.h>

#include <cstdio>
#include <deque>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace otaledger::actors::internal {

namespace {

using events::execution_phase;

bool final_phase(execution_phase p) {
  return p == execution_phase::succeeded || p == execution_phase::failed ||
         p == execution_phase::canceled;
}
bool in_progress(execution_phase p) {
  return p == execution_phase::notified || p == execution_phase::downloading ||
         p == execution_phase::downloaded || p == execution_phase::installing;
}

struct device_rec {
  execution_phase phase = execution_phase::pending;
  bool start_out = false; ///< a start command is queued or in flight
};

struct sweep {
  work_kind kind;
  std::string correlation;
  std::vector<std::uint32_t> targets; ///< indices into task_run::targets
  std::size_t cursor = 0;
};

struct task_run {
  domain::task_state task;
  domain::rollout_counters counters;
  std::string correlation;       ///< of the last lifecycle event
  events::execution_terms terms; ///< what assign_execution carries (from the task)
  std::vector<std::string> targets;
  // Flat maps: at a million targets a node-based map's lookup costs two or
  // three cache misses (2.6 % of a rollout's CPU).
  absl::flat_hash_map<std::string, std::uint32_t> index;
  std::vector<device_rec> recs;
  std::size_t start_cursor = 0;
  std::deque<std::uint32_t> queued;
  std::deque<std::uint32_t> start_queue;
  std::uint64_t outstanding = 0;
  std::deque<sweep> sweeps;
  // Target resolution.
  bool resolving = false;
  bool resolved_here = false;
  std::vector<std::string> to_assign;
  std::size_t assign_cursor = 0;
  std::uint64_t assigns_out = 0;
  log_position assign_last;
  // A task command in flight (at most one), and the position its events end at.
  bool task_cmd_out = false;
  log_position task_cmd_until;
  // Per-device timers: instant (µs) -> target index.
  std::multimap<std::int64_t, std::uint32_t> retry_timers;
  std::multimap<std::int64_t, std::uint32_t> timeout_timers;

  bool has_device_work() const {
    return !sweeps.empty() || !start_queue.empty() || assign_cursor < to_assign.size();
  }
  std::uint32_t add_target(const std::string& device) {
    auto [it, fresh] = index.try_emplace(device, static_cast<std::uint32_t>(targets.size()));
    if (fresh) {
      targets.push_back(device);
      recs.emplace_back();
    }
    return it->second;
  }
};

struct device_index {
  absl::flat_hash_map<std::string, std::uint32_t> ids;
  std::vector<domain::device_facts> facts;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_product;

  domain::device_facts& at(const std::string& id) {
    auto [it, fresh] = ids.try_emplace(id, static_cast<std::uint32_t>(facts.size()));
    if (fresh) {
      facts.emplace_back();
      facts.back().id = id;
    }
    return facts[it->second];
  }
};

struct coordinator_data {
  coordinator_config cfg;
  std::map<std::string, task_run, std::less<>> tasks;
  std::unordered_map<std::string, domain::group_state> groups;
  device_index devices;
  log_position folded;
  bool catching_up = true;
  std::size_t in_flight = 0;
  std::optional<std::int64_t> armed; ///< the instant a tick is scheduled for
  std::vector<std::pair<log_position, caf::response_promise>> waiters;
  std::vector<std::tuple<log_position, std::string, std::uint32_t>> clears;
  std::unordered_set<std::string> changed_devices; ///< for dynamic targets
  std::uint64_t issued = 0;
};

execution_phase phase_after(const events::event& ev, execution_phase current) {
  return std::visit(
      [&](const auto& e) -> execution_phase {
        using T = std::decay_t<decltype(e)>;
        using namespace events;
        if constexpr (std::is_same_v<T, execution_assigned>)
          return execution_phase::pending;
        else if constexpr (std::is_same_v<T, execution_deferred>)
          return execution_phase::deferred;
        else if constexpr (std::is_same_v<T, execution_deferral_ended>)
          return execution_phase::queued;
        else if constexpr (std::is_same_v<T, execution_notified>)
          return execution_phase::notified;
        else if constexpr (std::is_same_v<T, execution_downloading>)
          return execution_phase::downloading;
        else if constexpr (std::is_same_v<T, execution_downloaded>)
          return execution_phase::downloaded;
        else if constexpr (std::is_same_v<T, execution_installing>)
          return execution_phase::installing;
        else if constexpr (std::is_same_v<T, execution_succeeded>)
          return execution_phase::succeeded;
        else if constexpr (std::is_same_v<T, execution_failed>)
          return e.retry_at ? execution_phase::retry_wait : execution_phase::failed;
        else if constexpr (std::is_same_v<T, execution_canceled>)
          return execution_phase::canceled;
        else if constexpr (std::is_same_v<T, execution_retried>)
          return execution_phase::queued;
        else if constexpr (std::is_same_v<T, execution_retry_dropped>)
          return execution_phase::failed;
        else
          return current;
      },
      ev);
}

class coordinator {
public:
  coordinator(caf::event_based_actor* self, coordinator_config cfg) : self_{self} {
    d_.cfg = std::move(cfg);
    d_.catching_up = d_.cfg.catch_up_to() > 0;
  }

  void on_batch(log_batch& b) {
    for (auto& f : *b.events)
      fold(f);
    if (b.last > d_.folded) d_.folded = b.last;
    d_.cfg.gate->release();
    if (d_.catching_up && d_.folded() >= d_.cfg.catch_up_to()) finish_catch_up();
    if (!d_.catching_up) {
      apply_clears();
      dynamic_targets();
      act_all();
    }
    check_waiters();
  }

  void on_tick() {
    d_.armed.reset();
    if (!d_.catching_up) act_all();
    check_waiters();
  }

  void settle(log_position p, caf::response_promise rp) {
    d_.waiters.emplace_back(p, std::move(rp));
    check_waiters();
  }

  std::vector<std::uint64_t> stats() const { return {d_.folded(), d_.in_flight, d_.issued}; }

private:
  // ---- folding -------------------------------------------------------------

  void fold(folded_event& f) {
    d_.folded = f.position;
    const auto& ev = f.event;
    if (auto task = domain::task_of(ev)) {
      fold_execution(f, *task);
      return;
    }
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          using namespace events;
          if constexpr (std::is_same_v<T, device_registered>) {
            auto& x = d_.devices.at(e.device);
            x.product = e.product;
            x.mac = e.mac;
            x.region = e.region;
            x.fota_version = e.fota_version;
            x.sota_version = e.sota_version;
            d_.devices.by_product[e.product].push_back(d_.devices.ids[e.device]);
            d_.changed_devices.insert(e.device);
          } else if constexpr (std::is_same_v<T, device_edited>) {
            auto& x = d_.devices.at(e.device);
            x.mac = e.mac;
            x.region = e.region;
            d_.changed_devices.insert(e.device);
          } else if constexpr (std::is_same_v<T, device_version_changed>) {
            auto& x = d_.devices.at(e.device);
            (e.kind == firmware_kind::fota ? x.fota_version : x.sota_version) = e.version;
            d_.changed_devices.insert(e.device);
          } else if constexpr (requires { e.group; }) {
            if (T::type_name.substr(0, 6) == "group.") {
              auto& g = d_.groups[e.group];
              g = domain::evolve(std::move(g), ev);
              if constexpr (std::is_same_v<T, group_devices_added>)
                for (const auto& id : e.devices)
                  d_.changed_devices.insert(id);
            }
          } else if constexpr (requires { e.task; }) {
            if (T::type_name.substr(0, 5) == "task.") fold_task(f, e.task);
          }
        },
        ev);
  }

  void fold_task(folded_event& f, const std::string& id) {
    auto& t = d_.tasks[id];
    auto before = t.task.status;
    t.task = domain::evolve(std::move(t.task), f.event);
    t.correlation = f.correlation;
    if (t.task.exists) t.terms = domain::execution_terms_for(t.task);
    if (d_.catching_up) return;
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          using namespace events;
          if constexpr (std::is_same_v<T, task_paused>) {
            drop_starts(t);
            add_sweep(t, work_kind::hold, f.correlation,
                      [](const device_rec& r) { return !final_phase(r.phase); });
          } else if constexpr (std::is_same_v<T, task_resumed>) {
            add_sweep(t, work_kind::release, f.correlation,
                      [](const device_rec& r) { return !final_phase(r.phase); });
          } else if constexpr (std::is_same_v<T, task_canceled>) {
            drop_starts(t);
            add_sweep(t, work_kind::cancel, f.correlation,
                      [](const device_rec& r) { return !final_phase(r.phase); });
          } else if constexpr (std::is_same_v<T, task_deadline_reached>) {
            drop_starts(t);
            add_sweep(t, work_kind::expire, f.correlation,
                      [](const device_rec& r) { return !final_phase(r.phase); });
          } else if constexpr (std::is_same_v<T, task_install_released>) {
            add_sweep(t, work_kind::install, f.correlation,
                      [](const device_rec& r) { return !final_phase(r.phase); });
          } else if constexpr (std::is_same_v<T, task_retry_failed_requested>) {
            add_sweep(t, work_kind::requeue, f.correlation,
                      [](const device_rec& r) { return r.phase == execution_phase::failed; });
          } else if constexpr (std::is_same_v<T, task_completed> ||
                               std::is_same_v<T, task_deleted>) {
            release_memory(t);
          }
        },
        f.event);
    (void)before;
  }

  void fold_execution(folded_event& f, std::string_view task_id) {
    auto it = d_.tasks.find(task_id);
    if (it == d_.tasks.end()) it = d_.tasks.emplace(std::string{task_id}, task_run{}).first;
    auto& t = it->second;
    t.counters.apply(f.event);
    static const std::string no_device;
    const std::string& device = std::visit(
        [](const auto& e) -> const std::string& {
          if constexpr (requires { e.device; })
            return e.device;
          else
            return no_device;
        },
        f.event);
    auto idx = t.add_target(device);
    auto& rec = t.recs[idx];
    auto before = rec.phase;
    rec.phase = phase_after(f.event, rec.phase);
    if (rec.start_out && rec.phase != execution_phase::pending &&
        rec.phase != execution_phase::queued) {
      rec.start_out = false;
      if (t.outstanding) --t.outstanding;
    }
    if (rec.phase == execution_phase::queued && before != execution_phase::queued)
      t.queued.push_back(idx);
    if (rec.phase == execution_phase::retry_wait && before != execution_phase::retry_wait) {
      if (const auto* failed = std::get_if<events::execution_failed>(&f.event);
          failed && failed->retry_at)
        t.retry_timers.emplace(failed->retry_at->micros, idx);
    }
    if (in_progress(rec.phase) && t.task.exists) {
      auto timeout = t.task.settings.timeout_minutes;
      if (timeout > 0)
        t.timeout_timers.emplace(f.time.micros + static_cast<std::int64_t>(timeout) * 60'000'000,
                                 idx);
    }
  }

  template <class Pred>
  void add_sweep(task_run& t, work_kind kind, const std::string& correlation, Pred pred) {
    sweep s{kind, correlation, {}, 0};
    for (std::uint32_t i = 0; i < t.recs.size(); ++i)
      if (pred(t.recs[i])) s.targets.push_back(i);
    if (!s.targets.empty()) t.sweeps.push_back(std::move(s));
  }

  void drop_starts(task_run& t) {
    for (auto i : t.start_queue) {
      if (t.recs[i].start_out) {
        t.recs[i].start_out = false;
        if (t.outstanding) --t.outstanding;
      }
    }
    t.start_queue.clear();
  }

  void release_memory(task_run& t) {
    if (t.has_device_work() || t.assigns_out) return;
    t.targets = {};
    t.index = {};
    t.recs = {};
    t.queued = {};
    t.retry_timers = {};
    t.timeout_timers = {};
    t.to_assign = {};
  }

  void finish_catch_up() {
    d_.catching_up = false;
    d_.changed_devices.clear();
    // Re-derive what may have been cut short by a crash: every sweep is idempotent.
    for (auto& [id, t] : d_.tasks) {
      using domain::task_status;
      auto not_final = [](const device_rec& r) { return !final_phase(r.phase); };
      if (t.task.status == task_status::paused) {
        add_sweep(t, work_kind::hold, t.correlation, not_final);
      } else if (t.task.status == task_status::stopped) {
        add_sweep(t,
                  t.task.stopped_by == domain::stop_reason::deadline ? work_kind::expire
                                                                     : work_kind::cancel,
                  t.correlation, not_final);
      } else if (t.task.status == task_status::upgrading) {
        add_sweep(t, work_kind::release, t.correlation,
                  [](const device_rec& r) { return in_progress(r.phase); });
      }
      if (t.task.install_released &&
          (t.task.status == task_status::upgrading || t.task.status == task_status::paused))
        add_sweep(t, work_kind::install, t.correlation, not_final);
      if (t.task.status == task_status::completed || t.task.status == task_status::deleted ||
          (t.task.status == task_status::stopped && t.sweeps.empty()))
        release_memory(t);
    }
  }

  void apply_clears() {
    auto it = std::remove_if(d_.clears.begin(), d_.clears.end(), [&](auto& c) {
      auto& [pos, task, idx] = c;
      if (pos > d_.folded) return false;
      auto t = d_.tasks.find(task);
      if (t != d_.tasks.end() && idx < t->second.recs.size() && t->second.recs[idx].start_out) {
        t->second.recs[idx].start_out = false;
        if (t->second.outstanding) --t->second.outstanding;
      }
      return true;
    });
    d_.clears.erase(it, d_.clears.end());
  }

  // ---- targets ----------------------------------------------------------------

  bool matches(const domain::task_state& task, domain::device_facts& facts) {
    facts.groups.clear();
    for (const auto& g : task.settings.targets.groups) {
      auto it = d_.groups.find(g);
      if (it != d_.groups.end() && it->second.members.count(facts.id)) facts.groups.push_back(g);
    }
    bool m = domain::matches_targets(task, facts);
    facts.groups.clear();
    return m;
  }

  void resolve_targets(task_run& t) {
    t.resolving = true;
    t.resolved_here = true;
    t.to_assign.clear();
    t.assign_cursor = 0;
    auto it = d_.devices.by_product.find(t.task.settings.product);
    if (it != d_.devices.by_product.end()) {
      for (auto i : it->second) {
        auto& facts = d_.devices.facts[i];
        if (t.index.count(facts.id)) continue;
        if (matches(t.task, facts)) t.to_assign.push_back(facts.id);
      }
    }
  }

  void dynamic_targets() {
    if (d_.changed_devices.empty()) return;
    for (auto& [id, t] : d_.tasks) {
      using domain::task_status;
      if (!t.resolved_here || !domain::accepts_new_targets(t.task)) continue;
      if (t.task.status != task_status::upgrading && t.task.status != task_status::paused) continue;
      for (const auto& dev : d_.changed_devices) {
        if (t.index.count(dev)) continue;
        auto di = d_.devices.ids.find(dev);
        if (di == d_.devices.ids.end()) continue;
        auto& facts = d_.devices.facts[di->second];
        if (facts.product == t.task.settings.product && matches(t.task, facts))
          t.to_assign.push_back(dev);
      }
    }
    d_.changed_devices.clear();
  }

  // ---- planning ---------------------------------------------------------------

  void act_all() {
    auto now = d_.cfg.svc->clock->now();
    std::optional<std::int64_t> next;
    for (auto& [id, t] : d_.tasks)
      act(t, now, next);
    pump();
    arm(next, now);
  }

  void act(task_run& t, base::timestamp now, std::optional<std::int64_t>& next) {
    using domain::task_status;
    if (!t.task.exists) return;
    auto status = t.task.status;
    bool running = status == task_status::upgrading || status == task_status::paused;
    if (running && !t.resolved_here && !t.task.targets_total) resolve_targets(t);
    if (running && !t.resolved_here && t.task.targets_total) t.resolved_here = true;
    if (t.resolving && t.assign_cursor >= t.to_assign.size() && t.assigns_out == 0 &&
        d_.folded >= t.assign_last && !t.task_cmd_out) {
      t.resolving = false;
      t.to_assign = {};
      t.assign_cursor = 0;
      if (!domain::accepts_new_targets(t.task) && running)
        task_command(t, domain::record_task_targets{t.task.id, t.targets.size()},
                     "system:coordinator");
    }
    if (!running && status != task_status::not_started) return;

    // Per-device timers.
    fire_timers(t, now);
    domain::rollout_timers timers;
    if (!t.retry_timers.empty())
      timers.next_retry_at = base::timestamp{t.retry_timers.begin()->first};
    if (!t.timeout_timers.empty())
      timers.next_timeout_at = base::timestamp{t.timeout_timers.begin()->first};

    auto plan = domain::plan_rollout(t.task, t.counters, timers, t.outstanding, now);
    if (plan.next_check)
      next = next ? std::min(*next, plan.next_check->micros) : plan.next_check->micros;
    if (t.task_cmd_out || d_.folded < t.task_cmd_until) return;
    if (plan.start_due) {
      task_command(t, domain::start_task_on_schedule{t.task.id}, "system:timer");
      return;
    }
    if (plan.deadline_due) {
      task_command(t, domain::reach_task_deadline{t.task.id}, "system:timer");
      return;
    }
    if (plan.complete) {
      if (t.resolving || t.has_device_work()) return;
      const auto& c = t.counters;
      task_command(t,
                   domain::complete_task{t.task.id, c.total, c.phase(execution_phase::succeeded),
                                         c.phase(execution_phase::failed),
                                         c.phase(execution_phase::canceled)},
                   "system:coordinator");
      return;
    }
    if (plan.pause_for_errors) {
      task_command(t, domain::pause_task_on_errors{t.task.id, plan.failures, plan.finished},
                   "system:coordinator");
      return;
    }
    if (plan.advance_to_wave) {
      task_command(t, domain::advance_task_wave{t.task.id, plan.advance_to_wave, false},
                   "system:coordinator");
      return;
    }
    queue_starts(t, plan.start_queued, plan.start_pending);
  }

  void queue_starts(task_run& t, std::uint64_t queued, std::uint64_t pending) {
    while (queued > 0 && !t.queued.empty()) {
      auto i = t.queued.front();
      t.queued.pop_front();
      auto& r = t.recs[i];
      if (r.phase != execution_phase::queued || r.start_out) continue;
      r.start_out = true;
      ++t.outstanding;
      t.start_queue.push_back(i);
      --queued;
    }
    while (pending > 0 && t.start_cursor < t.recs.size()) {
      auto i = static_cast<std::uint32_t>(t.start_cursor);
      auto& r = t.recs[i];
      if (r.phase != execution_phase::pending) {
        ++t.start_cursor;
        continue;
      }
      if (r.start_out) {
        ++t.start_cursor;
        continue;
      }
      r.start_out = true;
      ++t.outstanding;
      t.start_queue.push_back(i);
      ++t.start_cursor;
      --pending;
    }
  }

  void fire_timers(task_run& t, base::timestamp now) {
    auto fire = [&](std::multimap<std::int64_t, std::uint32_t>& timers, work_kind kind, auto pred) {
      sweep s{kind, t.correlation, {}, 0};
      while (!timers.empty() && timers.begin()->first <= now.micros) {
        auto i = timers.begin()->second;
        timers.erase(timers.begin());
        if (i < t.recs.size() && pred(t.recs[i].phase)) s.targets.push_back(i);
      }
      if (!s.targets.empty()) t.sweeps.push_back(std::move(s));
    };
    fire(t.retry_timers, work_kind::retry,
         [](execution_phase p) { return p == execution_phase::retry_wait; });
    fire(t.timeout_timers, work_kind::timeout, [](execution_phase p) { return in_progress(p); });
  }

  void arm(std::optional<std::int64_t> next, base::timestamp now) {
    if (!next || !d_.cfg.system_clock) return;
    if (d_.armed && *d_.armed <= *next) return;
    d_.armed = *next;
    auto delay = std::max<std::int64_t>(0, *next - now.micros) + 1000;
    self_->delayed_send(self_, std::chrono::microseconds{delay}, tick_atom::value);
  }

  // ---- issuing ----------------------------------------------------------------

  events::event_meta meta(std::string principal, const std::string& correlation) {
    events::event_meta m;
    m.principal = std::move(principal);
    m.correlation = correlation;
    return m;
  }

  template <class Cmd> void task_command(task_run& t, Cmd cmd, const char* principal) {
    t.task_cmd_out = true;
    ++d_.in_flight;
    ++d_.issued;
    auto id = t.task.id;
    self_
        ->request(d_.cfg.catalog, caf::infinite,
                  catalog_cmd{domain::command{std::move(cmd)}, meta(principal, t.correlation)})
        .then(
            [this, id](command_outcome& o) {
              --d_.in_flight;
              auto& t = d_.tasks[id];
              t.task_cmd_out = false;
              if (o.ok() && !o.events.empty()) t.task_cmd_until = o.last;
              after_reply();
            },
            [this, id](caf::error&) {
              --d_.in_flight;
              d_.tasks[id].task_cmd_out = false;
              after_reply();
            });
  }

  void device_command(const std::string& task_id, std::uint32_t idx, domain::device_command cmd,
                      work_kind kind, const std::string& correlation, const char* principal) {
    ++d_.in_flight;
    ++d_.issued;
    auto stream = "device-" + std::visit([](const auto& c) { return c.device; }, cmd);
    const auto& dir = directory_for(d_.cfg.device_directories, stream);
    // The host calls this on its own thread; it mails the answer back (see
    // device_reply). A command dropped unanswered (the system stopping)
    // answers "closed" from reply_once's destructor.
    auto reply = std::make_shared<reply_once>(
        [coord = self_->address(), task_id, idx, kind](command_outcome o) {
          if (auto c = caf::actor_cast<caf::actor>(coord))
            caf::anon_send(c, device_reply{task_id, idx, kind, std::move(o)});
        });
    self_->send(dir, command_msg<device_agg>{std::move(stream), std::move(cmd),
                                             meta(principal, correlation), std::move(reply)});
  }

public:
  void on_reply(device_reply& r) {
    --d_.in_flight;
    on_device_reply(r.task, r.target, r.kind, r.outcome);
    after_reply();
  }

private:
  void on_device_reply(const std::string& task_id, std::uint32_t idx, work_kind kind,
                       const command_outcome& o) {
    auto it = d_.tasks.find(task_id);
    if (it == d_.tasks.end()) return;
    auto& t = it->second;
    if (kind == work_kind::assign) {
      --t.assigns_out;
      if (o.ok() && !o.events.empty() && o.last > t.assign_last) t.assign_last = o.last;
      return;
    }
    if (kind == work_kind::start && idx < t.recs.size() && t.recs[idx].start_out) {
      if (!o.ok() || o.events.empty() || o.last <= d_.folded) {
        t.recs[idx].start_out = false;
        if (t.outstanding) --t.outstanding;
        // Still pending (the start changed nothing): let the cursor find it again.
        if (t.recs[idx].phase == execution_phase::pending)
          t.start_cursor = std::min<std::size_t>(t.start_cursor, idx);
      } else {
        d_.clears.emplace_back(o.last, task_id, idx);
      }
    }
  }

  void after_reply() {
    if (d_.in_flight < d_.cfg.window / 2 || d_.in_flight == 0) {
      if (!d_.catching_up) act_all();
    }
    check_waiters();
  }

  void pump() {
    bool progress = true;
    while (d_.in_flight < d_.cfg.window && progress) {
      progress = false;
      for (auto& [id, t] : d_.tasks) {
        if (d_.in_flight >= d_.cfg.window) break;
        progress = issue_one_batch(id, t, 256) || progress;
      }
    }
  }

  /// Issues up to `n` commands of one task; whether it issued any.
  bool issue_one_batch(const std::string& id, task_run& t, std::size_t n) {
    bool any = false;
    while (n > 0 && d_.in_flight < d_.cfg.window) {
      if (!t.sweeps.empty()) {
        auto& s = t.sweeps.front();
        if (s.cursor >= s.targets.size()) {
          t.sweeps.pop_front();
          continue;
        }
        auto i = s.targets[s.cursor++];
        const auto& dev = t.targets[i];
        issue_sweep(id, i, dev, s.kind, s.correlation);
      } else if (!t.start_queue.empty()) {
        // Starts before further assignments: devices assigned first get going
        // while the rest are assigned (a pipeline, not two passes).
        auto i = t.start_queue.front();
        t.start_queue.pop_front();
        device_command(id, i, domain::start_execution{t.targets[i], id}, work_kind::start,
                       t.correlation, "system:coordinator");
      } else if (t.assign_cursor < t.to_assign.size()) {
        const auto& dev = t.to_assign[t.assign_cursor++];
        if (t.index.count(dev)) continue;
        ++t.assigns_out;
        device_command(id, 0, domain::assign_execution{dev, id, t.terms}, work_kind::assign,
                       t.correlation, "system:coordinator");
      } else {
        break;
      }
      any = true;
      --n;
    }
    return any;
  }

  void issue_sweep(const std::string& task, std::uint32_t i, const std::string& dev, work_kind kind,
                   const std::string& correlation) {
    switch (kind) {
    case work_kind::hold:
      return device_command(task, i, domain::hold_execution{dev, task}, kind, correlation,
                            "system:coordinator");
    case work_kind::release:
      return device_command(task, i, domain::release_execution{dev, task}, kind, correlation,
                            "system:coordinator");
    case work_kind::cancel:
      return device_command(task, i, domain::cancel_execution{dev, task}, kind, correlation,
                            "system:coordinator");
    case work_kind::expire:
      return device_command(task, i, domain::expire_execution{dev, task}, kind, correlation,
                            "system:coordinator");
    case work_kind::install:
      return device_command(task, i, domain::release_execution_install{dev, task}, kind,
                            correlation, "system:coordinator");
    case work_kind::requeue:
      return device_command(task, i, domain::requeue_execution{dev, task}, kind, correlation,
                            "system:coordinator");
    case work_kind::retry:
      return device_command(task, i, domain::retry_execution{dev, task}, kind, correlation,
                            "system:timer");
    case work_kind::timeout:
      return device_command(task, i, domain::check_execution_timeout{dev, task}, kind, correlation,
                            "system:timer");
    case work_kind::assign:
    case work_kind::start:
      break;
    }
  }

  void check_waiters() {
    if (d_.waiters.empty()) return;
    bool idle = !d_.catching_up && d_.in_flight == 0;
    if (idle)
      for (auto& [id, t] : d_.tasks)
        if (t.has_device_work()) idle = false;
    auto it = std::remove_if(d_.waiters.begin(), d_.waiters.end(), [&](auto& w) {
      if (!idle || d_.folded < w.first) return false;
      w.second.deliver(true);
      return true;
    });
    d_.waiters.erase(it, d_.waiters.end());
  }

  caf::event_based_actor* self_;
  coordinator_data d_;
};

} // namespace

caf::behavior coordinator_actor(caf::event_based_actor* self, coordinator_config cfg) {
  auto c = std::make_shared<coordinator>(self, std::move(cfg));
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& e) -> caf::error {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, "otaledger: the rollout coordinator failed: %s\n", x.what());
    } catch (...) {
      std::fprintf(stderr, "otaledger: the rollout coordinator failed\n");
    }
    return caf::exit_reason::unhandled_exception;
  });
  return {
      [c](log_batch& b) { c->on_batch(b); },
      [c](tick_atom) { c->on_tick(); },
      [c](device_reply& r) { c->on_reply(r); },
      [self, c](settle_atom, std::uint64_t position) {
        auto rp = self->make_response_promise();
        c->settle(log_position{position}, rp);
        return rp;
      },
      [c](stats_atom) { return c->stats(); },
  };
}

} // namespace otaledger::actors::internal
