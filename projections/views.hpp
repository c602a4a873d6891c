// The views otaledger keeps (SPEC §2 "Views", §3), and how to make their folds.
//
//   tasks       the task list and each task's summary: state, start time,
//               deadline, targets; indexes by state and by name
//   executions  each task's devices: one row per (task, device) with the
//               execution's phase and note, an index by phase, the device's
//               name/MAC/online for the list and for MAC search, and the
//               task's progress counters (per phase, per wave)
//   fleet       every device's latest state (versions per kind, online,
//               signal, battery, last seen), by product, with per-product counts
//   catalog     firmware versions (image present, package count,
//               verification) and packages
//   groups      groups and their members
//   audit       an index of the log by correlation id (the per-stream
//               timeline is read from the log's own stream index)
//
// Key layouts are in docs/projections.md. Every fold here is pure and uses
// the domain's evolve functions for the aggregate rules it reflects.
#pragma once

#include "projections/view.hpp"

#include <memory>
#include <string_view>
#include <vector>

namespace otaledger::projections {

/// Every view's name, in a fixed order.
const std::vector<std::string_view>& view_names();

/// The fold of the named view, or nullptr when there is no such view.
std::unique_ptr<projection> make_view(std::string_view name);

/// Every view's fold, in view_names() order.
std::vector<std::unique_ptr<projection>> make_all_views();

} // namespace otaledger::projections
