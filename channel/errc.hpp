// Why the device channel refused a device's message before (or instead of)
// the domain deciding it. Domain refusals (domain::errc) pass through as they
// are; `problem` carries either kind with a sentence for the device's log.
// Names and HTTP statuses of every other code come from api/errors.hpp.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::channel {

enum class errc : int {
  ok = 0,
  malformed = 1,     ///< not JSON, a wrong type, an unknown or missing field
  too_large = 2,     ///< the message is over the channel's size limit
  unauthorized = 3,  ///< no credential, or a wrong one
  out_of_order = 4,  ///< progress behind what the device already reported
  unavailable = 5,   ///< the server cannot take the message now (shutting down, overloaded)
  not_found = 6,     ///< no such package for this device, or an unknown route
  range_invalid = 7, ///< a download Range that cannot be satisfied
  internal = 8,      ///< a bug or an I/O failure on the server (logged)
};

/// The text of each code.
std::string_view to_message(errc e);
/// The enumerator's name ("malformed"): the machine-readable code devices see.
std::string_view to_name(errc e);
const std::error_category& channel_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

inline constexpr errc all_errc[] = {errc::malformed,     errc::too_large,   errc::unauthorized,
                                    errc::out_of_order,  errc::unavailable, errc::not_found,
                                    errc::range_invalid, errc::internal};

/// A refusal as a device sees it: a code and a sentence.
struct problem {
  std::error_code code;
  std::string message;
  /// The machine-readable name of the code ("malformed", "execution_finished", ...).
  std::string_view code_name() const;
  /// The HTTP status the code maps to (400, 401, 403, 404, 409, 410, 413, 416, 503, 500).
  int http_status() const;
};

/// A problem from a channel code.
inline problem make_problem(errc e, std::string message) {
  return problem{make_error_code(e), std::move(message)};
}

/// Name of any error code the channel may answer with: the channel's own
/// names, and api::error_name for every other category (domain, storage,
/// base), so devices and operators see one taxonomy.
std::string_view error_name(const std::error_code& ec);
/// The HTTP status for any such code, from the one mapping in api/errors.hpp
/// (bad input 400, unauthenticated 401, forbidden 403, missing 404, refused by
/// state 409, final 410, too large 413, bad range 416, unavailable 503,
/// unexpected 500).
int http_status_of(const std::error_code& ec);

} // namespace otaledger::channel

template <> struct std::is_error_code_enum<otaledger::channel::errc> : std::true_type {};
