#include "channel/errc.hpp"

#include "base/errc.hpp"
#include "domain/errc.hpp"
#include "storage/errc.hpp"

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
  if (ec.category() == domain::domain_category())
    return domain::to_name(static_cast<domain::errc>(ec.value()));
  if (ec.category() == storage::storage_category()) {
    switch (static_cast<storage::errc>(ec.value())) {
    case storage::errc::not_found:
      return "not_found";
    case storage::errc::too_large:
      return "too_large";
    case storage::errc::closed:
    case storage::errc::busy:
      return "unavailable";
    default:
      return "internal";
    }
  }
  if (ec.category() == base::base_category()) {
    switch (static_cast<base::errc>(ec.value())) {
    case base::errc::invalid_argument:
      return "malformed";
    case base::errc::too_large:
      return "too_large";
    case base::errc::timeout:
    case base::errc::canceled:
      return "unavailable";
    default:
      return "internal";
    }
  }
  return "internal";
}

int http_status_of(const std::error_code& ec) {
  auto n = error_name(ec);
  if (n == "malformed" || n == "invalid_argument") return 400;
  if (n == "unauthorized") return 401;
  if (n == "forbidden") return 403;
  if (n == "not_found" || n == "no_execution") return 404;
  if (n == "execution_finished") return 410;
  if (n == "too_large") return 413;
  if (n == "range_invalid") return 416;
  if (n == "initial_version_missing" || n == "image_missing") return 422;
  if (n == "unavailable") return 503;
  if (n == "internal" || n == "catalog_missing") return 500;
  return 409; // refused by the current state: invalid_state, out_of_order, already_exists, ...
}

} // namespace otaledger::channel
