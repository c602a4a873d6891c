// The rows the projections store, one reflectable struct per row kind.
//
// Rows are encoded with the events' compact binary codec
// (events::encode_binary / decode_binary: fields in declaration order, no
// tags), which is deterministic: the same fold gives the same bytes, so a
// rebuilt view can be compared with the live one by digest. The JSON the
// query API returns is made from the same structs (events::detail::json_writer
// rules: timestamps as RFC 3339, enums by name, absent optionals as null).
//
// Changing a row's layout changes the bytes of every view that holds it:
// bump `view_format` (projections/view.hpp) so views are rebuilt.
// Key layouts are listed per view in docs/projections.md.
#pragma once

#include "base/time.hpp"
#include "events/device_events.hpp"
#include "events/firmware_events.hpp"
#include "events/package_events.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace otaledger::projections {

/// tasks view, "t\0<task>": one row per task (the task list and detail summary).
struct task_row {
  std::string task;
  std::string name;
  std::string product;
  std::string package;
  std::string status;     ///< domain::task_status name: not_started ... completed, deleted
  std::string stopped_by; ///< "none", "canceled", "deadline"
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string initial_version;
  std::string target_version;
  base::timestamp created_at;
  std::optional<base::timestamp> start_at; ///< scheduled start
  std::optional<base::timestamp> started_at;
  std::optional<base::timestamp> deadline;
  std::optional<base::timestamp> stopped_at;
  std::uint32_t wave = 0;
  std::optional<std::uint64_t> targets_total;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("task", s.task);
    f("name", s.name);
    f("product", s.product);
    f("package", s.package);
    f("status", s.status);
    f("stopped_by", s.stopped_by);
    f("kind", s.kind);
    f("initial_version", s.initial_version);
    f("target_version", s.target_version);
    f("created_at", s.created_at);
    f("start_at", s.start_at);
    f("started_at", s.started_at);
    f("deadline", s.deadline);
    f("stopped_at", s.stopped_at);
    f("wave", s.wave);
    f("targets_total", s.targets_total);
  }
  bool operator==(const task_row&) const = default;
};

/// executions view, "t\0<task>\0<device>": one device's execution of one task.
struct execution_row {
  std::string device;
  std::string task;
  events::execution_phase phase = events::execution_phase::pending;
  std::uint32_t attempt = 1;
  std::uint32_t round_start = 1;
  std::uint32_t percent = 0;
  bool held = false;
  bool cancel_requested = false;
  bool install_released = false;
  std::optional<events::deferral_reason> deferred_for;
  std::optional<base::timestamp> in_progress_since;
  std::optional<base::timestamp> retry_at;
  std::optional<events::failure_code> failure;
  std::string note;                  ///< status note (failure text)
  std::string version;               ///< reported on success
  std::optional<std::uint32_t> wave; ///< the task's open wave when the device was first notified
  std::uint64_t ordinal = 0;         ///< assignment order within the task (0 first)
  base::timestamp updated;           ///< time of the last event that changed it
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
    f("task", s.task);
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
    f("wave", s.wave);
    f("ordinal", s.ordinal);
    f("updated", s.updated);
  }
  bool operator==(const execution_row&) const = default;
};

/// What the device status list shows beside each execution: the device's
/// fields from its fleet row (not stored on its own).
struct device_info_row {
  std::string name;
  std::string mac;
  std::string imei;
  bool online = false;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("name", s.name);
    f("mac", s.mac);
    f("imei", s.imei);
    f("online", s.online);
  }
  bool operator==(const device_info_row&) const = default;
};

/// executions view, "c\0<task>": the task's progress, domain::rollout_counters
/// plus the wave the task has open.
struct progress_row {
  std::uint64_t total = 0;
  std::uint64_t admitted = 0;
  std::uint64_t notifications = 0;
  std::vector<std::uint64_t> in_phase; ///< devices per execution_phase (11 entries)
  std::optional<base::timestamp> window_start;
  std::uint64_t started_in_window = 0;
  std::uint32_t wave = 0; ///< the task's open wave (from task.started / task.wave_advanced)
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("total", s.total);
    f("admitted", s.admitted);
    f("notifications", s.notifications);
    f("in_phase", s.in_phase);
    f("window_start", s.window_start);
    f("started_in_window", s.started_in_window);
    f("wave", s.wave);
  }
  bool operator==(const progress_row&) const = default;
};

/// executions view, "w\0<task>\0<be32 wave>": devices per phase among those
/// first notified while that wave was open.
struct wave_row {
  std::vector<std::uint64_t> in_phase; ///< 11 entries
  template <class Self, class F> static void fields(Self& s, F&& f) { f("in_phase", s.in_phase); }
  bool operator==(const wave_row&) const = default;
};

/// fleet view, "d\0<device>": the device's latest known state.
struct fleet_row {
  std::string device;
  std::string product;
  std::string name;
  std::string imei;
  std::string mac;
  events::region region;
  std::string fota_version;
  std::string sota_version;
  bool online = false;
  std::optional<std::uint32_t> signal;
  std::optional<std::uint32_t> battery;
  base::timestamp registered_at;
  base::timestamp last_seen; ///< time of the device's last device.* event
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.device);
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
    f("registered_at", s.registered_at);
    f("last_seen", s.last_seen);
  }
  bool operator==(const fleet_row&) const = default;
};

/// fleet view, "c\0<product>": per-product counts.
struct product_counts_row {
  std::uint64_t devices = 0;
  std::uint64_t online = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("devices", s.devices);
    f("online", s.online);
  }
  bool operator==(const product_counts_row&) const = default;
};

/// A plain counter row (fleet view "v\0<product>\0<kind>\0<version>").
struct count_row {
  std::uint64_t count = 0;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("count", s.count); }
  bool operator==(const count_row&) const = default;
};

/// catalog view, "f\0<firmware>": a firmware version.
struct firmware_row {
  std::string firmware;
  std::string product;
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string vendor;
  std::string model;
  std::string version;
  std::string hardware_code;
  std::string software_code;
  std::optional<events::file_info> image; ///< set: the full image is uploaded
  std::string verification;               ///< domain::verification_status name
  std::string test_device;
  std::string verification_note;
  std::uint64_t package_count = 0; ///< live packages whose target is this firmware
  bool deleted = false;
  base::timestamp created_at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("product", s.product);
    f("kind", s.kind);
    f("vendor", s.vendor);
    f("model", s.model);
    f("version", s.version);
    f("hardware_code", s.hardware_code);
    f("software_code", s.software_code);
    f("image", s.image);
    f("verification", s.verification);
    f("test_device", s.test_device);
    f("verification_note", s.verification_note);
    f("package_count", s.package_count);
    f("deleted", s.deleted);
    f("created_at", s.created_at);
  }
  bool operator==(const firmware_row&) const = default;
};

/// catalog view, "k\0<package>": a package.
struct package_row {
  std::string package;
  std::string firmware;
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string vendor;
  std::string model;
  std::string target_version;
  events::package_type type = events::package_type::full;
  std::string initial_version;
  events::package_origin origin = events::package_origin::uploaded;
  events::file_info file;
  bool deleted = false;
  base::timestamp created_at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("package", s.package);
    f("firmware", s.firmware);
    f("kind", s.kind);
    f("vendor", s.vendor);
    f("model", s.model);
    f("target_version", s.target_version);
    f("type", s.type);
    f("initial_version", s.initial_version);
    f("origin", s.origin);
    f("file", s.file);
    f("deleted", s.deleted);
    f("created_at", s.created_at);
  }
  bool operator==(const package_row&) const = default;
};

/// groups view, "g\0<group>": a group.
struct group_row {
  std::string group;
  std::string name;
  std::string description;
  std::uint64_t members = 0;
  bool deleted = false;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("name", s.name);
    f("description", s.description);
    f("members", s.members);
    f("deleted", s.deleted);
  }
  bool operator==(const group_row&) const = default;
};

} // namespace otaledger::projections
