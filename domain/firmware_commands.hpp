// Commands of the firmware aggregate (stream "firmware-<id>").
//
// Creating, editing and deleting consult the catalog index (uniqueness of the
// version and of Gizwits codes; "in use by a task that is not finished").
// Verification (Gizwits): start_firmware_verification names a test device (the
// coordinator then pushes the image to it as an execution of task
// "verify-<firmware>"), record_firmware_verification relays the device's
// result, confirm_firmware_verification is the operator's confirmation.
#pragma once

#include "events/firmware_events.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace otaledger::domain {

/// Create a firmware version (unverified), optionally with its full image.
struct create_firmware {
  static constexpr std::string_view command_name = "create_firmware";
  std::string firmware;
  std::string product; ///< optional: scopes the Gizwits codes
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string vendor;
  std::string model;
  std::string version;
  std::string hardware_code;
  std::string software_code;
  std::optional<events::file_info> image;
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
  }
  bool operator==(const create_firmware&) const = default;
};

/// Attach or replace the full image (the "edit" of a firmware version).
struct upload_firmware_image {
  static constexpr std::string_view command_name = "upload_firmware_image";
  std::string firmware;
  events::file_info image;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("image", s.image);
  }
  bool operator==(const upload_firmware_image&) const = default;
};

/// Delete a firmware version.
struct delete_firmware {
  static constexpr std::string_view command_name = "delete_firmware";
  std::string firmware;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("firmware", s.firmware); }
  bool operator==(const delete_firmware&) const = default;
};

/// Push the firmware to a named test device.
struct start_firmware_verification {
  static constexpr std::string_view command_name = "start_firmware_verification";
  std::string firmware;
  std::string device; ///< the test device's id (the API resolves a MAC)
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("device", s.device);
  }
  bool operator==(const start_firmware_verification&) const = default;
};

/// Coordinator: the test device's result.
struct record_firmware_verification {
  static constexpr std::string_view command_name = "record_firmware_verification";
  std::string firmware;
  std::string device;
  bool succeeded = false;
  std::string version; ///< what the device reported running (success)
  std::string note;    ///< the failure note
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("device", s.device);
    f("succeeded", s.succeeded);
    f("version", s.version);
    f("note", s.note);
  }
  bool operator==(const record_firmware_verification&) const = default;
};

/// Operator: confirm the passed test; the firmware becomes verified (read-only).
struct confirm_firmware_verification {
  static constexpr std::string_view command_name = "confirm_firmware_verification";
  std::string firmware;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("firmware", s.firmware); }
  bool operator==(const confirm_firmware_verification&) const = default;
};

using firmware_command = std::variant<create_firmware, upload_firmware_image, delete_firmware,
                                      start_firmware_verification, record_firmware_verification,
                                      confirm_firmware_verification>;

} // namespace otaledger::domain
