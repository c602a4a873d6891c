// Prometheus text exposition for the operators' API (/metrics).
//
// Counts HTTP requests by status (every route that add_operator_routes adds)
// and renders them with the actor runtime's counters (runtime::stats()):
//
//   otaledger_commands_total          counter  commands submitted to the runtime
//   otaledger_commands_rejected_total counter  commands the domain refused
//   otaledger_live_actors             gauge    aggregate actors alive now
//   otaledger_actors_spawned_total    counter
//   otaledger_actors_passivated_total counter
//   otaledger_log_head                gauge    last log position
//   otaledger_http_requests_total{status="200"} counter
//
// Thread safety: record() and render() from any thread.
#pragma once

#include "actors/runtime.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace otaledger::api {

class api_metrics {
public:
  /// Counts one answered request.
  void record(int status);
  /// Requests answered with `status` so far.
  std::uint64_t requests(int status) const;
  /// The exposition text (version 0.0.4). `head` is the log head when known.
  std::string render(const actors::runtime_stats& s, std::optional<std::uint64_t> head) const;

private:
  mutable std::mutex mutex_;
  std::map<int, std::uint64_t> by_status_;
};

} // namespace otaledger::api
