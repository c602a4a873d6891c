#include "domain/targeting.hpp"

#include "domain/validation.hpp"

#include <algorithm>

namespace otaledger::domain {

using namespace events;

device_facts facts_of(const device_state& d, std::vector<std::string> groups) {
  return {d.id, d.product, d.mac, d.region, d.fota_version, d.sota_version, std::move(groups)};
}

bool matches_targets(const target_spec& t, std::string_view product, firmware_kind kind,
                     const device_facts& d) {
  if (d.product != product) return false;
  auto contains = [](const auto& list, const auto& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
  };
  bool any_list = !t.devices.empty() || !t.groups.empty() || !t.regions.empty() || !t.macs.empty();
  bool selected = !any_list || contains(t.devices, d.id);
  for (const auto& g : d.groups)
    selected = selected || contains(t.groups, g);
  for (const auto& r : t.regions)
    selected = selected ||
               (r.province == d.region.province && (r.city.empty() || r.city == d.region.city));
  if (!selected && !d.mac.empty() && !t.macs.empty()) {
    auto mac = normalize_mac(d.mac);
    for (const auto& m : t.macs) {
      auto want = normalize_mac(m);
      selected = selected || (mac && want && *mac == *want);
    }
  }
  if (!selected) return false;
  if (t.versions.empty()) return true;
  const auto& v = kind == firmware_kind::fota ? d.fota_version : d.sota_version;
  return contains(t.versions, v);
}

bool matches_targets(const task_state& task, const device_facts& d) {
  return matches_targets(task.settings.targets, task.settings.product, task.package.kind, d);
}

bool accepts_new_targets(const task_state& task) {
  return task.exists && task.settings.targets.dynamic &&
         (task.status == task_status::upgrading || task.status == task_status::paused);
}

} // namespace otaledger::domain
