// Field validation shared by the aggregates (SPEC §1-2, §6: every input is
// validated; bad input gets a clear error and changes nothing).
//
// The `is_*` predicates are pure and cheap; the `check_*` helpers return a
// rejection (errc::invalid_argument or errc::too_large) whose message names
// the field and what is wrong with it, for use with OTA_TRYV in decide.
#pragma once

#include "domain/decide.hpp"
#include "events/firmware_events.hpp"
#include "events/task_events.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace otaledger::domain {

/// A firmware version string: 1-50 characters of letters, digits, '_', '-', '.'.
bool is_valid_version(std::string_view v);
/// An id (product, device, group, firmware, package, task): 1-64 characters of
/// letters, digits, '_', '-', '.', ':'.
bool is_valid_id(std::string_view v);
/// Well-formed UTF-8 without control characters, `min`-`max` characters
/// (code points, so a Chinese name counts one per character).
bool is_valid_text(std::string_view v, std::size_t min, std::size_t max);
/// Number of code points of well-formed UTF-8; nullopt when malformed.
std::optional<std::size_t> utf8_length(std::string_view v);
/// Exactly `digits` lower-case hexadecimal digits (MD5: 32, SHA-256: 64).
bool is_lower_hex(std::string_view v, std::size_t digits);
/// An IMEI: 15 decimal digits.
bool is_valid_imei(std::string_view v);
/// A Gizwits hardware or software version code: 1-32 letters or digits.
bool is_valid_version_code(std::string_view v);
/// A MAC address as 12 hex digits, optionally separated by ':' or '-' every
/// two; returns the canonical "aa:bb:cc:dd:ee:ff", or nullopt.
std::optional<std::string> normalize_mac(std::string_view v);
/// A firmware or package file name ends in .bin, .hex, .zip, .rar or .swu (an
/// SWUpdate image, for hawkBit DDI devices), in any case.
bool has_image_extension(std::string_view file_name);
/// `s` cut to at most `max_bytes` without splitting a UTF-8 character.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

/// A daily window is valid: start 0-23, end 1-24, start != end.
bool is_valid_window(const events::daily_window& w);
/// Whether `t` falls inside the daily UTC window [start_hour, end_hour) (wrapping).
bool in_daily_window(const events::daily_window& w, base::timestamp t);
/// The first instant >= t inside the window (t itself when inside).
base::timestamp next_window_opening(const events::daily_window& w, base::timestamp t);

decided<void> check_id(std::string_view field, std::string_view v);
decided<void> check_version(std::string_view field, std::string_view v);
decided<void> check_text(std::string_view field, std::string_view v, std::size_t min,
                         std::size_t max);
/// A stored file: name with an image extension, size 1..max_bytes, MD5 and
/// SHA-256 in lower-case hex, a blob key. Over max_bytes is errc::too_large.
decided<void> check_file(std::string_view field, const events::file_info& f,
                         std::uint64_t max_bytes);

/// "2 MiB", "72 bytes": sizes in rejection messages.
std::string format_size(std::uint64_t bytes);

} // namespace otaledger::domain
