// Commands of the package aggregate (stream "package-<id>").
//
// The online diff itself runs outside the domain (delta/): the API generates
// the delta from the two full images and then creates the package with origin
// `generated` and the result's digests.
#pragma once

#include "events/package_events.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace otaledger::domain {

/// Create a package to a firmware version: full (file, or the firmware's own
/// image when no file is given) or delta from an existing initial version.
struct create_package {
  static constexpr std::string_view command_name = "create_package";
  std::string package;
  std::string firmware; ///< the target firmware version
  events::package_type type = events::package_type::full;
  std::string initial_version; ///< delta only
  events::package_origin origin = events::package_origin::uploaded;
  std::optional<events::file_info> file;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("package", s.package);
    f("firmware", s.firmware);
    f("type", s.type);
    f("initial_version", s.initial_version);
    f("origin", s.origin);
    f("file", s.file);
  }
  bool operator==(const create_package&) const = default;
};

/// Replace the package's file (re-upload or re-generate).
struct replace_package_file {
  static constexpr std::string_view command_name = "replace_package_file";
  std::string package;
  events::package_origin origin = events::package_origin::uploaded;
  events::file_info file;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("package", s.package);
    f("origin", s.origin);
    f("file", s.file);
  }
  bool operator==(const replace_package_file&) const = default;
};

/// Delete the package.
struct delete_package {
  static constexpr std::string_view command_name = "delete_package";
  std::string package;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("package", s.package); }
  bool operator==(const delete_package&) const = default;
};

using package_command = std::variant<create_package, replace_package_file, delete_package>;

} // namespace otaledger::domain
