// The catalog: every event type otaledger stores, as one std::variant.
//
// Adding an event: define it in the aggregate's *_events.hpp (see
// events/fields.hpp for the shape), append it at the END of `event` below, and
// document it in docs/events.md. Never remove, reorder or rename a stored type;
// a new shape is a new schema version plus an upcaster (events/event.hpp).
//
// Streams: product-P, group-G, device-D (registration, reports and the
// device's executions of tasks), firmware-F, package-K, task-T. The first field
// of every event is the id of its aggregate (domain/dispatch.hpp relies on it).
#pragma once

#include "events/device_events.hpp"
#include "events/firmware_events.hpp"
#include "events/group_events.hpp"
#include "events/package_events.hpp"
#include "events/product_events.hpp"
#include "events/task_events.hpp"

#include <variant>

namespace otaledger::events {

using event = std::variant<
    // product-P
    product_created, product_edited,
    // group-G
    group_created, group_edited, group_deleted, group_devices_added, group_devices_removed,
    // device-D: registration and reports
    device_registered, device_edited, device_version_changed, device_came_online,
    device_went_offline, device_conditions_changed,
    // device-D: executions of tasks
    execution_assigned, execution_deferred, execution_deferral_ended, execution_notified,
    execution_downloading, execution_downloaded, execution_installing, execution_succeeded,
    execution_failed, execution_canceled, execution_cancel_requested, execution_retried,
    execution_retry_dropped, execution_held, execution_released, execution_install_released,
    execution_noted,
    // firmware-F
    firmware_created, firmware_image_uploaded, firmware_deleted, firmware_verification_started,
    firmware_verification_passed, firmware_verification_failed, firmware_verified,
    // package-K
    package_created, package_file_replaced, package_deleted,
    // task-T
    task_created, task_edited, task_deleted, task_started, task_paused, task_resumed, task_canceled,
    task_deadline_reached, task_completed, task_targets_resolved, task_wave_advanced,
    task_install_released, task_retry_failed_requested>;

} // namespace otaledger::events
