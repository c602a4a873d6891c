// Commands of the device aggregate (stream "device-<id>").
//
// Three sources: operators (register_device, edit_device), the device itself
// through the device channel (report_device_state, report_progress,
// report_result; principal "device:<id>", which may only name its own device),
// and the rollout coordinator and durable timers (the *_execution commands),
// which relay what the device's task now allows. Coordinator and timer
// commands are idempotent: a repeat, or one that finds nothing to do, appends
// nothing and is not refused.
#pragma once

#include "events/device_events.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace otaledger::domain {

/// Register a device (operator, or the device itself with its product's secret).
struct register_device {
  static constexpr std::string_view command_name = "register_device";
  std::string device;
  std::string product;
  std::string name; ///< empty: the id
  std::string imei; ///< optional, 15 digits
  std::string mac;  ///< optional; any of aa:bb:.., AA-BB-.., aabb..; stored canonical
  events::region region;
  std::string fota_version; ///< optional
  std::string sota_version; ///< optional
  bool self_registered = false;
  std::string secret_hash; ///< self-registration: SHA-256 (hex) of the presented product secret
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
    f("secret_hash", s.secret_hash);
  }
  bool operator==(const register_device&) const = default;
};

/// Change a device's name, IMEI, MAC or region.
struct edit_device {
  static constexpr std::string_view command_name = "edit_device";
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
  bool operator==(const edit_device&) const = default;
};

/// A device's report on contact (absent fields: not reported). Becomes events
/// only when it changes something the platform decides on.
struct report_device_state {
  static constexpr std::string_view command_name = "report_device_state";
  std::string device;
  std::optional<std::string> fota_version;
  std::optional<std::string> sota_version;
  std::optional<bool> online;
  std::optional<std::uint32_t> signal;
  std::optional<std::uint32_t> battery;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("fota_version", s.fota_version);
    f("sota_version", s.sota_version);
    f("online", s.online);
    f("signal", s.signal);
    f("battery", s.battery);
  }
  bool operator==(const report_device_state&) const = default;
};

/// Coordinator: the device becomes a target of a task (pending), unless it is
/// busy in another task, ineligible, or already at the target version.
struct assign_execution {
  static constexpr std::string_view command_name = "assign_execution";
  std::string device;
  std::string task;
  events::execution_terms terms;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("terms", s.terms);
  }
  bool operator==(const assign_execution&) const = default;
};

/// Device progress in a task: phase downloading (with percent), downloaded or installing.
struct report_progress {
  static constexpr std::string_view command_name = "report_progress";
  std::string device;
  std::string task;
  events::execution_phase phase = events::execution_phase::downloading;
  std::uint32_t percent = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("phase", s.phase);
    f("percent", s.percent);
  }
  bool operator==(const report_progress&) const = default;
};

/// A device's remark on its execution that changes nothing (a log line, an
/// acknowledgement): recorded as execution.noted for the audit trail.
struct note_execution {
  static constexpr std::string_view command_name = "note_execution";
  std::string device;
  std::string task;
  std::string text;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("text", s.text);
  }
  bool operator==(const note_execution&) const = default;
};

/// Device result in a task: succeeded with the version it now runs, or failed
/// with a code and a text.
struct report_result {
  static constexpr std::string_view command_name = "report_result";
  std::string device;
  std::string task;
  bool succeeded = false;
  std::string version; ///< required on success
  events::failure_code code = events::failure_code::unknown;
  std::string text;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
    f("succeeded", s.succeeded);
    f("version", s.version);
    f("code", s.code);
    f("text", s.text);
  }
  bool operator==(const report_result&) const = default;
};

#define OTALEDGER_EXECUTION_COMMAND(type, name)                                                    \
  struct type {                                                                                    \
    static constexpr std::string_view command_name = name;                                         \
    std::string device;                                                                            \
    std::string task;                                                                              \
    template <class Self, class F> static void fields(Self& s, F&& f) {                            \
      f("device", s.device);                                                                       \
      f("task", s.task);                                                                           \
    }                                                                                              \
    bool operator==(const type&) const = default;                                                  \
  }

/// Coordinator: the planner admitted the device: notify it, or defer it.
OTALEDGER_EXECUTION_COMMAND(start_execution, "start_execution");
/// Coordinator (task paused): a download may finish; the install waits.
OTALEDGER_EXECUTION_COMMAND(hold_execution, "hold_execution");
/// Coordinator (task resumed): lift the hold.
OTALEDGER_EXECUTION_COMMAND(release_execution, "release_execution");
/// Coordinator (download-only task released): the device may install.
OTALEDGER_EXECUTION_COMMAND(release_execution_install, "release_execution_install");
/// Coordinator (task canceled): per phase, cancel, finish the download without
/// installing, or let the install finish.
OTALEDGER_EXECUTION_COMMAND(cancel_execution, "cancel_execution");
/// Coordinator (task deadline reached): an unfinished execution fails "deadline passed".
OTALEDGER_EXECUTION_COMMAND(expire_execution, "expire_execution");
/// Timer: the retry time arrived; queue the execution again.
OTALEDGER_EXECUTION_COMMAND(retry_execution, "retry_execution");
/// Coordinator ("retry failed"): queue a failed execution again.
OTALEDGER_EXECUTION_COMMAND(requeue_execution, "requeue_execution");
/// Timer: fail the execution "timed out" if it is in progress past the timeout.
OTALEDGER_EXECUTION_COMMAND(check_execution_timeout, "check_execution_timeout");

#undef OTALEDGER_EXECUTION_COMMAND

using device_command =
    std::variant<register_device, edit_device, report_device_state, assign_execution,
                 start_execution, report_progress, report_result, note_execution, hold_execution,
                 release_execution, release_execution_install, cancel_execution, expire_execution,
                 retry_execution, requeue_execution, check_execution_timeout>;

} // namespace otaledger::domain
