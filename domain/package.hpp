// The package aggregate: what a device downloads to reach a target firmware
// version. A full package applies to any version; a delta applies to exactly
// one initial version, which must exist as a firmware version of the same
// kind, vendor and model. At most one package per (target, initial version).
// A package used by a task that is not finished can be neither edited nor
// deleted (devices may be downloading it).
#pragma once

#include "domain/decide.hpp"
#include "domain/package_commands.hpp"

namespace otaledger::domain {

struct package_state {
  std::string id;
  bool exists = false;
  bool deleted = false;
  std::string firmware;
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string vendor;
  std::string model;
  std::string target_version;
  events::package_type type = events::package_type::full;
  std::string initial_version;
  events::package_origin origin = events::package_origin::uploaded;
  events::file_info file;
  base::timestamp created_at;
  bool operator==(const package_state&) const = default;
};

[[nodiscard]] decided<decision> decide(const package_state& s, const package_command& c,
                                       const decide_context& ctx);
[[nodiscard]] package_state evolve(package_state s, const events::event& e);

} // namespace otaledger::domain
