// Events of the upgrade task aggregate (stream "task-<id>").
//
// A task stream holds the task's settings and lifecycle only: created, edited,
// started, paused, resumed, canceled, deadline reached, completed, deleted,
// plus the rollout's own milestones (targets resolved, wave advanced, install
// released, retry of failed devices requested). It stays small for a
// 1,000,000-device task: what happens on each device is recorded in that
// device's stream (execution.*), and progress is a projection over those.
#pragma once

#include "events/device_events.hpp"
#include "events/firmware_events.hpp"
#include "events/package_events.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::events {

/// How a task divides its targets into waves (phased rollout).
enum class wave_mode : std::uint8_t {
  none,        ///< one wave: every target may start at once (subject to cap and rate)
  count,       ///< waves of `wave_size` devices
  percentage,  ///< waves of `wave_percent` percent of the targets
  exponential, ///< `wave_size` devices first; each next wave `wave_growth_percent` of the last
};

inline std::span<const std::string_view> enum_names(wave_mode) {
  static constexpr std::string_view names[] = {"none", "count", "percentage", "exponential"};
  return names;
}

/// What makes the start rate grow (AWS IoT Jobs' rateIncreaseCriteria).
enum class rate_basis : std::uint8_t {
  started,   ///< every `rate_growth_every` devices started
  succeeded, ///< every `rate_growth_every` devices succeeded
};

inline std::span<const std::string_view> enum_names(rate_basis) {
  static constexpr std::string_view names[] = {"started", "succeeded"};
  return names;
}

/// Who paused a task.
enum class pause_cause : std::uint8_t {
  operator_request, ///< an operator (or API client)
  error_threshold,  ///< the task itself: the failure rate passed the error threshold
};

inline std::span<const std::string_view> enum_names(pause_cause) {
  static constexpr std::string_view names[] = {"operator", "error_threshold"};
  return names;
}

/// Retry of failed devices: none (max_retries 0), or N more attempts.
struct retry_policy {
  std::uint32_t max_retries = 0;      ///< 0-10 automatic retries per device
  std::uint32_t interval_seconds = 0; ///< between a failure and its retry
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("max_retries", s.max_retries);
    f("interval_seconds", s.interval_seconds);
  }
  bool operator==(const retry_policy&) const = default;
};

/// A daily push window in UTC hours: [start_hour, end_hour), wrapping past
/// midnight when start_hour > end_hour (22 to 6). 0 to 24 is the whole day.
struct daily_window {
  std::uint32_t start_hour = 0; ///< 0-23
  std::uint32_t end_hour = 24;  ///< 1-24, different from start_hour
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("start_hour", s.start_hour);
    f("end_hour", s.end_hour);
  }
  bool operator==(const daily_window&) const = default;
};

/// Phased rollout, thresholds, concurrency cap and rate limit (hawkBit, AWS
/// IoT Jobs). All rates are integers so the planner's arithmetic is exact.
struct rollout_policy {
  wave_mode waves = wave_mode::none;
  /// count: devices per wave; exponential: the first wave
  std::uint32_t wave_size = 0;
  /// percentage: percent of the targets per wave (1-100)
  std::uint32_t wave_percent = 0;
  /// exponential: each wave is this percent of the previous one (101-1000)
  std::uint32_t wave_growth_percent = 200;
  /// share of the waves so far that must have succeeded before the next opens
  std::uint32_t success_threshold_percent = 100;
  /// a wave stays open at least this long before the next one (0-43200)
  std::uint32_t wave_soak_minutes = 0;
  /// pause when failures pass this share of finished devices; 0: off
  std::uint32_t error_threshold_percent = 0;
  /// finished devices needed before the error threshold applies
  std::uint32_t error_min_finished = 10;
  /// at most this many devices notified or downloading at once; 0: no cap
  std::uint32_t max_concurrent = 0;
  /// at most this many starts per minute; 0: no limit
  std::uint32_t rate_per_minute = 0;
  /// the rate grows to this percent of itself (100: constant) ...
  std::uint32_t rate_growth_percent = 100;
  /// ... each time this many more devices are `rate_growth_on`
  std::uint32_t rate_growth_every = 0;
  rate_basis rate_growth_on = rate_basis::succeeded;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("waves", s.waves);
    f("wave_size", s.wave_size);
    f("wave_percent", s.wave_percent);
    f("wave_growth_percent", s.wave_growth_percent);
    f("success_threshold_percent", s.success_threshold_percent);
    f("wave_soak_minutes", s.wave_soak_minutes);
    f("error_threshold_percent", s.error_threshold_percent);
    f("error_min_finished", s.error_min_finished);
    f("max_concurrent", s.max_concurrent);
    f("rate_per_minute", s.rate_per_minute);
    f("rate_growth_percent", s.rate_growth_percent);
    f("rate_growth_every", s.rate_growth_every);
    f("rate_growth_on", s.rate_growth_on);
  }
  bool operator==(const rollout_policy&) const = default;
};

/// Which devices a task targets. The candidates are the union of the listed
/// devices, the members of the listed groups, the devices in the listed
/// regions and the devices with the listed MACs (all devices of the task's
/// product when every list is empty and the task is dynamic), restricted to the
/// task's product and, when `versions` is not empty, to devices whose current
/// version of the package's kind is one of them.
struct target_spec {
  /// explicit device ids (at most limits::max_inline_target_devices)
  std::vector<std::string> devices;
  std::vector<std::string> groups;     ///< group ids
  std::vector<events::region> regions; ///< Gizwits: province, or province + city
  std::vector<std::string> macs;       ///< Gizwits: MAC list
  std::vector<std::string> versions;   ///< filter of current firmware versions; empty: any
  /// continuous rollout: devices that match later join while the task runs
  bool dynamic = false;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("devices", s.devices);
    f("groups", s.groups);
    f("regions", s.regions);
    f("macs", s.macs);
    f("versions", s.versions);
    f("dynamic", s.dynamic);
  }
  bool operator==(const target_spec&) const = default;
};

/// Every setting of a task (what "edit every field" replaces).
struct task_settings {
  std::string name;    ///< 1-100 characters
  std::string package; ///< package id
  std::string product; ///< product id
  target_spec targets;
  /// devices whose last signal reading is weaker are deferred
  std::uint32_t signal_threshold = 10;
  /// devices whose last battery reading (percent) is lower are deferred
  std::uint32_t battery_threshold = 50;
  retry_policy retry;
  /// scheduled start; none: the operator's "start"
  std::optional<base::timestamp> start_at;
  /// unfinished devices fail "deadline passed" then, and the task stops
  std::optional<base::timestamp> deadline;
  std::optional<base::timestamp> push_from;  ///< push period start (Gizwits 推送周期)
  std::optional<base::timestamp> push_until; ///< push period end
  std::optional<daily_window> window;        ///< daily push window, UTC (Gizwits 推送时段)
  rollout_policy rollout;
  /// per-device in-progress timeout; 0: none (at most 10080, 7 days)
  std::uint32_t timeout_minutes = 0;
  /// devices download; the install waits for release_task_install
  bool download_only = false;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("name", s.name);
    f("package", s.package);
    f("product", s.product);
    f("targets", s.targets);
    f("signal_threshold", s.signal_threshold);
    f("battery_threshold", s.battery_threshold);
    f("retry", s.retry);
    f("start_at", s.start_at);
    f("deadline", s.deadline);
    f("push_from", s.push_from);
    f("push_until", s.push_until);
    f("window", s.window);
    f("rollout", s.rollout);
    f("timeout_minutes", s.timeout_minutes);
    f("download_only", s.download_only);
  }
  bool operator==(const task_settings&) const = default;
};

/// The package as the task saw it when created or edited (so the task stream
/// alone says what devices get, and the coordinator needs no catalog lookup).
struct package_summary {
  std::string firmware; ///< target firmware id
  firmware_kind kind = firmware_kind::fota;
  package_type type = package_type::full;
  std::string vendor;
  std::string model;
  std::string initial_version; ///< empty for a full package
  std::string target_version;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("kind", s.kind);
    f("type", s.type);
    f("vendor", s.vendor);
    f("model", s.model);
    f("initial_version", s.initial_version);
    f("target_version", s.target_version);
  }
  bool operator==(const package_summary&) const = default;
};

/// A task was created: not_started.
struct task_created {
  static constexpr std::string_view type_name = "task.created";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  task_settings settings;
  package_summary package_info;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("settings", s.settings);
    f("package_info", s.package_info);
    f("at", s.at);
  }
  bool operator==(const task_created&) const = default;
};

/// Every setting was replaced (only while not_started).
struct task_edited {
  static constexpr std::string_view type_name = "task.edited";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  task_settings settings;
  package_summary package_info;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("settings", s.settings);
    f("package_info", s.package_info);
  }
  bool operator==(const task_edited&) const = default;
};

/// The task left the lists (not_started, stopped or completed); history stays.
struct task_deleted {
  static constexpr std::string_view type_name = "task.deleted";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("task", s.task); }
  bool operator==(const task_deleted&) const = default;
};

/// not_started -> upgrading, by the operator or because the start time arrived.
struct task_started {
  static constexpr std::string_view type_name = "task.started";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  bool scheduled = false; ///< true: the scheduled start time arrived
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("scheduled", s.scheduled);
    f("at", s.at);
  }
  bool operator==(const task_started&) const = default;
};

/// upgrading -> paused. An error-threshold pause records the counts it saw, so
/// after a resume the threshold judges only what finishes later.
struct task_paused {
  static constexpr std::string_view type_name = "task.paused";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  pause_cause cause = pause_cause::operator_request;
  std::uint64_t failures = 0; ///< error_threshold: failed devices counted
  std::uint64_t finished = 0; ///< error_threshold: finished devices counted
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("cause", s.cause);
    f("failures", s.failures);
    f("finished", s.finished);
    f("at", s.at);
  }
  bool operator==(const task_paused&) const = default;
};

/// paused -> upgrading: continues where it stopped.
struct task_resumed {
  static constexpr std::string_view type_name = "task.resumed";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("at", s.at);
  }
  bool operator==(const task_resumed&) const = default;
};

/// upgrading or paused -> stopped by the operator.
struct task_canceled {
  static constexpr std::string_view type_name = "task.canceled";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("at", s.at);
  }
  bool operator==(const task_canceled&) const = default;
};

/// upgrading or paused -> stopped, reason "deadline".
struct task_deadline_reached {
  static constexpr std::string_view type_name = "task.deadline_reached";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("at", s.at);
  }
  bool operator==(const task_deadline_reached&) const = default;
};

/// upgrading -> completed: every target device is final.
struct task_completed {
  static constexpr std::string_view type_name = "task.completed";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  std::uint64_t total = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t canceled = 0;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("total", s.total);
    f("succeeded", s.succeeded);
    f("failed", s.failed);
    f("canceled", s.canceled);
    f("at", s.at);
  }
  bool operator==(const task_completed&) const = default;
};

/// The coordinator finished resolving the targets: this many were assigned
/// (percentage waves and completion use it; a dynamic task may grow later).
struct task_targets_resolved {
  static constexpr std::string_view type_name = "task.targets_resolved";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  std::uint64_t total = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("total", s.total);
  }
  bool operator==(const task_targets_resolved&) const = default;
};

/// The rollout moved to the next wave (success threshold met, or an operator).
struct task_wave_advanced {
  static constexpr std::string_view type_name = "task.wave_advanced";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  std::uint32_t wave = 1; ///< the wave now open (0 is the first)
  bool manual = false;    ///< true: an operator opened it
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("wave", s.wave);
    f("manual", s.manual);
    f("at", s.at);
  }
  bool operator==(const task_wave_advanced&) const = default;
};

/// Download-only task: the operator released the install.
struct task_install_released {
  static constexpr std::string_view type_name = "task.install_released";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("at", s.at);
  }
  bool operator==(const task_install_released&) const = default;
};

/// "Retry failed": every failed device of the task is to be queued again.
struct task_retry_failed_requested {
  static constexpr std::string_view type_name = "task.retry_failed_requested";
  static constexpr std::uint16_t schema = 1;
  std::string task;
  std::uint32_t round = 1; ///< how many times this was requested for the task
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("round", s.round);
    f("at", s.at);
  }
  bool operator==(const task_retry_failed_requested&) const = default;
};

} // namespace otaledger::events
