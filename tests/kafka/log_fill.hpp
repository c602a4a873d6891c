// Deterministic logs for the Kafka tests: `fill` appends product.created
// events round-robin over a number of streams, with ids from a seed, so a
// parent process and its child (or two runs) build the same log.
#pragma once

#include "base/uuid.hpp"
#include "events/event.hpp"
#include "storage/event_store.hpp"

#include <stdexcept>
#include <string>

namespace otaledger::kafka::testing {

/// One product.created event for stream `stream`, with a deterministic id.
inline storage::new_event make_event(base::uuid_generator& ids, std::uint64_t n,
                                     const std::string& stream) {
  events::product_created pc;
  pc.product = stream;
  pc.name = "product " + std::to_string(n);
  pc.secret_hash = "";
  pc.require_verification = (n % 2) == 0;
  storage::new_event e;
  e.id = ids.next();
  e.type = std::string{events::product_created::type_name};
  e.schema = events::product_created::schema;
  e.time = base::timestamp{1'700'000'000'000'000 + static_cast<std::int64_t>(n) * 1000};
  e.meta.principal = "operator:test";
  e.meta.command = "cmd-" + std::to_string(n);
  e.meta.correlation = "corr-" + std::to_string(n / 10);
  e.data = events::encode_payload(events::event{pc});
  return e;
}

/// Appends `count` events spread round-robin over `streams` streams
/// ("product-0".."product-<streams-1>"), one event per append, ids from `seed`.
/// The same (count, streams, seed, first) always gives the same log.
inline void fill(storage::event_store& store, std::uint64_t count, std::uint64_t streams,
                 std::uint64_t seed = 7, std::uint64_t first = 0) {
  base::uuid_generator ids{seed};
  for (std::uint64_t i = 0; i < first; ++i)
    ids.next();
  for (std::uint64_t i = first; i < first + count; ++i) {
    storage::append_request req;
    req.stream = "product-" + std::to_string(i % streams);
    req.events.push_back(make_event(ids, i, req.stream));
    auto r = store.append(std::move(req));
    if (!r) throw std::runtime_error("append failed: " + r.error().message());
  }
}

} // namespace otaledger::kafka::testing
