// Events of the package aggregate (stream "package-<id>").
//
// A package ("升级包") is what a device downloads to go from an initial version
// to a target firmware version of the same kind, vendor and model: a full image
// (initial = any, shown as "Before Version") or a delta from one existing
// firmware version. The created event repeats the target's kind, vendor, model
// and version so a consumer of the log needs no join to show a package.
#pragma once

#include "events/firmware_events.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace otaledger::events {

/// Full image or delta.
enum class package_type : std::uint8_t {
  full,  ///< the whole image; any initial version
  delta, ///< a patch from one initial version to the target
};

inline std::span<const std::string_view> enum_names(package_type) {
  static constexpr std::string_view names[] = {"full", "delta"};
  return names;
}

/// Where a package's file came from.
enum class package_origin : std::uint8_t {
  uploaded,  ///< the operator uploaded it
  generated, ///< diffed online from the initial and target full images
  image,     ///< a full package that reuses the target firmware's full image
};

inline std::span<const std::string_view> enum_names(package_origin) {
  static constexpr std::string_view names[] = {"uploaded", "generated", "image"};
  return names;
}

/// A package was created.
struct package_created {
  static constexpr std::string_view type_name = "package.created";
  static constexpr std::uint16_t schema = 1;
  std::string package;  ///< package id
  std::string firmware; ///< the target firmware version's id
  firmware_kind kind = firmware_kind::fota;
  std::string vendor; ///< of the target (and of the initial version)
  std::string model;
  std::string target_version;
  package_type type = package_type::full;
  /// delta: the version it applies to; full: empty ("Before Version")
  std::string initial_version;
  package_origin origin = package_origin::uploaded;
  file_info file;     ///< what devices download
  base::timestamp at; ///< creation time (listed by the console)
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
    f("at", s.at);
  }
  bool operator==(const package_created&) const = default;
};

/// The package's file was replaced (an edit: re-upload or re-generation).
struct package_file_replaced {
  static constexpr std::string_view type_name = "package.file_replaced";
  static constexpr std::uint16_t schema = 1;
  std::string package;
  package_origin origin = package_origin::uploaded;
  file_info file;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("package", s.package);
    f("origin", s.origin);
    f("file", s.file);
  }
  bool operator==(const package_file_replaced&) const = default;
};

/// The package was deleted; its history stays in the log.
struct package_deleted {
  static constexpr std::string_view type_name = "package.deleted";
  static constexpr std::uint16_t schema = 1;
  std::string package;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("package", s.package); }
  bool operator==(const package_deleted&) const = default;
};

} // namespace otaledger::events
