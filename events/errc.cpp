#include "events/errc.hpp"

#include "base/errc.hpp"

namespace otaledger::events {

std::string_view to_message(errc e) {
  switch (e) {
  case errc::ok:
    return "ok";
  case errc::malformed:
    return "malformed event data";
  case errc::checksum_mismatch:
    return "record checksum mismatch";
  case errc::unknown_type:
    return "unknown event type";
  case errc::unsupported_schema:
    return "unsupported event schema version";
  case errc::unsupported_format:
    return "unsupported record format version";
  case errc::too_large:
    return "event field or payload too large";
  }
  return "unknown events error";
}

const std::error_category& events_category() noexcept {
  static const base::enum_category<errc> cat{"otaledger.events"};
  return cat;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), events_category()};
}

} // namespace otaledger::events
