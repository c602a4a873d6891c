// Events of the firmware aggregate (stream "firmware-<id>"), and the value
// types the catalog shares: the firmware kind and a stored file's digest.
//
// A firmware version is (kind, vendor, model, version), unique across the
// catalog; it may carry a full image and, for Gizwits products, hardware and
// software version codes. It starts unverified and becomes verified after a
// test device reported success and an operator confirmed (SPEC §1).
//
// Convention for every *_events.hpp: the first field of an event is the id of
// its aggregate, so the stream is "<aggregate>-<first field>" (domain/dispatch.hpp).
#pragma once

#include "events/fields.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace otaledger::events {

/// What a firmware runs on: the communication module (FOTA) or the MCU (SOTA).
enum class firmware_kind : std::uint8_t {
  fota, ///< module firmware (vendor + module model)
  sota, ///< MCU software (vendor + chip model)
};

inline std::span<const std::string_view> enum_names(firmware_kind) {
  static constexpr std::string_view names[] = {"fota", "sota"};
  return names;
}

/// A file held in the blob store: what a device downloads or an operator uploaded.
struct file_info {
  std::string name;       ///< the uploaded file's name, e.g. "m5330-1.3.bin"
  std::uint64_t size = 0; ///< bytes
  std::string md5;        ///< lower-case hex, 32 digits (what OneNET devices check)
  std::string sha256;     ///< lower-case hex, 64 digits
  std::string blob;       ///< key of the bytes in the blob store
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("name", s.name);
    f("size", s.size);
    f("md5", s.md5);
    f("sha256", s.sha256);
    f("blob", s.blob);
  }
  bool operator==(const file_info&) const = default;
};

/// A firmware version was created (unverified).
struct firmware_created {
  static constexpr std::string_view type_name = "firmware.created";
  static constexpr std::uint16_t schema = 1;
  std::string firmware; ///< firmware id
  /// owning product; may be empty (OneNET firmware is per vendor and model)
  std::string product;
  firmware_kind kind = firmware_kind::fota;
  std::string vendor;        ///< e.g. "CMCC"
  std::string model;         ///< module model (FOTA) or chip model (SOTA), e.g. "M5330"
  std::string version;       ///< 1-50 of [A-Za-z0-9_.-]
  std::string hardware_code; ///< Gizwits hardware version code; may be empty
  std::string software_code; ///< Gizwits software version code; may be empty
  /// the full image ("整包"), when uploaded at creation
  std::optional<file_info> image;
  base::timestamp at; ///< when it was created
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
    f("at", s.at);
  }
  bool operator==(const firmware_created&) const = default;
};

/// A full image was uploaded: attached for the first time or replacing the
/// previous one (an edit). A new image makes the firmware unverified again.
struct firmware_image_uploaded {
  static constexpr std::string_view type_name = "firmware.image_uploaded";
  static constexpr std::uint16_t schema = 1;
  std::string firmware;
  file_info image;
  bool replaced = false; ///< true when an earlier image was replaced
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("image", s.image);
    f("replaced", s.replaced);
  }
  bool operator==(const firmware_image_uploaded&) const = default;
};

/// The firmware version was deleted; its history stays in the log.
struct firmware_deleted {
  static constexpr std::string_view type_name = "firmware.deleted";
  static constexpr std::uint16_t schema = 1;
  std::string firmware;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("firmware", s.firmware); }
  bool operator==(const firmware_deleted&) const = default;
};

/// Verification began: the image is pushed to a named test device (Gizwits).
struct firmware_verification_started {
  static constexpr std::string_view type_name = "firmware.verification_started";
  static constexpr std::uint16_t schema = 1;
  std::string firmware;
  /// the test device's id (an operator may name it by MAC; the API resolves it)
  std::string device;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("device", s.device);
    f("at", s.at);
  }
  bool operator==(const firmware_verification_started&) const = default;
};

/// The test device reported success with the firmware's version.
struct firmware_verification_passed {
  static constexpr std::string_view type_name = "firmware.verification_passed";
  static constexpr std::uint16_t schema = 1;
  std::string firmware;
  std::string device;
  std::string version; ///< what the device reported running
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("device", s.device);
    f("version", s.version);
  }
  bool operator==(const firmware_verification_passed&) const = default;
};

/// The test device failed (or reported another version); the firmware stays unverified.
struct firmware_verification_failed {
  static constexpr std::string_view type_name = "firmware.verification_failed";
  static constexpr std::uint16_t schema = 1;
  std::string firmware;
  std::string device;
  std::string note; ///< e.g. "boot loop" or "device reports 1.1, the firmware is 1.2"
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("device", s.device);
    f("note", s.note);
  }
  bool operator==(const firmware_verification_failed&) const = default;
};

/// An operator confirmed the test result: the firmware is verified and read-only.
struct firmware_verified {
  static constexpr std::string_view type_name = "firmware.verified";
  static constexpr std::uint16_t schema = 1;
  std::string firmware;
  base::timestamp at;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("firmware", s.firmware);
    f("at", s.at);
  }
  bool operator==(const firmware_verified&) const = default;
};

} // namespace otaledger::events
