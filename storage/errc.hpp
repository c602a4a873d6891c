// Storage errors, as values (STYLE.md §7). rocksdb::Status never leaves storage/.
#pragma once

#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::storage {

enum class errc : int {
  ok = 0,
  wrong_expected_version = 1, ///< the stream's version is not the one the caller expected
  corruption = 2,             ///< a stored record failed its checksum or could not be parsed
  io_error = 3,               ///< the disk or the file system failed
  not_found = 4,              ///< no such stream, snapshot, checkpoint or blob
  invalid_argument = 5,       ///< a malformed request (empty stream name, too many events...)
  too_large = 6,              ///< a blob or record over its configured limit
  closed = 7,                 ///< the store was closed
  busy = 8,                   ///< the store refuses work for now (e.g. write queue full)
};

std::string_view to_message(errc e);
const std::error_category& storage_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

inline constexpr errc all_errc[] = {errc::wrong_expected_version, errc::corruption, errc::io_error,
                                    errc::not_found,   errc::invalid_argument, errc::too_large,
                                    errc::closed,      errc::busy};

} // namespace otaledger::storage

template <>
struct std::is_error_code_enum<otaledger::storage::errc> : std::true_type {};
