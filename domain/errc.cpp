#include "domain/errc.hpp"

#include "base/errc.hpp"

namespace otaledger::domain {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::invalid_argument:
    return "invalid argument";
  case errc::not_found:
    return "not found";
  case errc::already_exists:
    return "already exists";
  case errc::invalid_state:
    return "not allowed in the current state";
  case errc::duplicate_version:
    return "firmware version already exists";
  case errc::duplicate_version_codes:
    return "hardware and software version codes already used in the product";
  case errc::firmware_unverified:
    return "firmware is not verified";
  case errc::firmware_verified:
    return "verified firmware cannot be edited";
  case errc::in_use:
    return "in use";
  case errc::initial_version_missing:
    return "initial version of the delta does not exist";
  case errc::image_missing:
    return "full image not uploaded";
  case errc::too_large:
    return "over the configured limit";
  case errc::device_busy:
    return "device busy in another task";
  case errc::no_execution:
    return "device has no execution in the task";
  case errc::execution_finished:
    return "execution already finished";
  case errc::install_not_allowed:
    return "install not allowed now";
  case errc::verification_incomplete:
    return "verification incomplete";
  case errc::deadline_passed:
    return "deadline passed";
  case errc::not_due:
    return "not due yet";
  case errc::forbidden:
    return "forbidden";
  case errc::catalog_missing:
    return "catalog index missing";
  }
  return "unknown domain error";
}

std::string_view to_name(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::not_found:
    return "not_found";
  case errc::already_exists:
    return "already_exists";
  case errc::invalid_state:
    return "invalid_state";
  case errc::duplicate_version:
    return "duplicate_version";
  case errc::duplicate_version_codes:
    return "duplicate_version_codes";
  case errc::firmware_unverified:
    return "firmware_unverified";
  case errc::firmware_verified:
    return "firmware_verified";
  case errc::in_use:
    return "in_use";
  case errc::initial_version_missing:
    return "initial_version_missing";
  case errc::image_missing:
    return "image_missing";
  case errc::too_large:
    return "too_large";
  case errc::device_busy:
    return "device_busy";
  case errc::no_execution:
    return "no_execution";
  case errc::execution_finished:
    return "execution_finished";
  case errc::install_not_allowed:
    return "install_not_allowed";
  case errc::verification_incomplete:
    return "verification_incomplete";
  case errc::deadline_passed:
    return "deadline_passed";
  case errc::not_due:
    return "not_due";
  case errc::forbidden:
    return "forbidden";
  case errc::catalog_missing:
    return "catalog_missing";
  }
  return "?";
}

const std::error_category& domain_category() noexcept {
  static const base::enum_category<errc> cat{"otaledger.domain"};
  return cat;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), domain_category()};
}

} // namespace otaledger::domain
