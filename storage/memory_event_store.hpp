// An event store in memory, for unit tests of the layers above storage
// (domain harnesses, actors, projections, the Kafka relay).
//
// It keeps the whole event_store contract (expected versions, command-id
// dedup, dense positions, atomic appends, validation with the same limits and
// error details, subscriptions with catch-up then live delivery on their own
// thread) except durability: nothing survives the object. append_async
// completes inline, on the caller's thread.
#pragma once

#include "storage/event_store.hpp"

#include <memory>

namespace otaledger::base {
class clock;
}

namespace otaledger::storage {

/// A fresh, empty store. `clock` (not owned; nullptr: the system clock)
/// stamps events that carry no time.
std::unique_ptr<event_store> make_memory_event_store(const base::clock* clock = nullptr);

} // namespace otaledger::storage
