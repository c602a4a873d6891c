// A small pool of threads for blocking work (RocksDB reads during recovery,
// snapshot writes), so that nothing blocking runs on CAF's shared scheduler.
// Tasks start in FIFO order per pool; results go back to actors by message.
#pragma once

#include "base/worker.hpp"

namespace otaledger::actors {

/// io_pool{threads}; post(fn) queues fn (tasks queued before destruction
/// still run).
using io_pool = base::worker;

} // namespace otaledger::actors
