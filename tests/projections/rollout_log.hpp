// A synthetic rollout log (what a 1,000,000-device rollout writes, scaled):
// a product, a task created and started, then per device: device.registered,
// execution.assigned, execution.notified, execution.downloaded,
// execution.installing, execution.succeeded. Appended directly (no domain
// decisions) in large appends, for crash tests and benchmarks.
#pragma once

#include "events/event.hpp"
#include "storage/event_store.hpp"

#include <string>
#include <vector>

namespace otaledger::testing {

inline storage::new_event make_new_event(const events::event& e, base::timestamp t,
                                         const std::string& correlation) {
  storage::new_event n;
  n.type = std::string{events::type_name_of(e)};
  n.schema = events::schema_of(e);
  n.time = t;
  n.meta.principal = "system:coordinator";
  n.meta.correlation = correlation;
  n.data = events::encode_payload(e);
  return n;
}

/// Appends the rollout of `devices` devices (6 events each, plus 3); returns
/// false on an append error.
inline bool append_rollout(storage::event_store& log, std::uint64_t devices,
                           std::uint64_t per_append = 256) {
  using namespace events;
  base::timestamp t = base::timestamp::from_seconds(1'767'225'600);
  auto one = [&](std::string stream, std::vector<event> evs, const std::string& corr) {
    storage::append_request r;
    r.stream = std::move(stream);
    r.expected = storage::expected_version::any();
    for (auto& e : evs) {
      t.micros += 1000;
      r.events.push_back(make_new_event(e, t, corr));
    }
    return static_cast<bool>(log.append(std::move(r)));
  };
  product_created p{"P1", "Meter", "", true};
  if (!one("product-P1", {p}, "setup")) return false;
  task_created tc;
  tc.task = "T1";
  tc.settings.name = "big rollout";
  tc.settings.product = "P1";
  tc.settings.package = "K1";
  tc.package_info.target_version = "2.0";
  tc.at = t;
  task_started ts{"T1", false, t};
  if (!one("task-T1", {tc, ts}, "start-T1")) return false;
  // Devices progress in cohorts, as a concurrency cap makes them.
  const std::uint64_t cohort = std::max<std::uint64_t>(1, per_append);
  for (std::uint64_t base = 0; base < devices; base += cohort) {
    const std::uint64_t end = std::min(devices, base + cohort);
    for (int step = 0; step < 6; ++step) {
      for (std::uint64_t i = base; i < end; ++i) {
        const std::string d = "d" + std::to_string(1'000'000'000 + i);
        event e;
        switch (step) {
        case 0: {
          device_registered r;
          r.device = d;
          r.product = "P1";
          r.name = "meter-" + std::to_string(i);
          char mac[32];
          std::snprintf(mac, sizeof mac, "02:00:%02x:%02x:%02x:%02x",
                        static_cast<unsigned>((i >> 24) & 0xFF),
                        static_cast<unsigned>((i >> 16) & 0xFF),
                        static_cast<unsigned>((i >> 8) & 0xFF), static_cast<unsigned>(i & 0xFF));
          r.mac = mac;
          r.fota_version = "1.0";
          r.at = t;
          e = r;
          break;
        }
        case 1: {
          execution_assigned a;
          a.device = d;
          a.task = "T1";
          a.terms.package = "K1";
          a.terms.target_version = "2.0";
          e = a;
          break;
        }
        case 2:
          e = execution_notified{d, "T1", execution_phase::pending, 1, t};
          break;
        case 3:
          e = execution_downloaded{d, "T1", execution_phase::notified};
          break;
        case 4:
          e = execution_installing{d, "T1"};
          break;
        default:
          e = execution_succeeded{d, "T1", execution_phase::installing, "2.0"};
          break;
        }
        if (!one("device-" + d, {e}, step == 0 ? "register" : "start-T1")) return false;
      }
    }
  }
  return true;
}

} // namespace otaledger::testing
