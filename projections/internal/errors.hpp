// Error helpers shared by the projections' sources (not a public header).
#pragma once

#include <string>
#include <system_error>

namespace otaledger::projections::internal {

/// Sets projections::error_detail() and returns `ec`.
std::error_code fail_with(std::error_code ec, std::string detail);
/// base::errc::invalid_argument with the detail.
std::error_code invalid(std::string detail);

} // namespace otaledger::projections::internal
