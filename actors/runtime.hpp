// The actor runtime: CAF hosts for every aggregate, the rollout coordinator and
// durable timers, behind a plain C++ interface (no CAF types leak out), so the
// API, the device channels and the simulator only see this header.
//
//   auto rt = runtime::start(store, options, &port).value();
//   rt->submit(domain::pause_task{"17"}, meta, [](command_outcome o) { ... });
//   command_outcome o = rt->execute(cmd, meta);        // blocking form
//   rt->query("device-42", [](result<aggregate_state> s) { ... });
//
// Threads: callbacks run on CAF's threads; they must not block. `execute` and
// `query_sync` block the caller and must not be called from such a callback.
#pragma once

#include "actors/device_port.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "domain/commands.hpp"
#include "domain/decide.hpp"
#include "domain/device.hpp"
#include "domain/firmware.hpp"
#include "domain/group.hpp"
#include "domain/package.hpp"
#include "domain/product.hpp"
#include "domain/task.hpp"
#include "storage/event_store.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace otaledger::actors {

struct runtime_options {
  /// The clock commands are decided at; tests pass a base::manual_clock and
  /// call runtime::tick() after moving it.
  const base::clock* clock = nullptr; ///< null: the system clock
  /// Limits and defaults for decisions.
  domain::limits limits;
  /// An aggregate actor idle this long is passivated (its state is reloaded
  /// from snapshot + stream when needed again).
  std::chrono::milliseconds idle_timeout{30'000};
  /// Threads for blocking reads (recovery, snapshots). Default: 2.
  unsigned io_threads = 2;
  /// CAF scheduler threads; 0: one per core.
  unsigned scheduler_threads = 0;
  /// CAF scheduling policy: "sharing" (one queue, idle workers sleep) or
  /// "stealing" (per-worker queues, idle workers poll). On small machines the
  /// polling takes CPU from the store's writer thread. Default: "sharing".
  std::string scheduler_policy = "sharing";
  /// A device actor writes a snapshot once its stream is this many events
  /// past its last snapshot; 0: never.
  std::uint64_t snapshot_every = 64;
  /// A device with nothing in progress stays in memory (until idle_timeout)
  /// while at most this many aggregate actors are live; beyond it, it leaves
  /// memory as soon as its command is answered. 0: always leave at once.
  /// About 1.7-2.6 KiB per resident device actor with its state (measured).
  std::uint64_t resident_limit = 20'000;
  /// Run the rollout coordinator and the timers (off: commands only).
  bool coordinator = true;
  /// Most commands the coordinator keeps in flight at once.
  std::size_t coordinator_window = 8192;
};

/// The answer to a command.
struct command_outcome {
  std::error_code error;             ///< empty: accepted (domain::errc, storage::errc, ...)
  std::string message;               ///< the refusal, naming the state that refused it
  std::string stream;                ///< "task-17"
  stream_version version;            ///< the stream's version after the command
  log_position first, last;          ///< the appended positions (0 when nothing was appended)
  bool duplicate = false;            ///< a repeated command id: nothing appended
  std::vector<events::event> events; ///< what was appended
  bool ok() const { return !error; }
};

/// The current state of one aggregate.
using aggregate_state =
    std::variant<domain::product_state, domain::group_state, domain::device_state,
                 domain::firmware_state, domain::package_state, domain::task_state>;

/// Progress of the coordinator and the actor system (for tests and /metrics).
struct runtime_stats {
  log_position coordinator_position; ///< last log position the coordinator folded
  std::uint64_t live_hosts = 0;      ///< aggregate actors alive now
  std::uint64_t spawned = 0;         ///< aggregate actors spawned since start
  std::uint64_t passivated = 0;      ///< aggregate actors passivated since start
  std::uint64_t commands = 0;        ///< commands submitted
  std::uint64_t rejected = 0;        ///< commands refused
};

class runtime {
public:
  /// Starts the actor system on `store` (which must outlive the runtime).
  /// `port` (may be null) receives device notices; it must outlive the runtime.
  static result<std::unique_ptr<runtime>>
  start(storage::event_store& store, runtime_options options, device_port* port = nullptr);
  virtual ~runtime() = default;

  /// Decides `cmd` on its aggregate's actor; `meta` names who (principal:
  /// "operator:alice", "device:42", ...), the command id (idempotency key;
  /// empty: none), correlation and reason. `done` runs once, on a CAF thread.
  virtual void submit(domain::command cmd, events::event_meta meta,
                      std::function<void(command_outcome)> done) = 0;
  /// submit and wait.
  virtual command_outcome execute(domain::command cmd, events::event_meta meta) = 0;

  /// The current state of `stream` ("device-42", "task-17", ...); an unknown
  /// stream answers a default state (exists/registered false).
  virtual void query(std::string stream, std::function<void(result<aggregate_state>)> done) = 0;
  virtual result<aggregate_state> query_sync(std::string stream) = 0;

  /// Re-plans every running task and fires due timers now (after a manual
  /// clock moved). Returns at once.
  virtual void tick() = 0;
  /// Blocks until the coordinator has folded the log up to `p` and every
  /// command it issued for it was answered (tests, benches).
  virtual void wait_until_settled(log_position p) = 0;

  virtual runtime_stats stats() = 0;
  /// Stops the coordinator and the actors; pending commands are answered with
  /// errc::closed. Idempotent; the destructor calls it.
  virtual void stop() = 0;
};

} // namespace otaledger::actors
