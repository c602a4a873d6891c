#include "tests/scenarios/scenario_runner.hpp"

#include "domain/catalog_index.hpp"
#include "domain/dispatch.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace otaledger::testing {

namespace {

using events::json;

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string{s.substr(b, e - b + 1)};
}

// "word rest" -> (word, rest)
std::pair<std::string, std::string> split_word(std::string_view s) {
  auto t = trim(s);
  auto sp = t.find(' ');
  if (sp == std::string::npos) return {t, {}};
  return {t.substr(0, sp), trim(std::string_view{t}.substr(sp + 1))};
}

// The event's JSON with defaults filled in under the given fields.
result<events::event> event_with_defaults(const std::string& type, const json& data,
                                          std::string& error) {
  json defaults;
  bool found = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((std::variant_alternative_t<I, events::event>::type_name == type
          ? (defaults = events::to_json_value(std::variant_alternative_t<I, events::event>{}),
             found = true)
          : false),
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<events::event>>{});
  if (!found) {
    error = "unknown event type '" + type + "'";
    return make_error_code(events::errc::unknown_type);
  }
  return events::event_from_json(type, domain::merge_json(defaults, data), error);
}

struct line_ref {
  std::string file;
  int number = 0;
  std::string text;
};

struct runner {
  std::filesystem::path include_dir;
  scenario_report report;

  // Per scenario.
  std::string scenario;
  std::vector<events::event> history;
  base::timestamp now = base::parse_rfc3339("2026-01-01T00:00:00Z").value();
  std::string principal = "operator:test";
  domain::limits limits;
  // The last `when`: what it produced, and how far `then` lines have matched.
  bool pending_when = false;
  line_ref when_line;
  std::vector<events::event> produced;
  std::optional<domain::rejection> refused;
  std::size_t matched = 0;
  bool checked = false;

  void fail(const line_ref& at, std::string message) {
    report.failures.push_back({at.file, at.number, scenario, std::move(message)});
  }

  // Every `when` must be checked, and every event it produced expected.
  void close_when() {
    if (!pending_when) return;
    if (!checked)
      fail(when_line, "`when` without a `then`, `then: nothing` or `reject` line");
    else if (!refused && matched < produced.size())
      fail(when_line, fmt::format("produced {} event(s), only {} expected; next unexpected: {} {}",
                                  produced.size(), matched, events::type_name_of(produced[matched]),
                                  events::event_to_json(produced[matched]).dump()));
    if (!refused) history.insert(history.end(), produced.begin(), produced.end());
    pending_when = false;
  }

  void start_scenario(const std::string& name) {
    close_when();
    scenario = name;
    history.clear();
    now = base::parse_rfc3339("2026-01-01T00:00:00Z").value();
    principal = "operator:test";
    limits = {};
    ++report.scenarios;
  }

  std::optional<json> parse_json(const line_ref& at, const std::string& text) {
    if (text.empty()) return json::object();
    try {
      return json::parse(text);
    } catch (const std::exception& e) {
      fail(at, fmt::format("bad JSON: {}", e.what()));
      return std::nullopt;
    }
  }

  domain::decided<domain::decision> decide(const domain::command& c) {
    domain::catalog_index catalog;
    for (const auto& e : history)
      catalog.apply(e);
    domain::decide_context ctx{now, principal, limits, &catalog};
    return domain::decide_on(history, c, ctx);
  }

  std::optional<domain::command> read_command(const line_ref& at, const std::string& rest) {
    auto [name, data_text] = split_word(rest);
    auto data = parse_json(at, data_text);
    if (!data) return std::nullopt;
    std::string error;
    auto c = domain::command_from_json(name, *data, error);
    if (!c) {
      fail(at, fmt::format("bad command: {}", error));
      return std::nullopt;
    }
    return c.value();
  }

  void line(const line_ref& at, const std::string& directive, const std::string& rest) {
    if (directive == "scenario") {
      start_scenario(rest);
    } else if (directive == "now") {
      close_when();
      auto t = base::parse_rfc3339(rest);
      if (!t) return fail(at, "now: needs an RFC 3339 time");
      now = t.value();
    } else if (directive == "principal") {
      close_when();
      principal = rest;
    } else if (directive == "limits") {
      close_when();
      auto j = parse_json(at, rest);
      if (!j) return;
      std::string error;
      auto l = events::from_json_value<domain::limits>(
          domain::merge_json(events::to_json_value(limits), *j), error, "limits");
      if (!l) return fail(at, error);
      limits = l.value();
    } else if (directive == "given") {
      close_when();
      auto [type, data_text] = split_word(rest);
      auto data = parse_json(at, data_text);
      if (!data) return;
      std::string error;
      auto e = event_with_defaults(type, *data, error);
      if (!e) return fail(at, fmt::format("bad event: {}", error));
      history.push_back(e.value());
    } else if (directive == "do") {
      close_when();
      ++report.steps;
      auto c = read_command(at, rest);
      if (!c) return;
      auto d = decide(*c);
      if (!d)
        return fail(at, fmt::format("setup command refused: {} ({})", d.error().message,
                                    domain::to_name(d.error().code)));
      history.insert(history.end(), d.value().begin(), d.value().end());
    } else if (directive == "when") {
      close_when();
      ++report.steps;
      pending_when = true;
      when_line = at;
      matched = 0;
      checked = false;
      produced.clear();
      refused.reset();
      // A command that does not parse is refused as bad input (the API's 400).
      auto [name, data_text] = split_word(rest);
      auto data = parse_json(at, data_text);
      if (!data) return;
      std::string error;
      auto c = domain::command_from_json(name, *data, error);
      if (!c) {
        refused = domain::rejection{domain::errc::invalid_argument, error};
        return;
      }
      auto d = decide(c.value());
      if (d)
        produced = std::move(d.value());
      else
        refused = d.error();
    } else if (directive == "then") {
      if (!pending_when) return fail(at, "`then` without a `when`");
      checked = true;
      if (refused)
        return fail(
            at, fmt::format("refused ({}): {}", domain::to_name(refused->code), refused->message));
      if (rest == "nothing") {
        if (!produced.empty())
          fail(at, fmt::format("expected no events, got {} event(s), first {} {}", produced.size(),
                               events::type_name_of(produced[0]),
                               events::event_to_json(produced[0]).dump()));
        matched = produced.size();
        return;
      }
      auto [type, data_text] = split_word(rest);
      auto data = parse_json(at, data_text);
      if (!data) return;
      if (matched >= produced.size())
        return fail(at, fmt::format("expected {} {}, but only {} event(s) were produced", type,
                                    data->dump(), produced.size()));
      const auto& actual = produced[matched++];
      if (events::type_name_of(actual) != type)
        return fail(at, fmt::format("expected {}, got {} {}", type, events::type_name_of(actual),
                                    events::event_to_json(actual).dump()));
      std::string where;
      if (!json_subset(*data, events::event_to_json(actual), where))
        fail(at, fmt::format("{}: {} differs at {}; actual {}", type, data->dump(), where,
                             events::event_to_json(actual).dump()));
    } else if (directive == "reject") {
      if (!pending_when) return fail(at, "`reject` without a `when`");
      checked = true;
      auto [code, text] = split_word(rest);
      if (!refused) {
        matched = produced.size(); // reported here, not again as unexpected events
        return fail(at, fmt::format("expected refusal {} '{}', but it was accepted with {} "
                                    "event(s){}",
                                    code, text, produced.size(),
                                    produced.empty()
                                        ? std::string{}
                                        : ", first " + events::event_to_json(produced[0]).dump()));
      }
      if (domain::to_name(refused->code) != code)
        fail(at, fmt::format("expected code {}, got {}: {}", code, domain::to_name(refused->code),
                             refused->message));
      if (refused->message.find(text) == std::string::npos)
        fail(at, fmt::format("message '{}' does not contain '{}'", refused->message, text));
    } else {
      fail(at, fmt::format("unknown directive '{}'", directive));
    }
  }

  void run_text(const std::string& text, const std::string& name, int depth) {
    std::istringstream in{text};
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
      ++number;
      auto t = trim(raw);
      if (t.empty() || t[0] == '#') continue;
      auto colon = t.find(':');
      line_ref at{name, number, t};
      if (colon == std::string::npos) {
        fail(at, "expected `directive: ...`");
        continue;
      }
      auto directive = trim(std::string_view{t}.substr(0, colon));
      auto rest = trim(std::string_view{t}.substr(colon + 1));
      if (directive == "include") {
        if (depth > 4) {
          fail(at, "includes nested too deeply");
          continue;
        }
        std::ifstream f{include_dir / rest};
        if (!f) {
          fail(at, fmt::format("cannot read include {}", rest));
          continue;
        }
        std::stringstream buf;
        buf << f.rdbuf();
        run_text(buf.str(), rest, depth + 1);
        continue;
      }
      if (scenario.empty() && directive != "scenario") {
        fail(at, "a file must begin with `scenario:`");
        continue;
      }
      line(at, directive, rest);
    }
  }
};

} // namespace

bool json_subset(const json& expected, const json& actual, std::string& where,
                 const std::string& path) {
  if (expected.is_object()) {
    if (!actual.is_object()) {
      where = path;
      return false;
    }
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      auto a = actual.find(it.key());
      if (a == actual.end()) {
        where = path + "." + it.key() + " (missing)";
        return false;
      }
      if (!json_subset(it.value(), *a, where, path + "." + it.key())) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      where = path;
      return false;
    }
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (!json_subset(expected[i], actual[i], where, path + "[" + std::to_string(i) + "]"))
        return false;
    return true;
  }
  if (expected.is_string() && actual.is_string()) {
    auto te = base::parse_rfc3339(expected.get<std::string>());
    auto ta = base::parse_rfc3339(actual.get<std::string>());
    if (te && ta) {
      if (te.value() == ta.value()) return true;
      where = path;
      return false;
    }
  }
  if (expected != actual) {
    where = path;
    return false;
  }
  return true;
}

scenario_report run_scenarios(const std::string& text, const std::string& name,
                              const std::filesystem::path& include_dir) {
  runner r;
  r.include_dir = include_dir;
  r.run_text(text, name, 0);
  r.close_when();
  return std::move(r.report);
}

scenario_report run_scenario_file(const std::filesystem::path& path) {
  std::ifstream f{path};
  std::stringstream buf;
  buf << f.rdbuf();
  return run_scenarios(buf.str(), path.filename().string(), path.parent_path());
}

} // namespace otaledger::testing
