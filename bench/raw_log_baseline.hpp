// The raw engine under a workload that appends to the log: the same events'
// bytes written to a plain RocksDB with synced WriteBatches of 1,000, so a
// workload's figure is a ratio to what RocksDB alone does on this machine.
#pragma once

#include "base/strong_id.hpp"
#include "storage/event_store.hpp"

#include <cstdint>
#include <string>

namespace otaledger::bench {

struct raw_log_result {
  double ops_per_s = 0;     ///< events per second (write time only)
  std::uint64_t events = 0; ///< events written
};

/// Writes the payloads of log positions [from, to] of `store` to a fresh
/// RocksDB in `dir` (key = be64 position), synced batches of 1,000.
raw_log_result raw_put_synced_batched(storage::event_store& store, log_position from,
                                      log_position to, const std::string& dir);

} // namespace otaledger::bench
