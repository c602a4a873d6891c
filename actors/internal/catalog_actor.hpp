// The catalog actor: hosts every aggregate but devices (products, groups,
// firmware, packages, tasks), which are few and small, together with the
// catalog index their decisions consult. One actor serializes them, so
// uniqueness checks (vendor + model + version, package origins, a group used
// by a running task) hold (docs/domain.md). It loads every catalog stream once
// at start (one pass over the log on the I/O pool) and then keeps them live.
#pragma once

#include "actors/host.hpp"
#include "domain/catalog_index.hpp"

#include <caf/all.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace otaledger::actors::internal {

/// A command for a catalog aggregate.
struct catalog_cmd {
  domain::command cmd;
  events::event_meta meta;
};

/// The published catalog index (read by device decisions on other threads).
class catalog_snapshot {
public:
  std::shared_ptr<const domain::catalog_index> get() const {
    std::lock_guard lock{mtx_};
    return current_;
  }
  void set(std::shared_ptr<const domain::catalog_index> c) {
    std::lock_guard lock{mtx_};
    current_ = std::move(c);
  }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const domain::catalog_index> current_ =
      std::make_shared<const domain::catalog_index>();
};

struct catalog_entry {
  aggregate_state state;
  stream_version version;
};

struct catalog_loaded {
  std::shared_ptr<std::unordered_map<std::string, catalog_entry>> streams;
  std::shared_ptr<domain::catalog_index> index;
  std::error_code error;
  std::string detail;
};

caf::behavior catalog_actor(caf::event_based_actor* self, runtime_services* svc,
                            catalog_snapshot* published);

/// Whether a stream belongs to the catalog actor (not a device).
inline bool is_catalog_stream(std::string_view stream) {
  return stream.substr(0, 7) != "device-";
}

} // namespace otaledger::actors::internal

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::internal::catalog_cmd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::internal::catalog_loaded)
