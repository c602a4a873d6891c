#include "actors/internal/catalog_actor.hpp"

#include "domain/dispatch.hpp"

#include <fmt/format.h>

#include <vector>

namespace otaledger::actors::internal {

namespace {

aggregate_state empty_state(domain::aggregate_kind k) {
  switch (k) {
  case domain::aggregate_kind::product:
    return domain::product_state{};
  case domain::aggregate_kind::group:
    return domain::group_state{};
  case domain::aggregate_kind::device:
    return domain::device_state{};
  case domain::aggregate_kind::firmware:
    return domain::firmware_state{};
  case domain::aggregate_kind::package:
    return domain::package_state{};
  case domain::aggregate_kind::task:
    return domain::task_state{};
  }
  return domain::product_state{};
}

aggregate_state empty_state_of(std::string_view stream) {
  for (auto k : {domain::aggregate_kind::product, domain::aggregate_kind::group,
                 domain::aggregate_kind::firmware, domain::aggregate_kind::package,
                 domain::aggregate_kind::task}) {
    auto name = enum_names(k)[static_cast<std::size_t>(k)];
    if (stream.size() > name.size() && stream.substr(0, name.size()) == name &&
        stream[name.size()] == '-')
      return empty_state(k);
  }
  return domain::product_state{};
}

template <class State, class Variant, class Cmd>
domain::decided<domain::decision> decide_as(aggregate_state& st, const Cmd& c,
                                            const domain::decide_context& ctx) {
  if (!std::holds_alternative<State>(st)) st = State{};
  return domain::decide(std::get<State>(st), Variant{c}, ctx);
}

domain::decided<domain::decision> decide_any(aggregate_state& st, const domain::command& cmd,
                                             const domain::decide_context& ctx) {
  return std::visit(
      [&](const auto& c) -> domain::decided<domain::decision> {
        using C = std::decay_t<decltype(c)>;
        if constexpr (domain::is_alternative_v<C, domain::product_command>)
          return decide_as<domain::product_state, domain::product_command>(st, c, ctx);
        else if constexpr (domain::is_alternative_v<C, domain::group_command>)
          return decide_as<domain::group_state, domain::group_command>(st, c, ctx);
        else if constexpr (domain::is_alternative_v<C, domain::firmware_command>)
          return decide_as<domain::firmware_state, domain::firmware_command>(st, c, ctx);
        else if constexpr (domain::is_alternative_v<C, domain::package_command>)
          return decide_as<domain::package_state, domain::package_command>(st, c, ctx);
        else if constexpr (domain::is_alternative_v<C, domain::task_command>)
          return decide_as<domain::task_state, domain::task_command>(st, c, ctx);
        else
          return domain::reject(domain::errc::invalid_argument,
                                "device commands are not decided by the catalog");
      },
      cmd);
}

void fold(catalog_entry& entry, const events::event& e) {
  std::visit([&](auto& s) { s = domain::evolve(std::move(s), e); }, entry.state);
}

struct pending {
  catalog_cmd msg;
  caf::response_promise promise;
};

struct catalog_data {
  std::unordered_map<std::string, catalog_entry> streams;
  std::shared_ptr<domain::catalog_index> index = std::make_shared<domain::catalog_index>();
  bool ready = false;
  bool busy = false;
  std::vector<pending> queue;
  std::vector<std::pair<std::string, caf::response_promise>> readers;
  std::string in_flight_stream;
  std::vector<events::event> in_flight;
  std::error_code load_error;
  std::string load_detail;
};

catalog_loaded load_catalog(storage::event_store& store) {
  catalog_loaded out;
  out.streams = std::make_shared<std::unordered_map<std::string, catalog_entry>>();
  out.index = std::make_shared<domain::catalog_index>();
  log_position from{1};
  for (;;) {
    auto page = store.read_all(from, 4096);
    if (!page) {
      out.error = page.error();
      out.detail = storage::error_detail();
      return out;
    }
    for (auto& env : page.value()) {
      from = log_position{env.position() + 1};
      if (!is_catalog_stream(env.stream)) continue;
      auto ev = events::decode(env);
      if (!ev) {
        out.error = ev.error();
        out.detail =
            fmt::format("event at position {} of {} cannot be read", env.position(), env.stream);
        return out;
      }
      auto [it, fresh] = out.streams->try_emplace(env.stream);
      if (fresh) it->second.state = empty_state_of(env.stream);
      fold(it->second, ev.value());
      it->second.version = env.version;
      out.index->apply(ev.value());
    }
    if (page.value().size() < 4096) return out;
  }
}

} // namespace

caf::behavior catalog_actor(caf::event_based_actor* self, runtime_services* svc,
                            catalog_snapshot* published) {
  auto d = std::make_shared<catalog_data>();
  {
    caf::actor me = caf::actor_cast<caf::actor>(self);
    svc->io->post([svc, me] { caf::anon_send(me, load_catalog(*svc->store)); });
  }
  auto answer_readers = [d] {
    for (auto& [stream, rp] : d->readers) {
      auto it = d->streams.find(stream);
      rp.deliver(it == d->streams.end() ? empty_state_of(stream) : it->second.state);
    }
    d->readers.clear();
  };
  auto drain = std::make_shared<std::function<void()>>();
  *drain = [self, svc, d, drain] {
    while (d->ready && !d->busy && !d->queue.empty()) {
      auto& p = d->queue.front();
      if (d->load_error) {
        command_outcome out;
        out.error = d->load_error;
        out.message = "the catalog could not be loaded: " + d->load_detail;
        p.promise.deliver(std::move(out));
        d->queue.erase(d->queue.begin());
        continue;
      }
      auto ref = domain::stream_of(p.msg.cmd);
      auto stream = ref.stream();
      auto [it, fresh] = d->streams.try_emplace(stream);
      if (fresh) it->second.state = empty_state(ref.kind);
      auto now = svc->clock->now();
      domain::decide_context ctx{now, p.msg.meta.principal, svc->limits, d->index.get()};
      auto decided = decide_any(it->second.state, p.msg.cmd, ctx);
      command_outcome out;
      out.stream = stream;
      out.version = it->second.version;
      if (!decided) {
        ++svc->rejected;
        out.error = decided.error().error_code();
        out.message = std::move(decided.error().message);
      }
      if (!decided || decided.value().empty()) {
        if (fresh) d->streams.erase(it);
        p.promise.deliver(std::move(out));
        d->queue.erase(d->queue.begin());
        continue;
      }
      storage::append_request req;
      req.stream = stream;
      req.expected = storage::expected_version::at(it->second.version);
      req.command_id = p.msg.meta.command;
      for (const auto& e : decided.value()) {
        storage::new_event ne;
        ne.type = std::string{events::type_name_of(e)};
        ne.schema = events::schema_of(e);
        ne.time = now;
        ne.meta = p.msg.meta;
        ne.data = events::encode_payload(e);
        req.events.push_back(std::move(ne));
      }
      d->in_flight = std::move(decided).value();
      d->in_flight_stream = stream;
      d->busy = true;
      caf::actor me = caf::actor_cast<caf::actor>(self);
      svc->append(std::move(req), [me](result<storage::append_result> r) {
        std::string detail = r ? std::string{} : storage::error_detail();
        caf::anon_send(me, appended_msg{std::move(r), std::move(detail)});
      });
    }
  };
  return {
      [self, d, drain](catalog_cmd& msg) {
        auto rp = self->make_response_promise();
        d->queue.push_back({std::move(msg), rp});
        (*drain)();
        return rp;
      },
      [self, d, drain, answer_readers, published](catalog_loaded& l) {
        if (l.error) {
          d->load_error = l.error;
          d->load_detail = l.detail;
        } else {
          d->streams = std::move(*l.streams);
          d->index = std::move(l.index);
          published->set(std::make_shared<const domain::catalog_index>(*d->index));
        }
        d->ready = true;
        answer_readers();
        (*drain)();
        (void)self;
      },
      [self, d, drain, published](appended_msg& m) {
        auto& p = d->queue.front();
        d->busy = false;
        command_outcome out;
        out.stream = d->in_flight_stream;
        auto it = d->streams.find(d->in_flight_stream);
        if (!m.outcome) {
          out.error = m.outcome.error();
          out.message = fmt::format("the command on {} could not be stored: {}", out.stream,
                                    m.detail.empty() ? out.error.message() : m.detail);
          if (it != d->streams.end() && it->second.version() == 0) d->streams.erase(it);
        } else {
          auto a = m.outcome.value();
          out.version = a.version;
          out.first = a.first;
          out.last = a.last;
          out.duplicate = a.duplicate;
          if (!a.duplicate) {
            bool changed_index = false;
            for (const auto& e : d->in_flight) {
              fold(it->second, e);
              d->index->apply(e);
              changed_index = true;
            }
            it->second.version = a.version;
            if (changed_index)
              published->set(std::make_shared<const domain::catalog_index>(*d->index));
            out.events = std::move(d->in_flight);
          } else if (it != d->streams.end() && it->second.version() == 0) {
            d->streams.erase(it);
          }
        }
        d->in_flight.clear();
        p.promise.deliver(std::move(out));
        d->queue.erase(d->queue.begin());
        (*drain)();
        (void)self;
      },
      [self, d](query_msg& q) -> caf::result<aggregate_state> {
        if (!d->ready) {
          auto rp = self->make_response_promise();
          d->readers.emplace_back(q.stream, rp);
          return rp;
        }
        auto it = d->streams.find(q.stream);
        return it == d->streams.end() ? empty_state_of(q.stream) : it->second.state;
      },
  };
}

} // namespace otaledger::actors::internal
