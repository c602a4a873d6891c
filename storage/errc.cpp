#include "storage/errc.hpp"

#include "base/errc.hpp"

namespace otaledger::storage {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::wrong_expected_version:
    return "wrong expected version";
  case errc::corruption:
    return "corrupted record";
  case errc::io_error:
    return "I/O error";
  case errc::not_found:
    return "not found";
  case errc::invalid_argument:
    return "invalid storage request";
  case errc::too_large:
    return "over the storage limit";
  case errc::closed:
    return "store closed";
  case errc::busy:
    return "store busy";
  }
  return "unknown storage error";
}

const std::error_category& storage_category() noexcept {
  static const base::enum_category<errc> cat{"otaledger.storage"};
  return cat;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), storage_category()};
}

namespace {
thread_local std::string detail_text;
} // namespace

void set_error_detail(std::string text) {
  detail_text = std::move(text);
}

const std::string& error_detail() {
  return detail_text;
}

} // namespace otaledger::storage
