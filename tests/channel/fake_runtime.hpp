// TEMPORARY (until actors/runtime.cpp lands): a synchronous actors::runtime
// over the pure domain (decide_on + evolve) and a catalog index, so the
// channel's HTTP and MQTT tests run without CAF. Same contract as the real
// runtime for what the channel uses: submit (idempotent by command id),
// query (default state for an unknown stream). Setup events go in through
// seed(). The end-to-end tests over the real runtime replace this.
#pragma once

#include "actors/runtime.hpp"
#include "domain/catalog_index.hpp"
#include "domain/dispatch.hpp"

#include <map>
#include <mutex>
#include <set>

namespace otaledger::testing {

class fake_runtime final : public actors::runtime {
public:
  base::timestamp now = base::timestamp::from_seconds(1'700'000'000);
  domain::limits limits;

  /// Appends setup events (their streams are derived from them).
  void seed(std::vector<events::event> es) {
    std::lock_guard lock{mutex_};
    for (auto& e : es) {
      catalog_.apply(e);
      streams_[domain::stream_of(e).stream()].push_back(std::move(e));
    }
  }
  std::size_t appended(const std::string& stream) {
    std::lock_guard lock{mutex_};
    return streams_[stream].size();
  }

  void submit(domain::command cmd, events::event_meta meta,
              std::function<void(actors::command_outcome)> done) override {
    done(execute(std::move(cmd), std::move(meta)));
  }
  actors::command_outcome execute(domain::command cmd, events::event_meta meta) override {
    std::lock_guard lock{mutex_};
    actors::command_outcome o;
    o.stream = domain::stream_of(cmd).stream();
    if (!meta.command.empty() && done_.count(meta.command)) {
      o.duplicate = true;
      return o;
    }
    domain::decide_context ctx{now, meta.principal, limits, &catalog_};
    auto& h = streams_[o.stream];
    auto d = domain::decide_on(h, cmd, ctx);
    if (!d) {
      o.error = d.error().error_code();
      o.message = d.error().message;
      return o;
    }
    for (auto& e : d.value()) {
      catalog_.apply(e);
      h.push_back(e);
    }
    o.events = std::move(d.value());
    if (!meta.command.empty()) done_.insert(meta.command);
    return o;
  }
  void query(std::string stream,
             std::function<void(result<actors::aggregate_state>)> done) override {
    done(query_sync(std::move(stream)));
  }
  result<actors::aggregate_state> query_sync(std::string stream) override {
    std::lock_guard lock{mutex_};
    const auto& h = streams_[stream];
    auto fold = [&](auto s) {
      for (const auto& e : h)
        s = domain::evolve(std::move(s), e);
      return actors::aggregate_state{std::move(s)};
    };
    if (stream.starts_with("device-")) return fold(domain::device_state{});
    if (stream.starts_with("package-")) return fold(domain::package_state{});
    if (stream.starts_with("product-")) return fold(domain::product_state{});
    if (stream.starts_with("firmware-")) return fold(domain::firmware_state{});
    if (stream.starts_with("task-")) return fold(domain::task_state{});
    return fold(domain::group_state{});
  }
  void tick() override {}
  void wait_until_settled(log_position) override {}
  actors::runtime_stats stats() override { return {}; }
  void stop() override {}

private:
  std::mutex mutex_;
  std::map<std::string, std::vector<events::event>> streams_;
  std::set<std::string> done_;
  domain::catalog_index catalog_;
};

} // namespace otaledger::testing
