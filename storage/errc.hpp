// Storage errors, as values (STYLE.md §7). rocksdb::Status never leaves
// storage/: it is converted where it is returned.
//
// An error code says what kind of failure happened; storage::error_detail()
// says what and where ("record at position 17 failed its CRC32C check"). The
// detail is thread-local and set by the storage call that returned the error,
// on the thread that receives it (append() copies it from the writer thread;
// an append_async callback finds it set on the writer thread).
#pragma once

#include <string>
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
  invalid_argument = 5,       ///< a malformed request or option (empty stream name, ...)
  too_large = 6,              ///< a blob or record over its configured limit
  closed = 7,                 ///< the store was closed
  busy = 8,                   ///< the store refuses work for now (write queue full)
};

/// The text of each code (every enumerator has one; a unit test checks it).
std::string_view to_message(errc e);
const std::error_category& storage_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// The detail of the last storage error returned on this thread.
const std::string& error_detail();
/// Sets this thread's error detail (used by storage/, and by callers that
/// forward a storage error to another thread).
void set_error_detail(std::string text);

/// Every enumerator except ok, for the consistency test.
inline constexpr errc all_errc[] = {
    errc::wrong_expected_version, errc::corruption, errc::io_error, errc::not_found,
    errc::invalid_argument,       errc::too_large,  errc::closed,   errc::busy};

} // namespace otaledger::storage

template <> struct std::is_error_code_enum<otaledger::storage::errc> : std::true_type {};
