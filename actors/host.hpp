// The aggregate host: one CAF actor per aggregate instance (task-17, device-42).
//
// A command goes: decide -> append (expected version, command id) -> evolve ->
// reply -> side effects. While an append is in flight, or while the actor
// recovers its state (snapshot + stream tail, read on the I/O pool, never on
// CAF's scheduler), further commands wait in order in the actor's queue (Akka's
// stash). The store's expected-version check is the last line of defence for
// "one writer per stream": a conflict makes the host reload and retry once.
//
// `Agg` adapts a pure domain aggregate:
//   using state = ...; using command = ...;
//   static decision decide(const state&, const command&, const command_context&);
//   static void apply(state&, const events::event&);
//   static void after(const state&, const std::vector<events::event>&, const runtime_services&);
#pragma once

#include "actors/io_pool.hpp"
#include "actors/runtime.hpp"
#include "base/time.hpp"
#include "domain/catalog_index.hpp"
#include "events/catalog.hpp"
#include "events/event.hpp"
#include "storage/event_store.hpp"

#include "storage/errc.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace otaledger::actors {

/// What a command carries besides its payload. Lives only while the command
/// is decided: `meta` refers to the queued command's (not copied: its ids
/// are longer than a short string, so a copy allocated on every decide).
struct command_context {
  base::timestamp now;            ///< the time the command is decided at (from the runtime's clock)
  const events::event_meta& meta; ///< who, which command id, correlation, why
};

/// What `decide` answered: events to append, or a rejection.
struct decision {
  std::vector<events::event> events;
  std::error_code rejected; ///< set: the command is refused and nothing is appended
  std::string message;      ///< the refusal, naming the state that refused it
  static decision refuse(std::error_code ec, std::string msg) {
    decision d;
    d.rejected = ec;
    d.message = std::move(msg);
    return d;
  }
};

using command_reply = command_outcome;

/// Services that hosts and the coordinator share; owned by the runtime.
struct runtime_services {
  storage::event_store* store = nullptr;
  const base::clock* clock = nullptr;
  io_pool* io = nullptr;
  device_port* port = nullptr;
  domain::limits limits;
  std::chrono::milliseconds idle_timeout{60'000};   ///< passivate after this long without a message
  std::uint64_t snapshot_every = 0;                 ///< 0: hosts take no snapshot
  std::uint64_t resident_limit = 0;                 ///< quiescent hosts stay while fewer are live
  mutable std::atomic<std::uint64_t> live_hosts{0}; ///< hosts spawned and not yet down
  /// The catalog facts device decisions may read (products for registration):
  /// an immutable copy the catalog actor replaces after each change.
  std::function<std::shared_ptr<const domain::catalog_index>()> catalog;
  mutable std::atomic<std::uint64_t> commands{0};
  mutable std::atomic<std::uint64_t> rejected{0};
  /// Appends submitted to the store and not yet completed. The runtime's
  /// stop() waits for none: an append of this runtime must not land after a
  /// new runtime on the same store has read the stream (its state would lag
  /// the log, and the event's effects would never be sent).
  mutable std::atomic<std::uint64_t> appends_in_flight{0};

  /// Submits an append whose completion `done` handles; counted in
  /// appends_in_flight until `done` returned.
  template <class F> void append(storage::append_request req, F done) const {
    appends_in_flight.fetch_add(1, std::memory_order_relaxed);
    store->append_async(std::move(req),
                        [this, done = std::move(done)](result<storage::append_result> r) mutable {
                          done(std::move(r));
                          if (appends_in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1)
                            appends_in_flight.notify_all();
                        });
  }
  /// Blocks until every append submitted through append() completed.
  void wait_for_appends() const {
    for (auto n = appends_in_flight.load(std::memory_order_acquire); n != 0;
         n = appends_in_flight.load(std::memory_order_acquire))
      appends_in_flight.wait(n, std::memory_order_acquire);
  }
};

/// Calls a reply callback exactly once: with the host's reply, or, when the
/// command is dropped unanswered (the actor system stops, the host dies), with
/// "closed" from its destructor — so a caller waiting for it never hangs.
class reply_once {
public:
  explicit reply_once(std::function<void(command_outcome)> f) : f_{std::move(f)} {}
  reply_once(const reply_once&) = delete;
  reply_once& operator=(const reply_once&) = delete;
  ~reply_once() {
    if (!f_) return;
    command_outcome o;
    o.error = make_error_code(storage::errc::closed);
    o.message = "the actor system stopped before the command was answered";
    f_(std::move(o));
  }
  void operator()(command_outcome o) {
    auto f = std::move(f_);
    f_ = nullptr;
    if (f) f(std::move(o));
  }

private:
  std::function<void(command_outcome)> f_;
};

template <class Agg> struct command_msg {
  std::string stream;
  typename Agg::command cmd;
  events::event_meta meta;
  /// Set: the host answers by calling it (on the host's thread) instead of
  /// replying to a request — no response handler, no client actor hop.
  std::shared_ptr<reply_once> done;
};

template <class Agg> struct recovered_msg {
  std::shared_ptr<typename Agg::state> state;
  stream_version version;
  stream_version snapshot; ///< the version of the snapshot it started from (0: none)
  std::error_code error;
};

struct appended_msg {
  result<storage::append_result> outcome = storage::append_result{};
  std::string detail; ///< storage::error_detail() of a failed append (thread-local on the writer)
};

/// The I/O pool's answer to "was this refused command's id applied before?"
struct command_seen_msg {
  result<std::optional<storage::append_result>> found = std::optional<storage::append_result>{};
};

struct passivate_msg {
  std::string stream;
};

/// Calls a query's callback exactly once: with the state, or with "closed"
/// from its destructor when the query is dropped unanswered.
class query_once {
public:
  explicit query_once(std::function<void(result<aggregate_state>)> f) : f_{std::move(f)} {}
  query_once(const query_once&) = delete;
  query_once& operator=(const query_once&) = delete;
  ~query_once() {
    if (f_) f_(outcome::failure(make_error_code(storage::errc::closed)));
  }
  void operator()(result<aggregate_state> r) {
    auto f = std::move(f_);
    f_ = nullptr;
    if (f) f(std::move(r));
  }

private:
  std::function<void(result<aggregate_state>)> f_;
};

/// Asks a host (through its directory) for its aggregate's current state.
struct query_msg {
  std::string stream;
  /// Set: the host answers by calling it instead of replying to a request.
  std::shared_ptr<query_once> done;
};

using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// The directory's periodic question: idle since the last one?
using idle_atom = caf::atom_constant<caf::atom("idle")>;

} // namespace otaledger::actors

template <class Agg>
struct caf::allowed_unsafe_message_type<otaledger::actors::command_msg<Agg>> : std::true_type {};
template <class Agg>
struct caf::allowed_unsafe_message_type<otaledger::actors::recovered_msg<Agg>> : std::true_type {};
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::appended_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::command_seen_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::command_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::passivate_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::query_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::aggregate_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::result<otaledger::actors::aggregate_state>)

namespace otaledger::actors {

template <class Agg> struct host_state {
  std::string stream;
  typename Agg::state state{};
  stream_version version{};
  bool ready = false;
  bool busy = false;
  bool retried = false;
  bool stop_requested = false;
  bool passivating = false; ///< asked the directory to passivate it
  bool touched = true;      ///< a message arrived since the last idle check
  struct pending {
    command_msg<Agg> msg;
    caf::response_promise promise;
    bool id_checked = false; ///< a refusal of it was checked against the stored command ids
    void deliver(command_reply r) {
      if (msg.done)
        (*msg.done)(std::move(r));
      else
        promise.deliver(std::move(r));
    }
  };
  std::vector<pending> queue; ///< usually 0 or 1 long (a deque would cost 600 bytes per actor)
  std::vector<events::event> in_flight;             ///< decided events waiting for their append
  std::vector<caf::response_promise> readers;       ///< queries waiting for the recovery
  std::vector<std::shared_ptr<query_once>> callers; ///< direct queries waiting for it
  stream_version snapshot{}; ///< the version of the last snapshot loaded or written
  static inline const char* name = "aggregate_host";
};

/// Loads an aggregate's state: its snapshot when the adapter can read one,
/// then every later event of its stream. Blocking: runs on the I/O pool.
template <class Agg>
recovered_msg<Agg> load_aggregate(storage::event_store& store, const std::string& stream) {
  recovered_msg<Agg> out;
  out.state = std::make_shared<typename Agg::state>();
  stream_version from{1};
  if constexpr (requires { Agg::read_snapshot(std::declval<const storage::snapshot&>()); }) {
    auto snap = store.load_snapshot(stream);
    if (snap && snap.value()) {
      if (auto st = Agg::read_snapshot(*snap.value())) {
        *out.state = std::move(*st);
        out.version = snap.value()->version;
        out.snapshot = out.version;
        from = stream_version{out.version() + 1};
      }
    }
  }
  for (;;) {
    auto page = store.read_stream(stream, from, 1024);
    if (!page) {
      out.error = page.error();
      return out;
    }
    for (auto& env : page.value()) {
      auto ev = events::decode(env);
      if (!ev) {
        out.error = ev.error();
        return out;
      }
      Agg::apply(*out.state, ev.value());
      out.version = env.version;
    }
    if (page.value().size() < 1024) return out;
    from = stream_version{out.version() + 1};
  }
}

template <class Agg>
caf::behavior aggregate_host(caf::stateful_actor<host_state<Agg>>* self, std::string stream,
                             caf::actor directory, const runtime_services* svc) {
  self->state.stream = stream;
  auto recover = [self, svc] {
    self->state.ready = false;
    caf::actor me = caf::actor_cast<caf::actor>(self);
    auto stream = self->state.stream;
    svc->io->post(
        [svc, me, stream] { caf::anon_send(me, load_aggregate<Agg>(*svc->store, stream)); });
  };
  recover();

  // Processes queued commands until one needs an append (or the queue is empty).
  auto drain = std::make_shared<std::function<void()>>();
  *drain = [self, svc, directory, drain] {
    auto& st = self->state;
    while (st.ready && !st.busy && !st.queue.empty()) {
      auto& p = st.queue.front();
      command_context ctx{svc->clock->now(), p.msg.meta};
      decision d = Agg::decide(st.state, p.msg.cmd, ctx, *svc);
      if ((d.rejected || d.events.empty()) && !p.msg.meta.command.empty() && !p.id_checked) {
        // A command with an id that the state now refuses, or for which it
        // decides nothing, may be one that was applied already (its answer
        // lost, or a replayed message): the stored id decides (on the I/O
        // pool), before the answer goes out.
        st.busy = true;
        caf::actor me = caf::actor_cast<caf::actor>(self);
        svc->io->post([svc, me, id = p.msg.meta.command] {
          caf::anon_send(me, command_seen_msg{svc->store->find_command(id)});
        });
        break;
      }
      if (d.rejected) {
        ++svc->rejected;
        command_reply r;
        r.error = d.rejected;
        r.message = std::move(d.message);
        r.stream = st.stream;
        r.version = st.version;
        p.deliver(std::move(r));
        st.queue.erase(st.queue.begin());
        continue;
      }
      if (d.events.empty()) {
        command_reply r;
        r.stream = st.stream;
        r.version = st.version;
        p.deliver(std::move(r));
        st.queue.erase(st.queue.begin());
        continue;
      }
      storage::append_request req;
      req.stream = st.stream;
      req.expected = storage::expected_version::at(st.version);
      req.command_id = p.msg.meta.command;
      req.events.reserve(d.events.size());
      for (auto& e : d.events) {
        storage::new_event ne;
        ne.type = std::string{events::type_name_of(e)};
        ne.schema = events::schema_of(e);
        ne.time = ctx.now;
        ne.meta = p.msg.meta;
        ne.data = events::encode_payload(e);
        req.events.push_back(std::move(ne));
      }
      st.in_flight = std::move(d.events);
      st.busy = true;
      caf::actor me = caf::actor_cast<caf::actor>(self);
      svc->append(std::move(req), [me](result<storage::append_result> r) {
        std::string detail = r ? std::string{} : storage::error_detail();
        caf::anon_send(me, appended_msg{std::move(r), std::move(detail)});
      });
    }
    if (st.ready && !st.busy && st.queue.empty() && st.stop_requested) self->quit();
  };

  return {
      [self, drain](command_msg<Agg>& msg) {
        self->state.touched = true;
        caf::response_promise rp;
        if (!msg.done) rp = self->make_response_promise();
        self->state.queue.push_back({std::move(msg), rp});
        (*drain)();
        return rp;
      },
      [self, drain](recovered_msg<Agg>& r) {
        auto& st = self->state;
        if (r.error) {
          // The stream cannot be read: refuse what waits, and stop; the next
          // command spawns a fresh host that tries again.
          for (auto& p : st.queue) {
            command_reply out;
            out.error = r.error;
            out.message = "cannot load " + st.stream;
            out.stream = st.stream;
            p.deliver(std::move(out));
          }
          st.queue.clear();
          self->quit(caf::exit_reason::user_shutdown);
          return;
        }
        st.state = std::move(*r.state);
        st.version = r.version;
        st.snapshot = r.snapshot;
        st.ready = true;
        for (auto& rp : st.readers)
          rp.deliver(aggregate_state{st.state});
        st.readers.clear();
        for (auto& q : st.callers)
          (*q)(aggregate_state{st.state});
        st.callers.clear();
        (*drain)();
      },
      [self, svc, drain, recover, directory](appended_msg& m) {
        auto& st = self->state;
        auto& p = st.queue.front();
        st.busy = false;
        if (!m.outcome) {
          auto ec = m.outcome.error();
          if (ec == storage::errc::wrong_expected_version && !st.retried) {
            // Another writer got there first: reload and decide again.
            st.retried = true;
            st.in_flight.clear();
            recover();
            return;
          }
          command_reply out;
          out.error = ec;
          out.message = fmt::format("the command on {} could not be stored: {}", st.stream,
                                    m.detail.empty() ? ec.message() : m.detail);
          out.stream = st.stream;
          out.version = st.version;
          p.deliver(std::move(out));
          st.queue.erase(st.queue.begin());
          st.retried = false;
          st.in_flight.clear();
          if (ec != storage::errc::wrong_expected_version) {
            (*drain)();
          } else {
            recover();
          }
          return;
        }
        auto appended = m.outcome.value();
        command_reply reply;
        reply.stream = st.stream;
        reply.version = appended.version;
        reply.first = appended.first;
        reply.last = appended.last;
        reply.duplicate = appended.duplicate;
        if (!appended.duplicate) {
          for (auto& e : st.in_flight)
            Agg::apply(st.state, e);
          st.version = appended.version;
          reply.events = std::move(st.in_flight);
        }
        st.in_flight.clear();
        st.retried = false;
        auto effects = reply.events;
        auto meta = std::move(p.msg.meta);
        p.deliver(std::move(reply));
        st.queue.erase(st.queue.begin());
        if (!effects.empty()) {
          if constexpr (requires { Agg::after(st.state, effects, *svc, meta); })
            Agg::after(st.state, effects, *svc, meta);
          // An aggregate with nothing in progress leaves memory at once (its
          // next command reloads it); the idle timeout covers the others.
          if constexpr (requires { Agg::quiescent(st.state); }) {
            if (!st.passivating && Agg::quiescent(st.state) && st.queue.empty() &&
                st.readers.empty() && st.callers.empty() &&
                svc->live_hosts.load(std::memory_order_relaxed) > svc->resident_limit) {
              st.passivating = true;
              self->send(directory, passivate_msg{st.stream});
            }
          }
        }
        if constexpr (requires { Agg::write_snapshot(st.state); }) {
          // By version, not by events seen in this incarnation: a host that
          // is passivated often still snapshots a long stream.
          if (svc->snapshot_every && st.version() - st.snapshot() >= svc->snapshot_every) {
            st.snapshot = st.version;
            storage::snapshot s{st.version, Agg::snapshot_schema, Agg::write_snapshot(st.state)};
            auto stream = st.stream;
            svc->io->post(
                [svc, stream, s = std::move(s)] { (void)svc->store->save_snapshot(stream, s); });
          }
        }
        (*drain)();
      },
      [self, drain](command_seen_msg& m) {
        auto& st = self->state;
        st.busy = false;
        if (st.queue.empty()) return;
        auto& p = st.queue.front();
        if (m.found && m.found.value()) {
          const auto& r = *m.found.value();
          command_reply reply;
          reply.stream = st.stream;
          reply.version = r.version;
          reply.first = r.first;
          reply.last = r.last;
          reply.duplicate = true;
          p.deliver(std::move(reply));
          st.queue.erase(st.queue.begin());
        } else {
          p.id_checked = true; // decided again below, and answered as before
        }
        (*drain)();
      },
      [self](query_msg& q) -> caf::result<aggregate_state> {
        auto& st = self->state;
        st.touched = true;
        if (q.done) { // a direct query: no response message
          if (st.ready)
            (*q.done)(aggregate_state{st.state});
          else
            st.callers.push_back(std::move(q.done));
          return caf::delegated<aggregate_state>{};
        }
        if (st.ready) return aggregate_state{st.state};
        auto rp = self->make_response_promise();
        st.readers.push_back(rp);
        return rp;
      },
      [self, drain](stop_atom) {
        self->state.stop_requested = true;
        (*drain)();
      },
      [self, directory](idle_atom) {
        // No per-message receive timeout (in CAF 0.17 that is a clock
        // operation per message): the directory asks every idle_timeout.
        auto& st = self->state;
        if (!st.touched && st.ready && !st.busy && st.queue.empty() && st.readers.empty() &&
            st.callers.empty() && !st.passivating) {
          st.passivating = true;
          self->send(directory, passivate_msg{st.stream});
        }
        st.touched = false;
      },
  };
}

} // namespace otaledger::actors
