// The device aggregate as hosted by actors/host.hpp: decide and evolve from
// domain/device.hpp, and the notices the device must hear once its events are
// durable.
#pragma once

#include "actors/host.hpp"
#include "domain/device.hpp"
#include "events/codec.hpp"

#include <type_traits>

namespace otaledger::actors::internal {

struct device_agg {
  using state = domain::device_state;
  using command = domain::device_command;

  static decision decide(const state& s, const command& c, const command_context& ctx,
                         const runtime_services& svc) {
    domain::decide_context dc{ctx.now, ctx.meta.principal, svc.limits, nullptr};
    std::shared_ptr<const domain::catalog_index> catalog;
    if (std::holds_alternative<domain::register_device>(c) && svc.catalog) {
      catalog = svc.catalog();
      dc.catalog = catalog.get();
    }
    auto r = domain::decide(s, c, dc);
    if (!r) return decision::refuse(r.error().error_code(), std::move(r.error().message));
    decision d;
    d.events = std::move(r).value();
    return d;
  }

  static void apply(state& s, const events::event& e) { s = domain::evolve(std::move(s), e); }

  /// Snapshots: the whole device state in the events' binary codec (fields in
  /// declaration order). A change to device_state's fields bumps the schema;
  /// a snapshot of another schema is ignored and the stream replayed.
  static constexpr std::uint16_t snapshot_schema = 1;
  static std::string write_snapshot(const state& s) { return events::encode_binary(s); }
  static std::optional<state> read_snapshot(const storage::snapshot& snap) {
    if (snap.schema != snapshot_schema) return std::nullopt;
    auto s = events::decode_binary<state>(snap.data);
    if (!s) return std::nullopt;
    return std::move(s).value();
  }

  /// No execution is in progress: the actor may leave memory.
  static bool quiescent(const state& s) {
    for (const auto& x : s.executions)
      if (x.phase != events::execution_phase::succeeded &&
          x.phase != events::execution_phase::failed &&
          x.phase != events::execution_phase::canceled)
        return false;
    return true;
  }

  static void after(const state& s, const std::vector<events::event>& evs,
                    const runtime_services& svc, const events::event_meta& meta) {
    if (!svc.port) return;
    for (const auto& ev : evs) {
      std::visit(
          [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            std::optional<notice_kind> kind;
            if constexpr (std::is_same_v<T, events::execution_notified>)
              kind = notice_kind::upgrade;
            else if constexpr (std::is_same_v<T, events::execution_held>)
              kind = notice_kind::hold;
            else if constexpr (std::is_same_v<T, events::execution_released>)
              kind = notice_kind::release;
            else if constexpr (std::is_same_v<T, events::execution_install_released>)
              kind = notice_kind::install_release;
            else if constexpr (std::is_same_v<T, events::execution_canceled> ||
                               std::is_same_v<T, events::execution_cancel_requested>)
              kind = notice_kind::cancel;
            if constexpr (requires { e.task; }) {
              if (!kind) return;
              device_notice n;
              n.kind = *kind;
              n.device = s.id;
              n.task = e.task;
              if (const auto* x = s.execution(e.task)) {
                n.terms = x->terms;
                n.attempt = x->attempt;
              }
              n.correlation = meta.correlation;
              svc.port->deliver(std::move(n));
            }
          },
          ev);
    }
  }
};

} // namespace otaledger::actors::internal
