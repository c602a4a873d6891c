#include "api/metrics.hpp"

#include <fmt/format.h>

namespace otaledger::api {

void api_metrics::record(int status) {
  std::lock_guard lock{mutex_};
  ++by_status_[status];
}

std::uint64_t api_metrics::requests(int status) const {
  std::lock_guard lock{mutex_};
  auto it = by_status_.find(status);
  return it == by_status_.end() ? 0 : it->second;
}

std::string api_metrics::render(const actors::runtime_stats& s,
                                std::optional<std::uint64_t> head) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
  };
  metric("otaledger_commands_total", "counter", "Commands submitted to the actor runtime.",
         s.commands);
  metric("otaledger_commands_rejected_total", "counter", "Commands refused by the domain.",
         s.rejected);
  metric("otaledger_live_actors", "gauge", "Aggregate actors alive now.", s.live_hosts);
  metric("otaledger_actors_spawned_total", "counter", "Aggregate actors spawned since start.",
         s.spawned);
  metric("otaledger_actors_passivated_total", "counter", "Aggregate actors passivated since start.",
         s.passivated);
  metric("otaledger_coordinator_position", "gauge", "Last log position the coordinator folded.",
         s.coordinator_position.value());
  if (head) metric("otaledger_log_head", "gauge", "Last log position.", *head);
  out += "# HELP otaledger_http_requests_total Operator API requests by HTTP status.\n"
         "# TYPE otaledger_http_requests_total counter\n";
  std::lock_guard lock{mutex_};
  for (auto& [status, n] : by_status_)
    out += fmt::format("otaledger_http_requests_total{{status=\"{}\"}} {}\n", status, n);
  return out;
}

} // namespace otaledger::api
