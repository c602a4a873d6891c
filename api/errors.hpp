// The operators' API error mapping: one function from any error code the API
// may answer with (api, domain, storage, base) to a machine-readable name and
// an HTTP status, and the JSON error body {code, message, details}.
//
// This is the only mapping: the device channel (channel/errc.hpp) names its
// own codes and hands every other code, and every name, to these functions.
//
// Taxonomy (STYLE.md §7): bad input 400, unauthenticated 401, forbidden 403,
// missing 404, refused by the current state 409, finished 410, unprocessable
// reference 422, too large 413, unsatisfiable range 416, unsupported upload type 415, unavailable
// 503, unexpected 500 (logged, not echoed).
//
// Thread safety: pure functions.
#pragma once

#include "api/http.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::api {

/// Refusals made by the API itself, before a command reaches the domain.
enum class errc : int {
  ok = 0,
  malformed = 1,          ///< the body is not JSON, or not an object; a query parameter is bad
  unauthorized = 2,       ///< no bearer token, or an unknown one
  forbidden = 3,          ///< the token's role may not do this
  not_found = 4,          ///< no such route, or no such aggregate
  method_not_allowed = 5, ///< the path exists with another method
  unavailable = 6,        ///< the runtime is stopping
  internal = 7,           ///< a bug or an I/O failure (logged)
  too_large = 8,          ///< an upload over its limit
  unsupported_type = 9,   ///< an upload's Content-Type or file extension is not allowed (415)
};

std::string_view to_message(errc e);
std::string_view to_name(errc e);
const std::error_category& api_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

inline constexpr errc all_errc[] = {
    errc::malformed, errc::unauthorized,       errc::forbidden,
    errc::not_found, errc::method_not_allowed, errc::unavailable,
    errc::internal,  errc::too_large,          errc::unsupported_type};

/// The machine-readable name of any code ("invalid_state", "malformed", ...);
/// "internal" for a code of a category this mapping does not know.
std::string_view error_name(const std::error_code& ec);
/// The HTTP status of a machine-readable name (the device channel's names
/// included: "out_of_order" 409, "range_invalid" 416).
int http_status_of_name(std::string_view name);
/// The HTTP status of any code: http_status_of_name(error_name(ec)).
int http_status_of(const std::error_code& ec);

/// {"code": name, "message": message, "details": details} with the code's status.
http_response error_response(const std::error_code& ec, std::string message,
                             nlohmann::ordered_json details = nlohmann::ordered_json::object());

} // namespace otaledger::api

template <> struct std::is_error_code_enum<otaledger::api::errc> : std::true_type {};
