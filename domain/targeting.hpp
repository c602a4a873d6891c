// Which devices a task targets: the pure match the coordinator applies when it
// resolves a task's targets at start, and again (dynamic tasks) whenever a
// device registers, joins a group or changes version while the task runs.
#pragma once

#include "domain/device.hpp"
#include "domain/task.hpp"

#include <string>
#include <vector>

namespace otaledger::domain {

/// What targeting looks at (the coordinator assembles it from the device
/// state and the group-membership view).
struct device_facts {
  std::string id;
  std::string product;
  std::string mac;
  events::region region;
  std::string fota_version;
  std::string sota_version;
  std::vector<std::string> groups;
};

/// The facts of a device state plus its groups.
device_facts facts_of(const device_state& d, std::vector<std::string> groups);

/// Whether the device is a target (events::target_spec describes the rule):
/// same product; listed, in a listed group, in a listed region (province, and
/// city when the filter names one) or with a listed MAC (or every device of
/// the product when no list is given); and, when versions are given, running
/// one of them (of `kind`).
bool matches_targets(const events::target_spec& t, std::string_view product,
                     events::firmware_kind kind, const device_facts& d);
/// matches_targets with the task's settings and package kind.
bool matches_targets(const task_state& task, const device_facts& d);
/// Whether a running task takes devices that match later (dynamic targets).
bool accepts_new_targets(const task_state& task);

} // namespace otaledger::domain
