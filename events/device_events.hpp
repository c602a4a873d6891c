// Events of the device aggregate (stream "device-<id>").
//
// A device stream holds the device's registration, the reports that change
// something the platform decides on (a version, online/offline, a signal or
// battery reading that crosses a running execution's threshold) and the
// device's executions of upgrade tasks (`execution.*`). Telemetry that changes
// nothing only refreshes the latest-state view and is never an event.
//
// Executions are kept compact because a 1,000,000-device rollout writes about
// six of them per device: they carry the task id and what the device needs,
// never the task's settings. Every event that moves an execution from one
// phase to another and could come from several phases names the phase it left
// (`from`), so a coordinator can keep per-task counters by folding these
// events without remembering each device (domain/rollout.hpp).
#pragma once

#include "events/firmware_events.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace otaledger::events {

/// Where a device is in one task (SPEC §2, "per-device execution").
enum class execution_phase : std::uint8_t {
  pending,     ///< assigned, never started (未升级)
  queued,      ///< waiting to be started again: a deferral ended or a retry is due
  deferred,    ///< started, but held back by a device condition (offline, signal, battery)
  notified,    ///< the upgrade instruction was issued
  downloading, ///< the device reported download progress
  downloaded,  ///< download finished and verified; install not begun
  installing,  ///< the device is installing
  succeeded,   ///< final: installed and reported the target version
  failed,      ///< final: failed with a code and a text
  retry_wait,  ///< failed; a retry is scheduled (not final)
  canceled,    ///< final: the task was canceled before the device installed
};

inline std::span<const std::string_view> enum_names(execution_phase) {
  static constexpr std::string_view names[] = {
      "pending",    "queued",    "deferred", "notified",   "downloading", "downloaded",
      "installing", "succeeded", "failed",   "retry_wait", "canceled"};
  return names;
}

/// True for succeeded, failed and canceled.
constexpr bool is_final(execution_phase p) {
  return p == execution_phase::succeeded || p == execution_phase::failed ||
         p == execution_phase::canceled;
}

/// Structured failure reasons. Devices report the download and install classes
/// (OneNET's 10x/20x step codes map onto them, see docs/events.md); the platform
/// sets the rest.
enum class failure_code : std::uint8_t {
  unknown,                        ///< the device gave no class
  out_of_space,                   ///< not enough storage for the package
  memory_overflow,                ///< out of memory while downloading or installing
  download_interrupted,           ///< the download broke off or timed out on the device
  checksum_mismatch,              ///< MD5/SHA-256 of the download did not match
  unsupported_package,            ///< the device cannot use this package
  install_failed,                 ///< the install (flash, apply) failed
  version_mismatch_after_install, ///< installed, but the reported version is not the target
  low_battery,                    ///< the device refused: battery too low
  low_signal,                     ///< the device refused: signal too weak
  rejected,                       ///< the device (or its user) declined the update
  version_mismatch,               ///< platform: the device does not run the initial version
  busy_in_task,                   ///< platform: the device is busy in another running task
  timed_out,                      ///< platform: in progress longer than the task's timeout
  deadline_passed,                ///< platform: the task's deadline passed first
};

inline std::span<const std::string_view> enum_names(failure_code) {
  static constexpr std::string_view names[] = {
      "unknown",           "out_of_space",
      "memory_overflow",   "download_interrupted",
      "checksum_mismatch", "unsupported_package",
      "install_failed",    "version_mismatch_after_install",
      "low_battery",       "low_signal",
      "rejected",          "version_mismatch",
      "busy_in_task",      "timed_out",
      "deadline_passed"};
  return names;
}

/// Why a started execution waits for the device.
enum class deferral_reason : std::uint8_t {
  offline,     ///< the device is offline; it continues when it comes online
  low_signal,  ///< last signal reading under the task's threshold
  low_battery, ///< last battery reading under the task's threshold
};

inline std::span<const std::string_view> enum_names(deferral_reason) {
  static constexpr std::string_view names[] = {"offline", "low_signal", "low_battery"};
  return names;
}

/// Where a device is installed (Gizwits region targeting).
struct region {
  std::string province; ///< e.g. "广东省"; empty: unknown
  std::string city;     ///< e.g. "广州市"; empty: unknown (in a filter: the whole province)
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("province", s.province);
    f("city", s.city);
  }
  bool operator==(const region&) const = default;
};

/// What a device needs to know about a task to execute it: copied once into
/// execution.assigned, so the device aggregate decides alone.
struct execution_terms {
  /// package id (the instruction's size and digests come from the package)
  std::string package;
  firmware_kind kind = firmware_kind::fota;
  /// delta: the version the device must run; empty: any (full package)
  std::string initial_version;
  /// success means the device reports exactly this version
  std::string target_version;
  std::uint32_t signal_min = 0;       ///< defer while the last signal reading is under it
  std::uint32_t battery_min = 0;      ///< defer while the last battery reading is under it
  std::uint32_t max_retries = 0;      ///< automatic retries after a retryable failure
  std::uint32_t retry_interval_s = 0; ///< seconds between a failure and its retry
  std::uint32_t timeout_s = 0;        ///< in-progress timeout in seconds; 0: none
  bool download_only = false;         ///< the install waits for the task's install release
  /// a firmware verification push: refused (not failed) when the device is busy
  bool verification = false;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("package", s.package);
    f("kind", s.kind);
    f("initial_version", s.initial_version);
    f("target_version", s.target_version);
    f("signal_min", s.signal_min);
    f("battery_min", s.battery_min);
    f("max_retries", s.max_retries);
    f("retry_interval_s", s.retry_interval_s);
    f("timeout_s", s.timeout_s);
    f("download_only", s.download_only);
    f("verification", s.verification);
  }
  bool operator==(const execution_terms&) const = default;
};

// ---------------------------------------------------------------------------
// Registration and reports

/// A device registered (by an operator, or by itself with a product credential).
struct device_registered {
  static constexpr std::string_view type_name = "device.registered";
  static constexpr std::uint16_t schema = 1;
  std::string device; ///< platform-unique device id
  std::string product;
  std::string name;
  std::string imei; ///< NB-IoT devices; may be empty
  std::string mac;  ///< canonical "aa:bb:cc:dd:ee:ff"; may be empty
  events::region region;
  std::string fota_version;     ///< module firmware version it runs; empty: unknown
  std::string sota_version;     ///< MCU software version it runs; empty: unknown
  bool self_registered = false; ///< registered by the device with the product secret
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("product", s.product);
    f("name", s.name);
    f("imei", s.imei);
    f("mac", s.mac);
    f("region", s.region);
    f("fota_version", s.fota_version);
    f("sota_version", s.sota_version);
    f("self_registered", s.self_registered);
    f("at", s.at);
  }
  bool operator==(const device_registered&) const = default;
};

/// An operator changed the device's descriptive fields.
struct device_edited {
  static constexpr std::string_view type_name = "device.edited";
  static constexpr std::uint16_t schema = 1;
  std::string device;
  std::string name;
  std::string imei;
  std::string mac;
  events::region region;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("name", s.name);
    f("imei", s.imei);
    f("mac", s.mac);
    f("region", s.region);
  }
  bool operator==(const device_edited&) const = default;
};

/// The device reported running another version of one kind.
struct device_version_changed {
  static constexpr std::string_view type_name = "device.version_changed";
  static constexpr std::uint16_t schema = 1;
  std::string device;
  firmware_kind kind = firmware_kind::fota;
  std::string version;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("kind", s.kind);
    f("version", s.version);
  }
  bool operator==(const device_version_changed&) const = default;
};

/// The device came online.
struct device_came_online {
  static constexpr std::string_view type_name = "device.came_online";
  static constexpr std::uint16_t schema = 1;
  std::string device;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("device", s.device); }
  bool operator==(const device_came_online&) const = default;
};

/// The device went offline.
struct device_went_offline {
  static constexpr std::string_view type_name = "device.went_offline";
  static constexpr std::uint16_t schema = 1;
  std::string device;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("device", s.device); }
  bool operator==(const device_went_offline&) const = default;
};

/// A signal or battery reading that matters to a decision was recorded: the
/// first reading, or one that crosses a threshold of an unfinished execution.
struct device_conditions_changed {
  static constexpr std::string_view type_name = "device.conditions_changed";
  static constexpr std::uint16_t schema = 1;
  std::string device;
  std::optional<std::uint32_t> signal;  ///< signal quality as reported; null: never reported
  std::optional<std::uint32_t> battery; ///< percent; null: never reported
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("signal", s.signal);
    f("battery", s.battery);
  }
  bool operator==(const device_conditions_changed&) const = default;
};

// ---------------------------------------------------------------------------
// Executions (the device's side of a task). `aggregate` names the stream kind
// because the type names start with "execution".

/// The device became a target of a task: pending.
struct execution_assigned {
  static constexpr std::string_view type_name = "execution.assigned";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_terms terms;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("terms", s.terms);
  }
  bool operator==(const execution_assigned&) const = default;
};

/// A start was held back by a device condition (or the reason changed).
struct execution_deferred {
  static constexpr std::string_view type_name = "execution.deferred";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::pending; ///< pending, queued or deferred
  deferral_reason reason = deferral_reason::offline;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
    f("reason", s.reason);
  }
  bool operator==(const execution_deferred&) const = default;
};

/// The condition that deferred the execution is good again: queued for a start.
struct execution_deferral_ended {
  static constexpr std::string_view type_name = "execution.deferral_ended";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
  }
  bool operator==(const execution_deferral_ended&) const = default;
};

/// The upgrade instruction was issued (pushed now, or handed out on the next poll).
struct execution_notified {
  static constexpr std::string_view type_name = "execution.notified";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::pending; ///< pending or queued
  std::uint32_t attempt = 1;                       ///< 1 for the first try
  base::timestamp at; ///< start of the in-progress clock and of the rate window
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
    f("attempt", s.attempt);
    f("at", s.at);
  }
  bool operator==(const execution_notified&) const = default;
};

/// Download progress: the first report, then one event per milestone crossed.
struct execution_downloading {
  static constexpr std::string_view type_name = "execution.downloading";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  /// notified (first report) or downloading (milestone)
  execution_phase from = execution_phase::notified;
  std::uint32_t percent = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
    f("percent", s.percent);
  }
  bool operator==(const execution_downloading&) const = default;
};

/// The download finished and was verified.
struct execution_downloaded {
  static constexpr std::string_view type_name = "execution.downloaded";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::downloading; ///< notified or downloading
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
  }
  bool operator==(const execution_downloaded&) const = default;
};

/// The device began installing (always from downloaded).
struct execution_installing {
  static constexpr std::string_view type_name = "execution.installing";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
  }
  bool operator==(const execution_installing&) const = default;
};

/// Final: the device reports the target version.
struct execution_succeeded {
  static constexpr std::string_view type_name = "execution.succeeded";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::installing;
  std::string version; ///< the version reported, equal to the target
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
    f("version", s.version);
  }
  bool operator==(const execution_succeeded&) const = default;
};

/// The execution failed: final, or waiting for a retry when retry_at is set.
struct execution_failed {
  static constexpr std::string_view type_name = "execution.failed";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::pending;
  failure_code code = failure_code::unknown;
  std::string text;                        ///< the status note, e.g. "busy in task 17"
  std::uint32_t attempt = 1;               ///< the attempt that failed
  std::optional<base::timestamp> retry_at; ///< set: a retry is scheduled (phase retry_wait)
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
    f("code", s.code);
    f("text", s.text);
    f("attempt", s.attempt);
    f("retry_at", s.retry_at);
  }
  bool operator==(const execution_failed&) const = default;
};

/// Final: the task was canceled before the device installed.
struct execution_canceled {
  static constexpr std::string_view type_name = "execution.canceled";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::pending;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
  }
  bool operator==(const execution_canceled&) const = default;
};

/// The task was canceled while the device was downloading: it finishes the
/// download and is then canceled without installing.
struct execution_cancel_requested {
  static constexpr std::string_view type_name = "execution.cancel_requested";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
  }
  bool operator==(const execution_cancel_requested&) const = default;
};

/// A failed execution was queued again (automatically per the retry policy, or
/// by the task's "retry failed" operation).
struct execution_retried {
  static constexpr std::string_view type_name = "execution.retried";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  execution_phase from = execution_phase::retry_wait; ///< retry_wait or failed
  std::uint32_t attempt = 2;                          ///< the attempt that now begins
  bool manual = false; ///< true: the "retry failed" operation (a fresh retry budget)
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("from", s.from);
    f("attempt", s.attempt);
    f("manual", s.manual);
  }
  bool operator==(const execution_retried&) const = default;
};

/// A scheduled retry was dropped (the task was canceled): the failure is final.
struct execution_retry_dropped {
  static constexpr std::string_view type_name = "execution.retry_dropped";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
  }
  bool operator==(const execution_retry_dropped&) const = default;
};

/// The task was paused: a download may finish, the install waits.
struct execution_held {
  static constexpr std::string_view type_name = "execution.held";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
  }
  bool operator==(const execution_held&) const = default;
};

/// The hold was lifted (the task was resumed); the in-progress clock restarts.
struct execution_released {
  static constexpr std::string_view type_name = "execution.released";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("at", s.at);
  }
  bool operator==(const execution_released&) const = default;
};

/// Download-only task: the operator released the install.
struct execution_install_released {
  static constexpr std::string_view type_name = "execution.install_released";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("at", s.at);
  }
  bool operator==(const execution_install_released&) const = default;
};

/// The device said something about its execution that changes nothing (a log
/// line while installing, an acknowledgement, a progress report behind what it
/// already reported): kept for the device's audit trail only.
struct execution_noted {
  static constexpr std::string_view type_name = "execution.noted";
  static constexpr std::uint16_t schema = 1;
  static constexpr std::string_view aggregate = "device";
  std::string device;
  std::string task;
  std::string text;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("text", s.text);
  }
  bool operator==(const execution_noted&) const = default;
};

} // namespace otaledger::events
