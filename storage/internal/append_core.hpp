// What the RocksDB store and the in-memory store share: checking an append
// request's shape and its expected version, with the same error details.
#pragma once

#include "base/result.hpp"
#include "storage/errc.hpp"
#include "storage/event_store.hpp"

#include <fmt/format.h>

namespace otaledger::storage::internal {

/// Sets the detail and returns the code (the one way storage/ reports an error).
inline std::error_code fail(errc code, std::string detail) {
  set_error_detail(std::move(detail));
  return make_error_code(code);
}

/// Checks a stream name: non-empty, bounded, no NUL (the index keys rely on it).
inline result<void> validate_stream_name(std::string_view stream) {
  if (stream.empty()) return fail(errc::invalid_argument, "the stream name is empty");
  if (stream.size() > events::max_stream_name)
    return fail(errc::invalid_argument,
                fmt::format("the stream name is longer than {} bytes", events::max_stream_name));
  if (stream.find('\0') != std::string_view::npos)
    return fail(errc::invalid_argument, "the stream name contains a NUL byte");
  return ok();
}

/// Rough encoded size of a request (for limits and for closing commit groups).
inline std::size_t estimated_bytes(const append_request& req) {
  std::size_t n = req.command_id.size() + 32;
  for (const auto& e : req.events)
    n += 64 + req.stream.size() + e.type.size() + e.data.size() + e.meta.principal.size() +
         e.meta.command.size() + e.meta.correlation.size() + e.meta.reason.size();
  return n;
}

/// Checks the request's shape (not its expected version).
inline result<void> validate(const append_request& req, std::size_t max_events,
                             std::size_t max_bytes) {
  OTA_TRYV(validate_stream_name(req.stream));
  if (req.events.empty())
    return fail(errc::invalid_argument,
                fmt::format("an append to {} carries no event", req.stream));
  if (req.events.size() > max_events)
    return fail(errc::invalid_argument,
                fmt::format("an append to {} carries {} events; the limit is {}", req.stream,
                            req.events.size(), max_events));
  if (req.command_id.size() > events::max_meta_field)
    return fail(errc::invalid_argument,
                fmt::format("the command id is longer than {} bytes", events::max_meta_field));
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const auto& e = req.events[i];
    if (e.type.empty() || e.type.size() > events::max_meta_field)
      return fail(
          errc::invalid_argument,
          fmt::format("event {} of the append to {} has an empty or overlong type", i, req.stream));
    if (e.data.size() > events::max_payload)
      return fail(errc::too_large,
                  fmt::format("event {} of the append to {} has {} bytes of data; the limit is {}",
                              i, req.stream, e.data.size(), events::max_payload));
    for (const auto* f : {&e.meta.principal, &e.meta.command, &e.meta.correlation, &e.meta.reason})
      if (f->size() > events::max_meta_field)
        return fail(errc::invalid_argument,
                    fmt::format("event {} of the append to {} has a metadata field over {} bytes",
                                i, req.stream, events::max_meta_field));
  }
  if (const auto bytes = estimated_bytes(req); bytes > max_bytes)
    return fail(errc::too_large, fmt::format("an append to {} carries about {} bytes; the limit "
                                             "is {}",
                                             req.stream, bytes, max_bytes));
  return ok();
}

/// Checks the expected version against the stream's committed head.
inline result<void> check_expected(const append_request& req, std::uint64_t head) {
  const auto& x = req.expected;
  const bool good = x.k == expected_version::kind::any ||
                    (x.k == expected_version::kind::no_stream && head == 0) ||
                    (x.k == expected_version::kind::exact && x.version() == head);
  if (good) return ok();
  return fail(errc::wrong_expected_version,
              fmt::format("{} is at version {}, the append expected {}", req.stream, head,
                          x.k == expected_version::kind::no_stream ? std::string{"no stream"}
                                                                   : std::to_string(x.version())));
}

} // namespace otaledger::storage::internal
