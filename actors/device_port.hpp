// The device port: how the actor system tells devices what their executions
// now allow, independent of the channel that carries it (HTTP poll, MQTT push,
// hawkBit DDI, the in-process simulated fleet).
//
// Reports travel the other way as ordinary domain commands
// (report_device_state, report_progress, report_result) submitted through
// runtime::submit with principal "device:<id>".
#pragma once

#include "events/device_events.hpp"

#include <span>
#include <string>
#include <string_view>

namespace otaledger::actors {

/// What a device must hear about now.
enum class notice_kind : std::uint8_t {
  upgrade,         ///< execution.notified: download (and install) the package
  hold,            ///< execution.held: the task paused; finish a download, do not install
  release,         ///< execution.released: the task resumed; carry on
  install_release, ///< execution.install_released: a download-only task may install now
  cancel,          ///< execution.canceled or cancel_requested: stop (a running install finishes)
};

inline std::span<const std::string_view> enum_names(notice_kind) {
  static constexpr std::string_view names[] = {"upgrade", "hold", "release", "install_release",
                                               "cancel"};
  return names;
}

struct device_notice {
  notice_kind kind = notice_kind::upgrade;
  std::string device;
  std::string task;
  std::uint32_t attempt = 1;
  /// The execution's terms (package id, kind, initial and target version, ...).
  /// The channel resolves the package's size, digests and download address
  /// from the package aggregate (runtime::query("package-<id>")).
  events::execution_terms terms;
  std::string correlation; ///< the correlation id of the event that caused it
};

/// Implemented by a channel. `deliver` is called on an actor thread after the
/// causing event is durable; it must not block (queue the work). Delivery is
/// at most once per event: a channel that loses a notice relies on the device
/// polling its current executions (HTTP) or on the next reconnect (MQTT).
class device_port {
public:
  virtual ~device_port() = default;
  virtual void deliver(device_notice notice) = 0;
};

} // namespace otaledger::actors
