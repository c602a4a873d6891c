// Forward declarations of the domain's main types, for headers that only
// pass them around (actors, projections).
#pragma once

namespace otaledger::domain {

struct rejection;
struct limits;
struct decide_context;
class catalog_index;
struct product_state;
struct group_state;
struct device_state;
struct execution_state;
struct firmware_state;
struct package_state;
struct task_state;
struct rollout_counters;
struct rollout_timers;
struct rollout_plan;
struct device_facts;

} // namespace otaledger::domain
