// A small world for projection tests: an event store fed through the pure
// domain (decide on the stream's history, append the decided events), so
// every log here is one the domain could have produced.
#pragma once

#include "domain/catalog_index.hpp"
#include "domain/commands.hpp"
#include "domain/dispatch.hpp"
#include "events/event.hpp"
#include "events/json_codec.hpp"
#include "storage/event_store.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace otaledger::testing {

class world {
public:
  explicit world(storage::event_store& log) : log_(&log) {}

  /// Appends events as they are (the scenarios' `given:`), to their streams.
  void given(const events::event& e, const std::string& correlation = "setup") {
    append(domain::stream_of(e).stream(), {e}, correlation);
  }
  void given(std::string_view type, const std::string& data_json) {
    std::string err;
    auto data = domain::merge_json(default_json(type), events::json::parse(data_json));
    auto e = events::event_from_json(type, data, err);
    BOOST_REQUIRE_MESSAGE(e, "given " << type << ": " << err);
    given(e.value());
  }

  /// Decides a command (JSON form) on its stream's history and appends the
  /// events. Returns false when the domain refused it (nothing appended).
  bool run(std::string_view name, const events::json& data, const std::string& correlation = {}) {
    std::string err;
    auto c = domain::command_from_json(name, data, err);
    BOOST_REQUIRE_MESSAGE(c, "command " << name << ": " << err);
    return run(c.value(), correlation);
  }
  bool run(const domain::command& c, const std::string& correlation = {}) {
    const auto stream = domain::stream_of(c).stream();
    auto env = log_->read_stream(stream, stream_version{1}, 100000);
    BOOST_REQUIRE(env);
    std::vector<events::event> history;
    for (auto& e : env.value())
      history.push_back(events::decode(e).value());
    domain::decide_context ctx{now, "operator:test", {}, &catalog_};
    auto d = domain::decide_on(history, c, ctx);
    if (!d) return false;
    if (d.value().empty()) return true;
    append(stream, d.value(),
           correlation.empty() ? "c" + std::to_string(++commands_) : correlation);
    return true;
  }

  /// Runs the `given:` and `do:` lines of a scenario include file.
  void load(const std::string& path) {
    std::ifstream in(path);
    BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
    std::string line;
    while (std::getline(in, line)) {
      auto sp = line.find(' ', line.find(": ") + 2);
      if (line.starts_with("given: ")) {
        given(line.substr(7, sp - 7), line.substr(sp + 1));
      } else if (line.starts_with("do: ")) {
        BOOST_REQUIRE_MESSAGE(run(line.substr(4, sp - 4), events::json::parse(line.substr(sp + 1))),
                              "refused: " << line);
      }
    }
  }

  base::timestamp now = base::timestamp::from_seconds(1'767'225'600); // 2026-01-01
  storage::event_store& log() { return *log_; }

private:
  /// The JSON of a default-built event of `type` (what `given:` lines omit).
  template <std::size_t I = 0> static events::json default_json(std::string_view type) {
    if constexpr (I == std::variant_size_v<events::event>) {
      return events::json::object();
    } else {
      events::event e{std::in_place_index<I>};
      if (events::type_name_of(e) == type) return events::event_to_json(e);
      return default_json<I + 1>(type);
    }
  }

  void append(const std::string& stream, const std::vector<events::event>& evs,
              const std::string& correlation) {
    storage::append_request req;
    req.stream = stream;
    req.expected = storage::expected_version::any();
    for (auto& e : evs) {
      storage::new_event n;
      n.type = std::string{events::type_name_of(e)};
      n.schema = events::schema_of(e);
      n.time = now;
      n.meta.principal = "operator:test";
      n.meta.command = "cmd-" + std::to_string(++appends_);
      n.meta.correlation = correlation;
      n.data = events::encode_payload(e);
      req.events.push_back(std::move(n));
      catalog_.apply(e);
    }
    auto r = log_->append(std::move(req));
    BOOST_REQUIRE_MESSAGE(r, "append to " << stream);
    now.micros += 1'000'000;
  }

  storage::event_store* log_;
  domain::catalog_index catalog_;
  std::uint64_t commands_ = 0, appends_ = 0;
};

} // namespace otaledger::testing
