// Generic error codes shared by every layer (bad input, limits), plus a helper
// that defines a std::error_category for any layer's errc enum.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace otaledger::base {

/// Errors that are not specific to one layer.
enum class errc : int {
  ok = 0,
  invalid_argument = 1, ///< an input failed validation (the message says which and where)
  too_large = 2,        ///< an input exceeded a configured limit
  unsupported = 3,      ///< a format or version this build cannot read
  internal = 4,         ///< a broken invariant: a bug, logged and reported
  timeout = 5,          ///< an operation did not finish in its time
  canceled = 6,         ///< the operation was canceled before it finished
};

/// The text of each code (every enumerator has one; a unit test checks it).
std::string_view to_message(errc e);
const std::error_category& base_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// Every enumerator of base::errc except ok, for the consistency test.
inline constexpr errc all_errc[] = {errc::invalid_argument, errc::too_large, errc::unsupported,
                                    errc::internal,         errc::timeout,   errc::canceled};

/// An error category whose messages come from a `message(E)` function found by ADL.
template <class E> class enum_category final : public std::error_category {
public:
  explicit enum_category(const char* name) : name_(name) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int v) const override { return std::string{to_message(static_cast<E>(v))}; }

private:
  const char* name_;
};

} // namespace otaledger::base

template <> struct std::is_error_code_enum<otaledger::base::errc> : std::true_type {};
