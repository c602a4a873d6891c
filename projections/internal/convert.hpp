// Conversions between the domain's aggregate states and the projections' rows
// (defined in views.cpp; shared with replay.cpp). Not a public header.
#pragma once

#include "domain/device.hpp"
#include "domain/firmware.hpp"
#include "domain/package.hpp"
#include "domain/task.hpp"
#include "projections/rows.hpp"

namespace otaledger::projections::internal {

task_row to_row(const domain::task_state& s);
fleet_row to_row(const domain::device_state& d, base::timestamp last_seen);
execution_row to_row(const domain::execution_state& x, std::string_view device);
firmware_row to_row(const domain::firmware_state& s, std::uint64_t packages);
package_row to_row(const domain::package_state& s);

} // namespace otaledger::projections::internal
