// hawkBit's Direct Device Integration API (DDI v1) as a second dialect of the
// device channel, so that devices already running a hawkBit client (SWUpdate's
// suricatta, rauc-hawkbit-updater, ...) update from otaledger unchanged
// (SPEC §4, docs/device-protocol.md "hawkBit DDI").
//
//   GET  /{tenant}/controller/v1/{controller}                              poll: config + links
//   GET  /{tenant}/controller/v1/{controller}/deploymentBase/{action}      the deployment
//   POST /{tenant}/controller/v1/{controller}/deploymentBase/{action}/feedback
//   GET  /{tenant}/controller/v1/{controller}/cancelAction/{action}
//   POST /{tenant}/controller/v1/{controller}/cancelAction/{action}/feedback
//   PUT  /{tenant}/controller/v1/{controller}/configData                   attributes
//   GET|HEAD /{tenant}/controller/v1/{controller}/softwaremodules/{package}/artifacts/{file}
//
// Mapping (nothing below the device service knows about DDI):
// - tenant = otaledger product id, controller id = device id (the device must
//   belong to the product);
// - action id = a stable number per execution attempt (ddi_action_id), so a
//   retried execution is a new action and stale feedback for an earlier
//   attempt is refused (410) instead of counting for the new one;
// - feedback -> the canonical progress / result / report messages, with a
//   message id derived from the feedback's bytes (a replay is a duplicate) and
//   the feedback's details as the events' reason (the device's audit trail);
// - a controller that talks to the server is online (DDI has no online
//   report): the first DDI request of an offline device records a canonical
//   report online=true before it is answered, so deferred executions reach it;
// - configData -> the attributes are kept in the kv space "ddi_attributes"
//   (not decisions: not in the log), and fota_version / sota_version / signal /
//   battery among them become a canonical report.
//
// Authentication: "Authorization: TargetToken <device secret>" or
// "GatewayToken <product self-registration secret>". Anything else is answered
// 401 and logged (stderr) with the peer address.
//
// Threads: handlers never block on the actor system (they answer from the
// runtime's callbacks); the first deployment of a package computes the
// artifact's SHA-1 (hawkBit clients require it) by reading the blob once, and
// caches it in the kv space "ddi_sha1".
#pragma once

#include "actors/runtime.hpp"
#include "api/http.hpp"
#include "channel/service.hpp"
#include "storage/kv_store.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace otaledger::channel {

struct ddi_options {
  /// config.polling.sleep in the controller base resource. Default: 5 minutes.
  std::uint32_t poll_seconds = 300;
  /// Prefix of the links the server hands out ("https://ota.example.com");
  /// empty: "http://" + the request's Host header. Default: "".
  std::string base_url;
  /// Bytes of a feedback or configData body. Default: 64 KiB.
  std::size_t max_body = 64 * 1024;
  /// Called for every feedback after it was decided (tests, logging).
  std::function<void(const std::string& device, const std::string& summary, int status)>
      on_feedback;
};

/// The kv spaces the dialect keeps.
inline constexpr std::string_view ddi_attributes_space = "ddi_attributes";
inline constexpr std::string_view ddi_sha1_space = "ddi_sha1";

/// The hawkBit action id of a task's execution attempt: FNV-1a (32 bit) of
/// "<task>#<attempt>", in 1 .. 2^31-1 (hawkBit clients parse it as an int).
std::int64_t ddi_action_id(std::string_view task, std::uint32_t attempt);

/// "HH:MM:SS" for config.polling.sleep (hours saturate at 99).
std::string ddi_sleep(std::uint32_t seconds);

/// Adds the DDI routes to `r`. Everything referenced must outlive the server.
/// `kv` holds the dialect's spaces (the views store, like the credentials).
void add_ddi_routes(api::router& r, device_service& svc, actors::runtime& rt, storage::kv_store& kv,
                    ddi_options options = {});

} // namespace otaledger::channel
