// Errors of the delta library, as values (STYLE.md §7). Every refusal of
// apply_delta / inspect_delta has its own code, so a caller (the CLI, the
// package service) can tell "wrong old image" from "corrupt delta".
#pragma once

#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::delta {

enum class errc : int {
  ok = 0,
  not_a_delta = 1,         ///< the bytes do not start with the "OTADELTA" magic
  unsupported_version = 2, ///< a format version this build cannot read
  unsupported_codec = 3,   ///< a codec or codec parameter this applier cannot decode
  corrupt_header = 4,      ///< the header's CRC-32C or one of its fields is wrong
  truncated = 5,           ///< the delta ends before its payload does
  corrupt_payload = 6,     ///< the payload fails its CRC-32C or does not decode to valid commands
  wrong_old_image = 7,     ///< the old image's size or SHA-256 is not the one the delta applies to
  new_image_mismatch = 8,  ///< the produced image's SHA-256 is not the header's
  trailing_data = 9,       ///< bytes follow the payload
  too_large = 10,          ///< an image exceeds the configured or supported size
  work_buffer_too_small = 11, ///< the device applier's work buffer is too small for this delta
  invalid_argument = 12,      ///< bad options (window_log out of range...)
  compression_failed = 13,    ///< zstd reported an error while compressing
};

std::string_view to_message(errc e);
const std::error_category& delta_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// Every enumerator except ok, for the consistency test.
inline constexpr errc all_errc[] = {errc::not_a_delta,
                                    errc::unsupported_version,
                                    errc::unsupported_codec,
                                    errc::corrupt_header,
                                    errc::truncated,
                                    errc::corrupt_payload,
                                    errc::wrong_old_image,
                                    errc::new_image_mismatch,
                                    errc::trailing_data,
                                    errc::too_large,
                                    errc::work_buffer_too_small,
                                    errc::invalid_argument,
                                    errc::compression_failed};

} // namespace otaledger::delta

template <> struct std::is_error_code_enum<otaledger::delta::errc> : std::true_type {};
