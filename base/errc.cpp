#include "base/errc.hpp"

namespace otaledger::base {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::invalid_argument:
    return "invalid argument";
  case errc::too_large:
    return "too large";
  case errc::unsupported:
    return "unsupported";
  case errc::internal:
    return "internal error";
  case errc::timeout:
    return "timed out";
  case errc::canceled:
    return "canceled";
  }
  return "unknown base error";
}

const std::error_category& base_category() noexcept {
  static const enum_category<errc> cat{"otaledger.base"};
  return cat;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), base_category()};
}

} // namespace otaledger::base
