// The vocabulary shared by every aggregate's pure decide/evolve functions.
//
//   decided<decision> decide(const X_state&, const X_command&, const decide_context&);
//   X_state           evolve(X_state, const events::event&);
//
// `decide` reads nothing but its arguments: time comes from decide_context::now,
// limits and configuration from decide_context::limits, facts of other
// aggregates from the catalog index the caller passes in. It returns the events
// to append (possibly none: an idempotent repeat) or a `rejection` whose
// message names the aggregate and its current state. `evolve` folds one event
// into the state; events of other aggregates are ignored, so a caller may fold
// a mixed list. Both are deterministic: replay is a fold (ARCHITECTURE.md).
//
// Thread safety: everything here is a value; call it from any thread.
#pragma once

#include "base/result.hpp"
#include "base/time.hpp"
#include "domain/errc.hpp"
#include "events/catalog.hpp"
#include "events/fields.hpp"

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace otaledger::domain {

class catalog_index;

/// Why a command was refused: a code for machines and a sentence for people
/// that names the aggregate and its state ("cannot pause task 17: it is not_started").
struct rejection {
  errc code = errc::invalid_argument;
  std::string message;
  /// The code as a std::error_code (category "otaledger.domain").
  std::error_code error_code() const { return make_error_code(code); }
  bool operator==(const rejection&) const = default;
};

/// A value of T, or a rejection. Declared nodiscard by Boost.Outcome;
/// propagate with OTA_TRY / OTA_TRYV.
template <class T> using decided = outcome::result<T, rejection, outcome::policy::terminate>;

/// The events one command produces, in append order (all or nothing).
using decision = std::vector<events::event>;

/// A failure value convertible to any decided<T>.
inline auto reject(errc code, std::string message) {
  return outcome::failure(rejection{code, std::move(message)});
}

/// Configured limits and defaults. Every field is operator configuration; the
/// defaults follow the seeds (OneNET: 30 MiB images, 2 MiB deltas).
struct limits {
  /// Largest full image (bytes). Default: 30 MiB.
  std::uint64_t max_image_bytes = 30ull << 20;
  /// Largest uploaded delta package (bytes). Default: 2 MiB.
  std::uint64_t max_delta_bytes = 2ull << 20;
  /// Most device ids a task may list inline; larger sets go through a group.
  /// Keeps task.created under the payload limit. Default: 10,000.
  std::uint32_t max_inline_target_devices = 10'000;
  /// Most device ids one group command may carry. Default: 100,000.
  std::uint32_t max_ids_per_command = 100'000;
  /// Most device ids one group event carries; a command's ids are split into
  /// several events appended together. Default: 10,000.
  std::uint32_t max_ids_per_event = 10'000;
  /// Download progress becomes an event each time it crosses a multiple of
  /// this percent (the first report always does); 0: only the first. Default: 50.
  std::uint32_t download_milestone_percent = 50;
  /// Longest failure note kept from a device (bytes, cut at a character
  /// boundary). Default: 256.
  std::uint32_t max_note_bytes = 256;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("max_image_bytes", s.max_image_bytes);
    f("max_delta_bytes", s.max_delta_bytes);
    f("max_inline_target_devices", s.max_inline_target_devices);
    f("max_ids_per_command", s.max_ids_per_command);
    f("max_ids_per_event", s.max_ids_per_event);
    f("download_milestone_percent", s.download_milestone_percent);
    f("max_note_bytes", s.max_note_bytes);
  }
  bool operator==(const limits&) const = default;
};

/// Everything a decision may depend on besides the state and the command.
struct decide_context {
  /// The time of the decision, from the caller's clock (never read in the domain).
  base::timestamp now;
  /// Who asks: "operator:alice", "device:42", "system:coordinator", "system:timer".
  /// A "device:" principal may only act on its own device.
  std::string principal;
  /// Configured limits.
  ::otaledger::domain::limits limits;
  /// Facts of other aggregates (products, firmware, packages, groups, tasks)
  /// for the commands that check them; null where none is needed. The caller
  /// must serialize the commands that consult it with the updates it folds in
  /// (one catalog actor), or uniqueness is not guaranteed (docs/domain.md).
  const catalog_index* catalog = nullptr;
};

} // namespace otaledger::domain
