// Replay: one aggregate as it was at a past log position or time, and its
// timeline, by folding a prefix of its stream with the domain's evolve
// (ARCHITECTURE.md: replay is just a fold). Reads the stream in pages through
// the log's stream index; holds only the aggregate's state.
//
// Thread safety: free functions; call from any thread.
#pragma once

#include "base/result.hpp"
#include "base/time.hpp"
#include "events/json_codec.hpp"
#include "storage/event_store.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace otaledger::projections {

struct replay_limit {
  log_position position{};               ///< 0: no limit; else only events at or before it
  std::optional<base::timestamp> time{}; ///< only events at or before it
};

struct replayed_stream {
  std::string stream;
  std::string aggregate;  ///< "task", "device", "group", "product", "firmware", "package"
  stream_version version; ///< the last event folded (0: none yet at that moment)
  log_position position;  ///< its log position
  base::timestamp time;   ///< its time
  events::json state;     ///< the aggregate's state then (projection rows' JSON shape)
};

/// Folds `stream` up to the limit; `on_event` (optional) sees each folded
/// envelope in order (the timeline). A stream name of an unknown aggregate,
/// or a stream with no events at all, is errc::invalid_argument.
result<replayed_stream>
replay_stream(storage::event_store& log, std::string_view stream, const replay_limit& limit,
              const std::function<void(const events::envelope&)>& on_event = {});

} // namespace otaledger::projections
