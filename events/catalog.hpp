// The catalog: every event type otaledger stores, as one std::variant.
//
// Adding an event: define it in the aggregate's *_events.hpp (see
// events/fields.hpp for the shape), append it at the END of `event` below, and
// document it in docs/events.md. Never remove, reorder or rename a stored type;
// a new shape is a new schema version plus an upcaster (events/event.hpp).
#pragma once

#include "events/product_events.hpp"

#include <variant>

namespace otaledger::events {

using event = std::variant<product_created>;

} // namespace otaledger::events
