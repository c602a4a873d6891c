#include "api/errors.hpp"

#include "base/errc.hpp"
#include "domain/errc.hpp"
#include "storage/errc.hpp"

namespace otaledger::api {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::malformed:
    return "malformed request";
  case errc::unauthorized:
    return "missing or unknown API token";
  case errc::forbidden:
    return "the token's role does not allow this";
  case errc::not_found:
    return "not found";
  case errc::method_not_allowed:
    return "method not allowed";
  case errc::unavailable:
    return "server unavailable";
  case errc::internal:
    return "internal error";
  case errc::too_large:
    return "upload too large";
  case errc::unsupported_type:
    return "unsupported upload type";
  }
  return "unknown api error";
}

std::string_view to_name(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::malformed:
    return "malformed";
  case errc::unauthorized:
    return "unauthorized";
  case errc::forbidden:
    return "forbidden";
  case errc::not_found:
    return "not_found";
  case errc::method_not_allowed:
    return "method_not_allowed";
  case errc::unavailable:
    return "unavailable";
  case errc::internal:
    return "internal";
  case errc::too_large:
    return "too_large";
  case errc::unsupported_type:
    return "unsupported_type";
  }
  return "internal";
}

const std::error_category& api_category() noexcept {
  static const base::enum_category<errc> c{"otaledger.api"};
  return c;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), api_category()};
}

std::string_view error_name(const std::error_code& ec) {
  if (ec.category() == api_category()) return to_name(static_cast<errc>(ec.value()));
  if (ec.category() == domain::domain_category())
    return domain::to_name(static_cast<domain::errc>(ec.value()));
  if (ec.category() == storage::storage_category()) {
    switch (static_cast<storage::errc>(ec.value())) {
    case storage::errc::not_found:
      return "not_found";
    case storage::errc::too_large:
      return "too_large";
    case storage::errc::invalid_argument:
      return "invalid_argument";
    case storage::errc::wrong_expected_version:
      return "conflict";
    case storage::errc::closed:
    case storage::errc::busy:
      return "unavailable";
    default:
      return "internal";
    }
  }
  if (ec.category() == base::base_category()) {
    switch (static_cast<base::errc>(ec.value())) {
    case base::errc::invalid_argument:
      return "invalid_argument";
    case base::errc::too_large:
      return "too_large";
    case base::errc::timeout:
    case base::errc::canceled:
      return "unavailable";
    default:
      return "internal";
    }
  }
  return "internal";
}

int http_status_of(const std::error_code& ec) {
  return http_status_of_name(error_name(ec));
}

int http_status_of_name(std::string_view n) {
  if (n == "malformed" || n == "invalid_argument") return 400;
  if (n == "unauthorized") return 401;
  if (n == "forbidden") return 403;
  if (n == "not_found" || n == "no_execution") return 404;
  if (n == "method_not_allowed") return 405;
  if (n == "execution_finished") return 410;
  if (n == "too_large") return 413;
  if (n == "unsupported_type") return 415;
  if (n == "range_invalid") return 416;
  if (n == "initial_version_missing" || n == "image_missing" || n == "firmware_unverified")
    return 422;
  if (n == "unavailable") return 503;
  if (n == "internal" || n == "catalog_missing") return 500;
  // Refused by the current state: invalid_state, already_exists, in_use,
  // duplicate_version, conflict (retry), out_of_order, ...
  return 409;
}

http_response error_response(const std::error_code& ec, std::string message,
                             nlohmann::ordered_json details) {
  nlohmann::ordered_json j;
  j["code"] = error_name(ec);
  j["message"] = std::move(message);
  j["details"] = std::move(details);
  return http_response::json(http_status_of(ec), j.dump());
}

} // namespace otaledger::api
