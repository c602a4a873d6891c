// The rollout coordinator: a process manager that folds the log (through a
// storage subscription) and tells aggregates what their tasks now allow.
//
// Per task it keeps domain::rollout_counters and a compact record per target
// device (phase, whether a command for it is in flight), asks
// domain::plan_rollout what to do, and issues idempotent commands:
//   task.started            -> resolve targets, assign_execution per target,
//                              then record_task_targets with the total
//   plan.start_*            -> start_execution (queued first, then pending in target order)
//   task.paused / resumed   -> hold_execution / release_execution to every unfinished device
//   task.canceled           -> cancel_execution; task.deadline_reached -> expire_execution
//   task.install_released   -> release_execution_install; retry_failed -> requeue_execution
//   plan.complete / pause_for_errors / advance_to_wave / start_due / deadline_due
//                           -> the task command
//   per-device timers       -> retry_execution at retry_at, check_execution_timeout
// Device commands carry the correlation id of the event that caused them.
//
// Timers are state: after a restart the coordinator folds the log from the
// start (catch-up), acts only once it reached the head it saw at start, and
// then re-derives everything (sweeps are idempotent, so a sweep cut short by
// the crash is simply done again). With a manual clock nothing fires until
// runtime::tick(); with the system clock a delayed message wakes it at the
// next instant the planner names.
#pragma once

#include "actors/host.hpp"

#include <caf/all.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>

namespace otaledger::actors::internal {

/// One event as the coordinator needs it (decoded on the subscription thread).
struct folded_event {
  log_position position;
  std::string correlation;
  base::timestamp time;
  events::event event;
};

struct log_batch {
  std::shared_ptr<std::vector<folded_event>> events;
  log_position last; ///< the last position of the batch (relevant or not)
};

/// What a coordinator command to a device does.
enum class work_kind : std::uint8_t {
  hold,
  release,
  cancel,
  expire,
  install,
  requeue,
  retry,
  timeout,
  assign,
  start,
};

/// A device host's answer to a coordinator command. The coordinator sends
/// its device commands with a reply callback that mails this back, instead
/// of request/then: CAF 0.17 keeps an actor's pending responses in a flat
/// vector searched and erased linearly, and with thousands of commands in
/// flight that was 5 % of a rollout's CPU.
struct device_reply {
  std::string task;
  std::uint32_t target = 0; ///< index into the task's targets
  work_kind kind = work_kind::hold;
  command_outcome outcome;
};

/// Bounds the batches in flight between the subscription thread and the
/// coordinator, so a slow coordinator slows the reader instead of filling memory.
class batch_gate {
public:
  explicit batch_gate(int limit) : limit_{limit} {}
  /// Waits until a batch may be sent; false when closed.
  bool acquire() {
    std::unique_lock lock{mtx_};
    cv_.wait(lock, [this] { return closed_ || in_flight_ < limit_; });
    if (closed_) return false;
    ++in_flight_;
    return true;
  }
  void release() {
    {
      std::lock_guard lock{mtx_};
      --in_flight_;
    }
    cv_.notify_all();
  }
  void close() {
    {
      std::lock_guard lock{mtx_};
      closed_ = true;
    }
    cv_.notify_all();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int limit_;
  int in_flight_ = 0;
  bool closed_ = false;
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;

struct coordinator_config {
  runtime_services* svc = nullptr;
  std::vector<caf::actor> device_directories;
  caf::actor catalog;
  batch_gate* gate = nullptr;
  log_position catch_up_to; ///< the head at start: act only after folding up to it
  std::size_t window = 8192;
  bool system_clock = true;
};

caf::behavior coordinator_actor(caf::event_based_actor* self, coordinator_config cfg);

/// The directory responsible for a device stream.
inline const caf::actor& directory_for(const std::vector<caf::actor>& dirs,
                                       std::string_view stream) {
  return dirs[std::hash<std::string_view>{}(stream) % dirs.size()];
}

} // namespace otaledger::actors::internal

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::internal::log_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::internal::device_reply)
