// Why the domain refused a command. Every refusal is a `rejection` carrying
// one of these codes and a message that names the aggregate and its current
// state ("cannot pause task 17: it is not_started"). The API maps the codes to
// HTTP statuses (docs/domain.md lists them); CAF carries them as errors.
#pragma once

#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::domain {

enum class errc : int {
  ok = 0,
  invalid_argument = 1,         ///< a field failed validation; the message names it
  not_found = 2,                ///< the aggregate (or one it refers to) does not exist
  already_exists = 3,           ///< create of an existing aggregate, or a duplicate package
  invalid_state = 4,            ///< the operation is not allowed in the current state
  duplicate_version = 5,        ///< (kind, vendor, model, version) is taken
  duplicate_version_codes = 6,  ///< hardware + software codes are taken in the product
  firmware_unverified = 7,      ///< the product requires verified firmware for tasks
  firmware_verified = 8,        ///< verified firmware can no longer be edited
  in_use = 9,                   ///< used by a task that is not finished (or still has packages)
  initial_version_missing = 10, ///< a delta's initial version is not a firmware version
  image_missing = 11,           ///< a full image is needed and was not uploaded
  too_large = 12,               ///< a file or a list over its configured limit
  device_busy = 13,             ///< the device is busy in another running task
  no_execution = 14,            ///< the device has no execution in that task
  execution_finished = 15,      ///< the execution is final; reports are refused
  install_not_allowed = 16,     ///< the device must wait (task paused, install not released)
  verification_incomplete = 17, ///< confirm before the test device reported success
  deadline_passed = 18,         ///< the task's deadline is over
  not_due = 19,                 ///< a timer fired before its time
  forbidden = 20,               ///< a device acting on another device, a wrong product secret
  catalog_missing = 21,         ///< the command needs the catalog index and none was given
};

/// The text of each code (every enumerator has one; a unit test checks it).
std::string_view to_message(errc e);
const std::error_category& domain_category() noexcept;
std::error_code make_error_code(errc e) noexcept;
/// The enumerator's name ("invalid_state"), as the API's machine-readable code.
std::string_view to_name(errc e);

/// Every enumerator except ok, for consistency tests and docs.
inline constexpr errc all_errc[] = {errc::invalid_argument,
                                    errc::not_found,
                                    errc::already_exists,
                                    errc::invalid_state,
                                    errc::duplicate_version,
                                    errc::duplicate_version_codes,
                                    errc::firmware_unverified,
                                    errc::firmware_verified,
                                    errc::in_use,
                                    errc::initial_version_missing,
                                    errc::image_missing,
                                    errc::too_large,
                                    errc::device_busy,
                                    errc::no_execution,
                                    errc::execution_finished,
                                    errc::install_not_allowed,
                                    errc::verification_incomplete,
                                    errc::deadline_passed,
                                    errc::not_due,
                                    errc::forbidden,
                                    errc::catalog_missing};

} // namespace otaledger::domain

template <> struct std::is_error_code_enum<otaledger::domain::errc> : std::true_type {};
