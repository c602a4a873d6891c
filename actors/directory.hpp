// The directory of one aggregate kind: finds or spawns the host of a stream
// and forwards the command to it (the host replies to the original sender).
//
// Hosts are monitored: one that crashes is forgotten, and the next command for
// its stream spawns a fresh host that recovers from the log. Every
// `runtime_services::idle_timeout` the directory asks its hosts whether they
// saw a message since the last time; an idle one (or one with nothing in
// progress, at once, when more than `resident_limit` hosts are live) asks to
// be passivated; the directory forgets it first and
// then tells it to stop, so every command routed to it before the stop is
// still handled by it.
#pragma once

#include "actors/host.hpp"

#include <absl/container/flat_hash_map.h>

#include <functional>
#include <string>

namespace otaledger::actors {

template <class Agg> struct directory_state {
  // Flat maps: a million spawns and passivations in a rollout; a node-based
  // map allocates a node for each and misses the cache two or three times
  // per lookup.
  absl::flat_hash_map<std::string, caf::actor> hosts;
  /// Live hosts, passivating ones too.
  absl::flat_hash_map<caf::actor_addr, std::string, std::hash<caf::actor_addr>> streams;
  std::uint64_t spawned = 0;
  std::uint64_t passivated = 0;
  static inline const char* name = "aggregate_directory";
};

using count_atom = caf::atom_constant<caf::atom("count")>;

using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

/// The live host of `stream`, spawned (and recovering) when there is none.
template <class Agg>
caf::actor host_of(caf::stateful_actor<directory_state<Agg>>* self, const runtime_services* svc,
                   const std::string& stream) {
  auto& h = self->state.hosts[stream];
  if (!h) {
    h = self->template spawn<caf::monitored>(aggregate_host<Agg>, stream,
                                             caf::actor_cast<caf::actor>(self), svc);
    self->state.streams.emplace(h.address(), stream);
    ++self->state.spawned;
    svc->live_hosts.fetch_add(1, std::memory_order_relaxed);
  }
  return h;
}

template <class Agg>
caf::behavior aggregate_directory(caf::stateful_actor<directory_state<Agg>>* self,
                                  const runtime_services* svc) {
  self->set_down_handler([self, svc](caf::down_msg& dm) {
    auto& st = self->state;
    auto s = st.streams.find(dm.source);
    if (s == st.streams.end()) return;
    auto h = st.hosts.find(s->second);
    if (h != st.hosts.end() && h->second.address() == dm.source) st.hosts.erase(h);
    st.streams.erase(s);
    svc->live_hosts.fetch_sub(1, std::memory_order_relaxed);
  });
  self->delayed_send(self, svc->idle_timeout, sweep_atom::value);
  return {
      [self, svc](sweep_atom) {
        // Hosts that saw no message since the previous sweep ask to be passivated.
        for (auto& [stream, h] : self->state.hosts) {
          (void)stream;
          self->send(h, idle_atom::value);
        }
        self->delayed_send(self, svc->idle_timeout, sweep_atom::value);
      },
      [self, svc](command_msg<Agg>& msg) {
        auto h = host_of(self, svc, msg.stream);
        return self->delegate(h, std::move(msg));
      },
      [self, svc](query_msg& msg) {
        auto h = host_of(self, svc, msg.stream);
        return self->delegate(h, std::move(msg));
      },
      [self](shutdown_atom) {
        for (auto& [addr, stream] : self->state.streams) {
          (void)stream;
          if (auto h = caf::actor_cast<caf::actor>(addr))
            self->send_exit(h, caf::exit_reason::user_shutdown);
        }
        self->quit();
      },
      [self](passivate_msg& m) {
        auto& hosts = self->state.hosts;
        auto it = hosts.find(m.stream);
        if (it == hosts.end()) return;
        // Only the current host of that stream may be passivated by its request.
        if (it->second.address() != self->current_sender()) return;
        self->send(it->second, stop_atom::value);
        hosts.erase(it);
        ++self->state.passivated;
      },
      [self](count_atom) {
        return std::vector<std::uint64_t>{self->state.hosts.size(), self->state.spawned,
                                          self->state.passivated};
      },
  };
}

} // namespace otaledger::actors
