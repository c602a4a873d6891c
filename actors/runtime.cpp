#include "actors/runtime.hpp"

#include "actors/directory.hpp"
#include "actors/host.hpp"
#include "actors/internal/catalog_actor.hpp"
#include "actors/internal/coordinator.hpp"
#include "actors/internal/device_agg.hpp"
#include "domain/dispatch.hpp"
#include "storage/errc.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace otaledger::actors {

namespace {

using internal::catalog_cmd;
using internal::device_agg;

/// A request the runtime's client actors make on behalf of a plain thread.
struct submit_msg {
  caf::actor dest;
  caf::message msg;
  std::function<void(command_outcome)> done;
};
struct query_req {
  caf::actor dest;
  std::string stream;
  std::function<void(result<aggregate_state>)> done;
};

} // namespace
} // namespace otaledger::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::submit_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otaledger::actors::query_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::function<void(otaledger::actors::command_outcome)>)

namespace otaledger::actors {

namespace {

caf::behavior client_actor(caf::event_based_actor* self) {
  return {
      [self](submit_msg& m) {
        auto done = std::make_shared<std::function<void(command_outcome)>>(std::move(m.done));
        self->request(m.dest, caf::infinite, std::move(m.msg))
            .then([done](command_outcome& o) { (*done)(std::move(o)); },
                  [done](caf::error& e) {
                    command_outcome o;
                    o.error = make_error_code(storage::errc::closed);
                    o.message = "the actor system is stopping: " + caf::to_string(e);
                    (*done)(std::move(o));
                  });
      },
      [self](query_req& q) {
        auto done =
            std::make_shared<std::function<void(result<aggregate_state>)>>(std::move(q.done));
        self->request(q.dest, caf::infinite, query_msg{std::move(q.stream), nullptr})
            .then([done](aggregate_state& s) { (*done)(std::move(s)); },
                  [done](caf::error&) {
                    (*done)(outcome::failure(make_error_code(storage::errc::closed)));
                  });
      },
  };
}

class runtime_impl final : public runtime {
public:
  runtime_impl(storage::event_store& store, runtime_options opts, device_port* port)
      : store_{store}, opts_{std::move(opts)}, io_{std::max(1u, opts_.io_threads)} {
    if (opts_.scheduler_threads)
      cfg_.set("scheduler.max-threads", static_cast<std::size_t>(opts_.scheduler_threads));
    cfg_.set("scheduler.policy", caf::atom_from_string(opts_.scheduler_policy));
    system_ = std::make_unique<caf::actor_system>(cfg_);
    svc_.store = &store_;
    svc_.clock = opts_.clock ? opts_.clock : &system_clock_;
    svc_.io = &io_;
    svc_.port = port;
    svc_.limits = opts_.limits;
    svc_.idle_timeout = opts_.idle_timeout;
    svc_.snapshot_every = opts_.snapshot_every;
    svc_.resident_limit = opts_.resident_limit;
    svc_.catalog = [this] { return catalog_.get(); };

    catalog_actor_ = system_->spawn(internal::catalog_actor, &svc_, &catalog_);
    unsigned shards = std::max(2u, 2 * std::max(1u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < shards; ++i)
      directories_.push_back(system_->spawn(aggregate_directory<device_agg>, &svc_));
    for (unsigned i = 0; i < 4; ++i)
      clients_.push_back(system_->spawn(client_actor));

    if (opts_.coordinator) {
      internal::coordinator_config cc;
      cc.svc = &svc_;
      cc.device_directories = directories_;
      cc.catalog = catalog_actor_;
      cc.gate = &gate_;
      cc.catch_up_to = store_.head();
      cc.window = opts_.coordinator_window;
      cc.system_clock = opts_.clock == nullptr;
      coordinator_ = system_->spawn(internal::coordinator_actor, std::move(cc));
      auto coord = coordinator_;
      auto* gate = &gate_;
      subscription_ = store_.subscribe(
          log_position{0}, [coord, gate](std::span<const events::envelope> batch) -> result<void> {
            auto out = std::make_shared<std::vector<internal::folded_event>>();
            out->reserve(batch.size());
            for (const auto& env : batch) {
              if (!relevant(env.type)) continue;
              auto ev = events::decode(env);
              if (!ev) return outcome::failure(ev.error());
              out->push_back({env.position, env.meta.correlation, env.time, std::move(ev).value()});
            }
            if (!gate->acquire()) return outcome::failure(make_error_code(storage::errc::closed));
            caf::anon_send(coord, internal::log_batch{std::move(out), batch.back().position});
            return outcome::success();
          });
    }
  }

  ~runtime_impl() override { stop(); }

  void submit(domain::command cmd, events::event_meta meta,
              std::function<void(command_outcome)> done) override {
    ++svc_.commands;
    auto ref = domain::stream_of(cmd);
    auto stream = ref.stream();
    if (ref.kind == domain::aggregate_kind::device) {
      // Straight to the device's directory; the host calls `done` itself.
      const auto& dest = internal::directory_for(directories_, stream);
      domain::device_command dc = std::visit(
          [](auto& c) -> domain::device_command {
            using C = std::decay_t<decltype(c)>;
            if constexpr (domain::is_alternative_v<C, domain::device_command>)
              return std::move(c);
            else
              return domain::device_command{};
          },
          cmd);
      caf::anon_send(dest,
                     command_msg<device_agg>{std::move(stream), std::move(dc), std::move(meta),
                                             std::make_shared<reply_once>(std::move(done))});
      return;
    }
    submit_msg m;
    m.done = std::move(done);
    m.dest = catalog_actor_;
    m.msg = caf::make_message(catalog_cmd{std::move(cmd), std::move(meta)});
    caf::anon_send(next_client(), std::move(m));
  }

  command_outcome execute(domain::command cmd, events::event_meta meta) override {
    std::promise<command_outcome> p;
    auto f = p.get_future();
    submit(std::move(cmd), std::move(meta), [&p](command_outcome o) { p.set_value(std::move(o)); });
    return f.get();
  }

  void query(std::string stream, std::function<void(result<aggregate_state>)> done) override {
    if (!internal::is_catalog_stream(stream)) {
      // Straight to the device's directory; the host calls `done` itself.
      const auto& dest = internal::directory_for(directories_, stream);
      caf::anon_send(dest,
                     query_msg{std::move(stream), std::make_shared<query_once>(std::move(done))});
      return;
    }
    query_req q;
    q.dest = catalog_actor_;
    q.stream = std::move(stream);
    q.done = std::move(done);
    caf::anon_send(next_client(), std::move(q));
  }

  result<aggregate_state> query_sync(std::string stream) override {
    std::promise<result<aggregate_state>> p;
    auto f = p.get_future();
    query(std::move(stream), [&p](result<aggregate_state> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  void tick() override {
    if (coordinator_) caf::anon_send(coordinator_, internal::tick_atom::value);
  }

  void wait_until_settled(log_position p) override {
    if (!coordinator_) return;
    caf::scoped_actor self{*system_};
    self->request(coordinator_, caf::infinite, internal::settle_atom::value, p())
        .receive([](bool) {}, [](caf::error&) {});
  }

  runtime_stats stats() override {
    runtime_stats s;
    s.commands = svc_.commands.load();
    s.rejected = svc_.rejected.load();
    caf::scoped_actor self{*system_};
    for (auto& d : directories_)
      self->request(d, caf::infinite, count_atom::value)
          .receive(
              [&](std::vector<std::uint64_t>& v) {
                s.live_hosts += v[0];
                s.spawned += v[1];
                s.passivated += v[2];
              },
              [](caf::error&) {});
    if (coordinator_)
      self->request(coordinator_, caf::infinite, internal::stats_atom::value)
          .receive(
              [&](std::vector<std::uint64_t>& v) { s.coordinator_position = log_position{v[0]}; },
              [](caf::error&) {});
    return s;
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    gate_.close();
    if (subscription_) subscription_->stop();
    subscription_.reset();
    for (auto& d : directories_)
      caf::anon_send(d, shutdown_atom::value);
    caf::anon_send_exit(catalog_actor_, caf::exit_reason::user_shutdown);
    if (coordinator_) caf::anon_send_exit(coordinator_, caf::exit_reason::user_shutdown);
    for (auto& c : clients_)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    directories_.clear();
    clients_.clear();
    catalog_actor_ = nullptr;
    coordinator_ = nullptr;
    system_->await_all_actors_done();
    // Appends already handed to the store still land; wait for them, so that
    // nothing this runtime decided is written after stop() returned.
    svc_.wait_for_appends();
  }

private:
  static bool relevant(std::string_view type) {
    return type.substr(0, 5) == "task." || type.substr(0, 6) == "group." ||
           type.substr(0, 10) == "execution." || type == "device.registered" ||
           type == "device.edited" || type == "device.version_changed";
  }

  const caf::actor& next_client() {
    return clients_[next_client_.fetch_add(1, std::memory_order_relaxed) % clients_.size()];
  }

  storage::event_store& store_;
  runtime_options opts_;
  base::system_clock system_clock_;
  io_pool io_;
  runtime_services svc_;
  internal::catalog_snapshot catalog_;
  internal::batch_gate gate_{8};
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor catalog_actor_;
  caf::actor coordinator_;
  std::vector<caf::actor> directories_;
  std::vector<caf::actor> clients_;
  std::atomic<std::size_t> next_client_{0};
  std::unique_ptr<storage::subscription> subscription_;
  std::atomic<bool> stopped_{false};
};

} // namespace

result<std::unique_ptr<runtime>> runtime::start(storage::event_store& store,
                                                runtime_options options, device_port* port) {
  return std::unique_ptr<runtime>{std::make_unique<runtime_impl>(store, std::move(options), port)};
}

} // namespace otaledger::actors
