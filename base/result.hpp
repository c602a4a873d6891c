// result<T>: the return type of every fallible operation in otaledger.
//
// A value or a std::error_code, never an exception for an expected failure
// (STYLE.md §7). Each layer defines its own `errc` enum and category
// (base/errc.hpp, events/errc.hpp, storage/errc.hpp); they all convert to
// std::error_code so one result type crosses layers. Propagate with OTA_TRY.
#pragma once

#include <boost/outcome/result.hpp>
#include <boost/outcome/success_failure.hpp>
#include <boost/outcome/try.hpp>

#include <string>
#include <system_error>

namespace otaledger {

namespace outcome = BOOST_OUTCOME_V2_NAMESPACE;

/// A value of T or an error code. Declared nodiscard by Boost.Outcome.
template <class T> using result = outcome::result<T, std::error_code, outcome::policy::terminate>;

/// Builds a successful result<void>.
inline auto ok() {
  return outcome::success();
}

/// A failure carrying an error code and a human-readable detail (what was
/// wrong, where). The detail travels beside the code through `error_detail`.
struct failure_info {
  std::error_code code;
  std::string detail;
};

} // namespace otaledger

/// `OTA_TRY(x, expr);` evaluates the result `expr`; on failure returns its
/// error from the enclosing function, otherwise declares `auto&& x` bound to
/// the value (Boost 1.74's Outcome: the name comes without `auto`).
#define OTA_TRY(var, ...) BOOST_OUTCOME_TRYA(var, __VA_ARGS__)
/// `OTA_TRYV(expr);` for a result<void> (or a result whose value is unused).
#define OTA_TRYV(...) BOOST_OUTCOME_TRYV(__VA_ARGS__)
