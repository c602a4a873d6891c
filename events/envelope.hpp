// The envelope: how every event is stored, published and exported.
//
// An envelope is a plain value. Its `data` holds the event's payload in the
// compact binary form of events/codec.hpp, so the storage layer never needs to
// know event types; `events::decode(envelope)` turns it into a typed event.
// The stored record (events/record.hpp) and the JSON form
// (events/json_codec.hpp) both carry every field below.
#pragma once

#include "base/strong_id.hpp"
#include "base/time.hpp"
#include "base/uuid.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace otaledger::events {

using base::timestamp;
using base::uuid;

/// Limits checked by the codecs and the store; an input over them is refused.
inline constexpr std::size_t max_stream_name = 200; ///< bytes of a stream id
inline constexpr std::size_t max_meta_field = 1024; ///< principal, command, correlation, reason
inline constexpr std::size_t max_payload = 1 << 20; ///< bytes of one event's data

/// Metadata that says who caused an event and why (SPEC §3, invariant 6).
struct event_meta {
  std::string principal;   ///< who: "operator:alice", "device:42", "system:coordinator"
  std::string command;     ///< id of the command that caused it (causation, idempotency key)
  std::string correlation; ///< id shared by a cause and all of its effects
  std::string reason;      ///< why, as the operator said it; may be empty
  bool operator==(const event_meta&) const = default;
};

/// One stored event.
struct envelope {
  log_position position;    ///< global, dense from 1, assigned by the store
  std::string stream;       ///< e.g. "task-17"
  stream_version version;   ///< dense from 1 within the stream, assigned by the store
  uuid id;                  ///< 128-bit event id
  std::string type;         ///< e.g. "task.paused"
  std::uint16_t schema = 1; ///< schema version of `data`
  timestamp time;           ///< when it was recorded (UTC, µs)
  event_meta meta;          ///< principal, command, correlation, reason
  std::string data;         ///< the payload, compact binary (events/codec.hpp)
  bool operator==(const envelope&) const = default;
};

/// event_meta's fields, borrowed.
struct event_meta_view {
  std::string_view principal, command, correlation, reason;
};

/// An envelope's fields borrowed from memory someone else owns (a page of
/// records read from the store, or an envelope): what readers that only look
/// at events use, so reading the log copies no field into its own string.
struct envelope_view {
  log_position position;
  std::string_view stream;
  stream_version version;
  uuid id;
  std::string_view type;
  std::uint16_t schema = 1;
  timestamp time;
  event_meta_view meta;
  std::string_view data;

  envelope_view() = default;
  /// Borrows `e`'s fields (valid while `e` lives unchanged).
  envelope_view(const envelope& e) // NOLINT(google-explicit-constructor): a view of it
      : position(e.position), stream(e.stream), version(e.version), id(e.id), type(e.type),
        schema(e.schema),
        time(e.time), meta{e.meta.principal, e.meta.command, e.meta.correlation, e.meta.reason},
        data(e.data) {}
  /// An owning copy.
  envelope to_envelope() const {
    return envelope{position,
                    std::string{stream},
                    version,
                    id,
                    std::string{type},
                    schema,
                    time,
                    event_meta{std::string{meta.principal}, std::string{meta.command},
                               std::string{meta.correlation}, std::string{meta.reason}},
                    std::string{data}};
  }
};

} // namespace otaledger::events
