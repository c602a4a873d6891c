// Typed events <-> envelope payloads, and the upcasters that read old schemas.
#pragma once

#include "base/result.hpp"
#include "events/catalog.hpp"
#include "events/codec.hpp"
#include "events/envelope.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::events {

/// The wire name of the event ("task.paused").
std::string_view type_name_of(const event& e);
/// The current schema version of the event's type.
std::uint16_t schema_of(const event& e);
/// The compact binary payload of the event (envelope::data).
std::string encode_payload(const event& e);

/// Reads a payload of the given type and schema. An older schema goes through
/// the registered upcasters; an unknown type is errc::unknown_type, a schema
/// with no path to the current one errc::unsupported_schema.
result<event> decode_payload(std::string_view type, std::uint16_t schema, std::string_view data);

/// decode_payload into `out`, reusing it when it already holds an event of
/// that type (for readers that decode many events one after another). On an
/// error `out` holds some event of no meaning.
result<void> decode_payload_into(std::string_view type, std::uint16_t schema, std::string_view data,
                                 event& out);

/// decode_payload(e.type, e.schema, e.data) (an envelope converts to a view).
result<event> decode(const envelope_view& e);

/// Every type name in the catalog, in catalog order.
const std::vector<std::string_view>& catalog_type_names();

/// An upcaster reads the payload of (type, from_schema) and returns the event
/// in its current shape (typically: decode the old struct, fill new fields).
using upcaster = std::function<result<event>(std::string_view data)>;

/// Registers an upcaster. Registration happens at start-up, before any decode.
void register_upcaster(std::string type, std::uint16_t from_schema, upcaster fn);

} // namespace otaledger::events
