// The device aggregate: registration, decision-relevant reports, and the
// device's executions of tasks.
//
// "One running task per device" is an invariant of this aggregate: a device is
// busy in another task while that task's execution holds it (deferred ...
// installing) or waits ahead of this one (assigned earlier, not final); the
// execution then fails "busy in task N" when it is assigned or started (and is
// retried per its policy); a verification push is refused instead. Executions move through the
// phases of events::execution_phase:
//
//   pending --start--> notified -> downloading -> downloaded -> installing -> succeeded
//      |                  ^                                                 \-> failed
//      +--start--> deferred --good report--> queued --start--^     (retry_wait --timer--> queued)
//
// Pause, resume, cancel and deadline reach devices through the coordinator's
// hold/release/cancel/expire commands with the SPEC's per-phase effects:
//   hold (pause):  notified/downloading/downloaded are held: a download
//                  finishes, the install waits; installing finishes.
//   cancel:        pending/queued/deferred/notified/downloaded -> canceled;
//                  downloading -> finishes the download, then canceled without
//                  installing; installing -> finishes, its result counts;
//                  retry_wait -> the retry is dropped (failed).
//   expire:        every unfinished execution fails "deadline passed".
#pragma once

#include "domain/decide.hpp"
#include "domain/device_commands.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::domain {

/// One task's execution on this device.
struct execution_state {
  std::string task;
  events::execution_terms terms;
  events::execution_phase phase = events::execution_phase::pending;
  std::uint32_t attempt = 1;     ///< the current try (1 first)
  std::uint32_t round_start = 1; ///< the attempt at which the current retry budget began
  std::uint32_t percent = 0;     ///< last recorded download percent
  bool held = false;             ///< the task is paused: the install waits
  bool cancel_requested = false; ///< canceled while downloading: no install
  bool install_released = false; ///< download-only: install allowed
  std::optional<events::deferral_reason> deferred_for;
  std::optional<base::timestamp> in_progress_since; ///< timeout clock (not while waiting)
  std::optional<base::timestamp> retry_at;
  std::optional<events::failure_code> failure; ///< last failure
  std::string note;                            ///< status note (failure text)
  std::string version;                         ///< reported on success
  bool operator==(const execution_state&) const = default;
  /// Reflection for the device actor's snapshots (events::encode_binary).
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("terms", s.terms);
    f("phase", s.phase);
    f("attempt", s.attempt);
    f("round_start", s.round_start);
    f("percent", s.percent);
    f("held", s.held);
    f("cancel_requested", s.cancel_requested);
    f("install_released", s.install_released);
    f("deferred_for", s.deferred_for);
    f("in_progress_since", s.in_progress_since);
    f("retry_at", s.retry_at);
    f("failure", s.failure);
    f("note", s.note);
    f("version", s.version);
  }
};

struct device_state {
  std::string id;
  bool registered = false;
  std::string product;
  std::string name;
  std::string imei;
  std::string mac;
  events::region region;
  std::string fota_version;
  std::string sota_version;
  bool online = false;
  std::optional<std::uint32_t> signal;     ///< last recorded reading
  std::optional<std::uint32_t> battery;    ///< last recorded reading
  std::vector<execution_state> executions; ///< in assignment order
  base::timestamp registered_at;

  const execution_state* execution(std::string_view task) const;
  /// The execution the device is busy in, from `task`'s point of view: one that
  /// holds the device (deferred, notified ... installing), or an unfinished one
  /// assigned before `task`'s (any, when `task` has none). Waiting executions
  /// queue in assignment order.
  const execution_state* busy_with(std::string_view task) const;
  /// The version the device runs for a kind ("" when unknown).
  const std::string& version(events::firmware_kind kind) const;
  bool operator==(const device_state&) const = default;
  /// Reflection for the device actor's snapshots (events::encode_binary);
  /// adding a field changes device_agg::snapshot_schema.
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("id", s.id);
    f("registered", s.registered);
    f("product", s.product);
    f("name", s.name);
    f("imei", s.imei);
    f("mac", s.mac);
    f("region", s.region);
    f("fota_version", s.fota_version);
    f("sota_version", s.sota_version);
    f("online", s.online);
    f("signal", s.signal);
    f("battery", s.battery);
    f("executions", s.executions);
    f("registered_at", s.registered_at);
  }
};

/// Failures worth retrying: everything but version_mismatch,
/// unsupported_package, rejected and deadline_passed.
bool is_retryable(events::failure_code c);
/// Codes a device may report; the platform sets version_mismatch,
/// busy_in_task, timed_out and deadline_passed.
bool is_device_reportable(events::failure_code c);
/// When the execution times out if nothing happens (nullopt: no clock running).
std::optional<base::timestamp> timeout_at(const execution_state& e);
/// Whether the device may install now (not held, not canceled, released).
bool install_allowed(const execution_state& e);

[[nodiscard]] decided<decision> decide(const device_state& s, const device_command& c,
                                       const decide_context& ctx);
[[nodiscard]] device_state evolve(device_state s, const events::event& e);

/// What evolve does for a device.* event: the device's own fields, in place
/// (its executions are never touched by one).
void evolve_device(device_state& s, const events::event& e);

/// What evolve does to the device's execution `x` for an execution event of
/// x's task (other than execution_assigned, which creates the execution);
/// nothing for any other event. For folds that keep executions on their own
/// (projections).
void evolve_execution(execution_state& x, const events::event& e);

} // namespace otaledger::domain
