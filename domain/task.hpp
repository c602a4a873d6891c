// The upgrade task aggregate: state, the operation x state table, decide, evolve.
//
// States (SPEC §2): not_started, upgrading, paused, stopped, completed; a
// deleted task is a tombstone (it left the lists; every command is refused).
// The table `task_operation_allowed` is the single place that says which
// operation is allowed in which state; every refusal names the state:
// "cannot pause task 17: it is not_started". Stopped and completed tasks never
// run again.
//
// The task never counts devices: progress is a projection over the device
// streams, and the coordinator passes the counts it acted on (complete_task,
// pause_task_on_errors) so the task stream records them.
#pragma once

#include "domain/decide.hpp"
#include "domain/task_commands.hpp"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace otaledger::domain {

enum class task_status : std::uint8_t {
  not_started,
  upgrading,
  paused,
  stopped,
  completed,
  deleted
};

inline std::span<const std::string_view> enum_names(task_status) {
  static constexpr std::string_view names[] = {"not_started", "upgrading", "paused",
                                               "stopped",     "completed", "deleted"};
  return names;
}

/// Why a stopped task stopped.
enum class stop_reason : std::uint8_t { none, canceled, deadline };

inline std::span<const std::string_view> enum_names(stop_reason) {
  static constexpr std::string_view names[] = {"none", "canceled", "deadline"};
  return names;
}

/// The operations of SPEC's state table, plus the rollout's own.
enum class task_operation : std::uint8_t {
  edit,
  delete_task,
  start,
  scheduled_start,
  pause,
  resume,
  cancel,
  export_report,
  complete,
  deadline,
  record_targets,
  advance_wave,
  error_pause,
  release_install,
  retry_failed,
};

inline std::span<const std::string_view> enum_names(task_operation) {
  static constexpr std::string_view names[] = {
      "edit",           "delete",       "start",         "scheduled_start", "pause",
      "resume",         "cancel",       "export_report", "complete",        "deadline",
      "record_targets", "advance_wave", "error_pause",   "release_install", "retry_failed"};
  return names;
}

/// Whether `op` is allowed in `status` (deleted allows nothing). The table:
///
/// | operation       | not_started | upgrading | paused | stopped | completed |
/// |-----------------|:-:|:-:|:-:|:-:|:-:|
/// | edit            | x |   |   |   |   |
/// | delete          | x |   |   | x | x |
/// | start           | x |   | (resume) | | |
/// | scheduled start | x |   |   |   |   |
/// | pause           |   | x |   |   |   |
/// | resume          |   |   | x |   |   |
/// | cancel          |   | x | x |   |   |
/// | export report   | x |   | x | x | x |
/// | complete (auto) |   | x |   |   |   |
/// | deadline (auto) |   | x | x |   |   |
/// | record targets  |   | x | x |   |   |
/// | advance wave    |   | x | x |   |   |
/// | error pause     |   | x |   |   |   |
/// | release install |   | x | x |   |   |
/// | retry failed    |   | x | x |   |   |
bool task_operation_allowed(task_operation op, task_status status);

/// Every operation, for tests and docs.
inline constexpr std::array<task_operation, 15> all_task_operations = {
    task_operation::edit,           task_operation::delete_task,
    task_operation::start,          task_operation::scheduled_start,
    task_operation::pause,          task_operation::resume,
    task_operation::cancel,         task_operation::export_report,
    task_operation::complete,       task_operation::deadline,
    task_operation::record_targets, task_operation::advance_wave,
    task_operation::error_pause,    task_operation::release_install,
    task_operation::retry_failed};

struct task_state {
  std::string id;
  bool exists = false;
  task_status status = task_status::not_started;
  events::task_settings settings;
  events::package_summary package;
  base::timestamp created_at;
  std::optional<base::timestamp> started_at;
  std::optional<base::timestamp> resumed_at; ///< last resume
  std::optional<base::timestamp> stopped_at;
  stop_reason stopped_by = stop_reason::none;
  std::uint32_t wave = 0;                        ///< the open wave (0 is the first)
  std::optional<base::timestamp> wave_opened_at; ///< when the open wave opened (start or advance)
  bool install_released = false;
  std::uint32_t retry_rounds = 0;
  std::optional<std::uint64_t> targets_total; ///< from task.targets_resolved
  /// Counts recorded by the last error-threshold pause: the threshold judges
  /// only failures and finishes after them.
  std::uint64_t error_base_failures = 0;
  std::uint64_t error_base_finished = 0;
  std::optional<events::pause_cause> paused_by;
  bool operator==(const task_state&) const = default;
};

/// "not_started", ..., "deleted".
std::string_view status_name(const task_state& s);

/// Refusal of `op` on `s` unless the table allows it (also: does not exist).
decided<void> check_task_operation(const task_state& s, task_operation op);

/// The execution terms a device needs for this task (what the coordinator puts
/// into assign_execution).
events::execution_terms execution_terms_for(const task_state& s);

[[nodiscard]] decided<decision> decide(const task_state& s, const task_command& c,
                                       const decide_context& ctx);
[[nodiscard]] task_state evolve(task_state s, const events::event& e);

} // namespace otaledger::domain
