// What the RocksDB store and the in-memory store share: validating an append
// request and turning it into envelopes with positions and versions.
#pragma once

#include "base/result.hpp"
#include "storage/errc.hpp"
#include "storage/event_store.hpp"
#include "storage/options.hpp"

#include <fmt/format.h>

namespace otaledger::storage::internal {

/// Checks the request's shape (not its expected version). Sets the error detail.
inline result<void> validate(const append_request& req, std::size_t max_events) {
  auto bad = [](std::string what) {
    set_error_detail(std::move(what));
    return make_error_code(errc::invalid_argument);
  };
  if (req.stream.empty()) return bad("the stream name is empty");
  if (req.stream.size() > events::max_stream_name)
    return bad(fmt::format("the stream name is longer than {} bytes", events::max_stream_name));
  if (req.stream.find('\0') != std::string::npos) return bad("the stream name contains a NUL byte");
  if (req.events.empty()) return bad(fmt::format("an append to {} carries no event", req.stream));
  if (req.events.size() > max_events)
    return bad(fmt::format("an append to {} carries {} events; the limit is {}", req.stream,
                           req.events.size(), max_events));
  if (req.command_id.size() > events::max_meta_field)
    return bad(fmt::format("the command id is longer than {} bytes", events::max_meta_field));
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    auto& e = req.events[i];
    if (e.type.empty())
      return bad(fmt::format("event {} of the append to {} has no type", i, req.stream));
    if (e.data.size() > events::max_payload) {
      set_error_detail(
          fmt::format("event {} of the append to {} has {} bytes of data; the limit is {}", i,
                      req.stream, e.data.size(), events::max_payload));
      return make_error_code(errc::too_large);
    }
    for (auto* f : {&e.meta.principal, &e.meta.command, &e.meta.correlation, &e.meta.reason})
      if (f->size() > events::max_meta_field)
        return bad(fmt::format("event {} of the append to {} has a metadata field over {} bytes", i,
                               req.stream, events::max_meta_field));
  }
  return ok();
}

/// Checks the expected version against the stream's head.
inline result<void> check_expected(const append_request& req, stream_version head) {
  const auto& x = req.expected;
  bool good = x.k == expected_version::kind::any ||
              (x.k == expected_version::kind::no_stream && head() == 0) ||
              (x.k == expected_version::kind::exact && x.version == head);
  if (good) return ok();
  set_error_detail(fmt::format("{} is at version {}, the append expected {}", req.stream, head(),
                               x.k == expected_version::kind::no_stream
                                   ? std::string{"no stream"}
                                   : std::to_string(x.version())));
  return make_error_code(errc::wrong_expected_version);
}

/// Builds the envelopes of an accepted append.
inline std::vector<events::envelope> make_envelopes(append_request& req, log_position first,
                                                    stream_version head, events::timestamp now) {
  std::vector<events::envelope> out;
  out.reserve(req.events.size());
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    auto& ne = req.events[i];
    events::envelope e;
    e.position = log_position{first() + i};
    e.stream = req.stream;
    e.version = stream_version{head() + 1 + i};
    e.id = ne.id.is_nil() ? events::uuid::random() : ne.id;
    e.type = std::move(ne.type);
    e.schema = ne.schema;
    e.time = ne.time.micros == 0 ? now : ne.time;
    e.meta = std::move(ne.meta);
    e.data = std::move(ne.data);
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace otaledger::storage::internal
