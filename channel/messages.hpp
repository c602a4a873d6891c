// The canonical device messages: what devices say to otaledger and what it
// says back, independent of the transport (HTTP, MQTT) and of the dialect
// (otaledger's own JSON today; hawkBit DDI and OneNET's HTTP API are meant to
// be translations onto these same types, so the domain never sees a dialect).
//
//   device -> server: device_registration, device_report, device_progress, device_result,
//                     device_note
//   server -> device: instruction (and a reply per message: accepted or a problem)
//
// Every device message carries an `id` chosen by the device (1-64 characters
// of [A-Za-z0-9_.:-]). It becomes the domain command's id, prefixed with the
// device ("device:<device>:<id>"), so a message sent twice (a retry after a
// lost answer, an MQTT QoS 1 redelivery) is decided once and answered with the
// first result. A device must use a new id for every new message.
//
// Thread safety: plain values.
#pragma once

#include "domain/commands.hpp"
#include "events/device_events.hpp"
#include "events/envelope.hpp"
#include "events/package_events.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace otaledger::channel {

/// Self-registration with the product's secret (or an operator-registered
/// device claiming the secret it was given: see auth.hpp).
struct device_registration {
  std::string id;             ///< message id
  std::string device;         ///< the device id to register
  std::string product;        ///< its product
  std::string product_secret; ///< the product's self-registration secret
  /// The device's own secret from now on (at least 16 characters); empty: the
  /// server generates one and returns it once.
  std::string secret;
  std::string name;
  std::string imei;
  std::string mac;
  events::region region;
  std::string fota_version;
  std::string sota_version;
  bool operator==(const device_registration&) const = default;
};

/// A report on contact: versions, online, signal, battery (absent: not reported).
struct device_report {
  std::string id;
  std::optional<std::string> fota_version;
  std::optional<std::string> sota_version;
  std::optional<bool> online;
  std::optional<std::uint32_t> signal;
  std::optional<std::uint32_t> battery;
  bool operator==(const device_report&) const = default;
};

/// Progress in a task: downloading (percent), downloaded, installing.
struct device_progress {
  std::string id;
  std::string task;
  events::execution_phase phase = events::execution_phase::downloading;
  std::uint32_t percent = 0;
  bool operator==(const device_progress&) const = default;
};

/// The outcome of a task on the device.
struct device_result {
  std::string id;
  std::string task;
  bool succeeded = false;
  std::string version; ///< the version the device runs now (required on success)
  events::failure_code code = events::failure_code::unknown;
  std::string text;
  bool operator==(const device_result&) const = default;
};

/// A remark on a task that changes nothing (a log line, an acknowledgement):
/// kept in the device's audit trail as execution.noted.
struct device_note {
  std::string id;
  std::string task;
  std::string text;
  bool operator==(const device_note&) const = default;
};

/// A message that becomes a device command (registration is handled apart:
/// it also sets the device's credential).
using device_message = std::variant<device_report, device_progress, device_result, device_note>;

/// What the server tells a device to do in one task.
enum class instruction_kind : std::uint8_t {
  upgrade,         ///< download the package, verify it, install it
  hold,            ///< the task is paused: finish a download, do not install yet
  release,         ///< the task resumed: carry on
  install_release, ///< a download-only task: install the downloaded package now
  cancel,          ///< stop; do not install (an install already running finishes)
};

/// The package to download, as the instruction names it.
struct package_ref {
  std::string id;
  events::package_type type = events::package_type::full;
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string initial_version; ///< empty for a full package
  std::string target_version;
  std::uint64_t size = 0;
  std::string md5;
  std::string sha256;
  std::string url; ///< download address (absolute when the channel knows its base URL)
  bool operator==(const package_ref&) const = default;
};

struct instruction {
  instruction_kind kind = instruction_kind::upgrade;
  std::string task;
  std::uint32_t attempt = 1;
  bool download_only = false;  ///< install only after an install_release
  bool install_allowed = true; ///< the device may install once downloaded
  package_ref package;
  bool operator==(const instruction&) const = default;
};

std::string_view to_name(instruction_kind k);

/// The domain command for a message from `device` (already authenticated).
domain::command to_command(const std::string& device, const device_message& m);
/// The event metadata for it: principal "device:<device>", command id
/// "device:<device>:<message id>".
events::event_meta to_meta(const std::string& device, const std::string& message_id);
/// The message id of any device message.
const std::string& message_id(const device_message& m);

} // namespace otaledger::channel
