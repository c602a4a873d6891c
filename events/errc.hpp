// Errors of the event codecs (binary record/payload and JSON).
#pragma once

#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::events {

enum class errc : int {
  ok = 0,
  malformed = 1,          ///< bytes or JSON that do not parse as the type they claim to be
  checksum_mismatch = 2,  ///< a record's CRC32C does not match its bytes
  unknown_type = 3,       ///< an event type this build does not know
  unsupported_schema = 4, ///< a schema version with neither a decoder nor an upcaster
  unsupported_format = 5, ///< a record format version this build cannot read
  too_large = 6,          ///< a field or payload over its limit
};

std::string_view to_message(errc e);
const std::error_category& events_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

inline constexpr errc all_errc[] = {errc::malformed,          errc::checksum_mismatch,
                                    errc::unknown_type,       errc::unsupported_schema,
                                    errc::unsupported_format, errc::too_large};

} // namespace otaledger::events

template <> struct std::is_error_code_enum<otaledger::events::errc> : std::true_type {};
