#include "channel/errc.hpp"

#include "api/errors.hpp"
#include "base/errc.hpp"

namespace otaledger::channel {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::malformed:
    return "malformed message";
  case errc::too_large:
    return "message too large";
  case errc::unauthorized:
    return "missing or wrong device credential";
  case errc::out_of_order:
    return "progress out of order";
  case errc::unavailable:
    return "server unavailable";
  case errc::not_found:
    return "not found";
  case errc::range_invalid:
    return "range not satisfiable";
  case errc::internal:
    return "internal error";
  }
  return "unknown channel error";
}

std::string_view to_name(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::malformed:
    return "malformed";
  case errc::too_large:
    return "too_large";
  case errc::unauthorized:
    return "unauthorized";
  case errc::out_of_order:
    return "out_of_order";
  case errc::unavailable:
    return "unavailable";
  case errc::not_found:
    return "not_found";
  case errc::range_invalid:
    return "range_invalid";
  case errc::internal:
    return "internal";
  }
  return "internal";
}

const std::error_category& channel_category() noexcept {
  static const base::enum_category<errc> c{"otaledger.channel"};
  return c;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), channel_category()};
}

std::string_view problem::code_name() const {
  return error_name(code);
}
int problem::http_status() const {
  return http_status_of(code);
}

std::string_view error_name(const std::error_code& ec) {
  if (ec.category() == channel_category()) return to_name(static_cast<errc>(ec.value()));
  return api::error_name(ec);
}

int http_status_of(const std::error_code& ec) {
  return api::http_status_of_name(error_name(ec));
}

} // namespace otaledger::channel
