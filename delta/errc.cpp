#include "delta/errc.hpp"

#include "base/errc.hpp"

namespace otaledger::delta {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::not_a_delta:
    return "not an otaledger delta (bad magic)";
  case errc::unsupported_version:
    return "unsupported delta format version";
  case errc::unsupported_codec:
    return "delta codec or codec parameters not supported";
  case errc::corrupt_header:
    return "corrupt delta header (CRC or field out of range)";
  case errc::truncated:
    return "delta is truncated";
  case errc::corrupt_payload:
    return "corrupt delta payload";
  case errc::wrong_old_image:
    return "delta does not apply to this old image (size or SHA-256 differs)";
  case errc::new_image_mismatch:
    return "produced image does not match the delta's SHA-256";
  case errc::trailing_data:
    return "unexpected bytes after the delta's payload";
  case errc::too_large:
    return "image too large";
  case errc::work_buffer_too_small:
    return "device applier work buffer too small for this delta";
  case errc::invalid_argument:
    return "invalid delta options";
  case errc::compression_failed:
    return "compression failed";
  }
  return "unknown delta error";
}

const std::error_category& delta_category() noexcept {
  static const base::enum_category<errc> cat{"otaledger.delta"};
  return cat;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), delta_category()};
}

} // namespace otaledger::delta
