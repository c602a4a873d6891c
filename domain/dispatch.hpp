// Routing: which stream an event or a command belongs to, and deciding a
// command of any aggregate against that stream's history.
//
// Streams are "<aggregate>-<id>": product-P, group-G, device-D, firmware-F,
// package-K, task-T. The aggregate of an event is its type name's prefix
// ("task.paused" -> task) or its `aggregate` member (execution.* -> device);
// its id is its first field (a convention every *_events.hpp keeps).
#pragma once

#include "domain/commands.hpp"
#include "domain/decide.hpp"

#include <span>
#include <string>
#include <string_view>

namespace otaledger::domain {

enum class aggregate_kind : std::uint8_t { product, group, device, firmware, package, task };

inline std::span<const std::string_view> enum_names(aggregate_kind) {
  static constexpr std::string_view names[] = {"product",  "group",   "device",
                                               "firmware", "package", "task"};
  return names;
}

struct stream_ref {
  aggregate_kind kind = aggregate_kind::product;
  std::string id;
  /// "task-17".
  std::string stream() const;
  bool operator==(const stream_ref&) const = default;
};

/// The stream an event is appended to.
stream_ref stream_of(const events::event& e);
/// The stream a command is decided on.
stream_ref stream_of(const command& c);

/// Folds `history` (the events of the command's stream, in order; events of
/// other streams are skipped) into the aggregate's state and decides `c`.
[[nodiscard]] decided<decision> decide_on(std::span<const events::event> history, const command& c,
                                          const decide_context& ctx);

} // namespace otaledger::domain
