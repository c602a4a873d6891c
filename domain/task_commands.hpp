// Commands of the upgrade task aggregate (stream "task-<id>").
//
// Operators issue create/edit/delete/start/pause/resume/cancel/export,
// release_task_install, retry_failed_devices and (manually) advance_task_wave.
// The rollout coordinator and the durable timers issue the automatic ones:
// start_task_on_schedule, reach_task_deadline, complete_task,
// record_task_targets, advance_task_wave, pause_task_on_errors. Which command
// is allowed in which state is one table (domain/task.hpp, task_operation).
//
// Commands are reflectable (events/fields.hpp), so the JSON codec reads them:
// {"command": "pause_task", "data": {"task": "17"}} (domain/commands.hpp).
#pragma once

#include "events/task_events.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace otaledger::domain {

/// Create a task (not_started). Every setting is validated; the package, its
/// firmware (verified when the product requires it), the product and the
/// groups must exist in the catalog index.
struct create_task {
  static constexpr std::string_view command_name = "create_task";
  std::string task;
  events::task_settings settings;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("settings", s.settings);
  }
  bool operator==(const create_task&) const = default;
};

/// Replace every setting (not_started only).
struct edit_task {
  static constexpr std::string_view command_name = "edit_task";
  std::string task;
  events::task_settings settings;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("settings", s.settings);
  }
  bool operator==(const edit_task&) const = default;
};

#define OTALEDGER_TASK_ONLY_COMMAND(type, name)                                                    \
  struct type {                                                                                    \
    static constexpr std::string_view command_name = name;                                         \
    std::string task;                                                                              \
    template <class Self, class F> static void fields(Self& s, F&& f) { f("task", s.task); }       \
    bool operator==(const type&) const = default;                                                  \
  }

/// Delete (not_started, stopped, completed): the task leaves the lists.
OTALEDGER_TASK_ONLY_COMMAND(delete_task, "delete_task");
/// Start now (not_started); on a paused task this is "resume" (the console's button).
OTALEDGER_TASK_ONLY_COMMAND(start_task, "start_task");
/// Timer: the scheduled start time arrived (not_started, start_at <= now).
OTALEDGER_TASK_ONLY_COMMAND(start_task_on_schedule, "start_task_on_schedule");
/// Pause (upgrading).
OTALEDGER_TASK_ONLY_COMMAND(pause_task, "pause_task");
/// Resume (paused).
OTALEDGER_TASK_ONLY_COMMAND(resume_task, "resume_task");
/// Cancel (upgrading, paused) -> stopped.
OTALEDGER_TASK_ONLY_COMMAND(cancel_task, "cancel_task");
/// Guard of the device report export (every state but upgrading); appends nothing.
OTALEDGER_TASK_ONLY_COMMAND(export_task_report, "export_task_report");
/// Timer: the deadline arrived (upgrading, paused) -> stopped, reason "deadline".
OTALEDGER_TASK_ONLY_COMMAND(reach_task_deadline, "reach_task_deadline");
/// Download-only task: release the install (upgrading, paused).
OTALEDGER_TASK_ONLY_COMMAND(release_task_install, "release_task_install");
/// Re-queue every failed device (upgrading, paused).
OTALEDGER_TASK_ONLY_COMMAND(retry_failed_devices, "retry_failed_devices");

#undef OTALEDGER_TASK_ONLY_COMMAND

/// Coordinator: every target device is final (upgrading) -> completed.
struct complete_task {
  static constexpr std::string_view command_name = "complete_task";
  std::string task;
  std::uint64_t total = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t canceled = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("total", s.total);
    f("succeeded", s.succeeded);
    f("failed", s.failed);
    f("canceled", s.canceled);
  }
  bool operator==(const complete_task&) const = default;
};

/// Coordinator: target resolution finished with `total` devices assigned.
struct record_task_targets {
  static constexpr std::string_view command_name = "record_task_targets";
  std::string task;
  std::uint64_t total = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("total", s.total);
  }
  bool operator==(const record_task_targets&) const = default;
};

/// Open the next wave: the coordinator when the success threshold is met, or
/// an operator (manual). `wave`, when given, is the wave to open; a wave that
/// is already open makes the command an idempotent no-op.
struct advance_task_wave {
  static constexpr std::string_view command_name = "advance_task_wave";
  std::string task;
  std::optional<std::uint32_t> wave;
  bool manual = true;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("wave", s.wave);
    f("manual", s.manual);
  }
  bool operator==(const advance_task_wave&) const = default;
};

/// Coordinator: the failure rate passed the error threshold (upgrading) -> paused.
struct pause_task_on_errors {
  static constexpr std::string_view command_name = "pause_task_on_errors";
  std::string task;
  std::uint64_t failures = 0;
  std::uint64_t finished = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("failures", s.failures);
    f("finished", s.finished);
  }
  bool operator==(const pause_task_on_errors&) const = default;
};

using task_command =
    std::variant<create_task, edit_task, delete_task, start_task, start_task_on_schedule,
                 pause_task, resume_task, cancel_task, export_task_report, reach_task_deadline,
                 complete_task, record_task_targets, advance_task_wave, pause_task_on_errors,
                 release_task_install, retry_failed_devices>;

} // namespace otaledger::domain
