// The log's subcommands: replay, audit, rebuild, export, verify. Each opens
// the data directory (which must exist; the server must not hold it), does
// its work, and prints a progress bar on stderr for long work.
#include "base/time.hpp"
#include "cli/commands.hpp"
#include "events/json_codec.hpp"
#include "projections/projector.hpp"
#include "projections/queries.hpp"
#include "projections/replay.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace otaledger::cli {
namespace {

/// A progress bar on stderr (only when stderr is a terminal, or forced with
/// OTALEDGER_PROGRESS=1), redrawn at most ten times a second.
class progress_bar {
public:
  explicit progress_bar(std::string what)
      : what_(std::move(what)),
        on_(::isatty(2) || (std::getenv("OTALEDGER_PROGRESS") &&
                            std::strcmp(std::getenv("OTALEDGER_PROGRESS"), "1") == 0)) {}
  ~progress_bar() { finish(); }
  void operator()(std::uint64_t done, std::uint64_t total) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
    last_ = now;
    drawn_ = true;
    if (total == 0) {
      std::fprintf(stderr, "\r%s: %llu", what_.c_str(), static_cast<unsigned long long>(done));
    } else {
      const int width = 30;
      const int filled =
          static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * width);
      std::fprintf(stderr, "\r%s [%-*s] %3d%% %llu/%llu", what_.c_str(), width,
                   std::string(static_cast<std::size_t>(std::min(filled, width)), '#').c_str(),
                   static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)),
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    }
    std::fflush(stderr);
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

private:
  std::string what_;
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// Parsed flags: --name value pairs, bare flags and positionals.
struct args {
  std::string command;
  std::vector<std::string> positional;
  std::unordered_map<std::string, std::string> values;
  std::vector<std::string> flags;
  bool has(const std::string& f) const {
    return std::find(flags.begin(), flags.end(), f) != flags.end();
  }
  std::optional<std::string> value(const std::string& k) const {
    auto i = values.find(k);
    if (i == values.end()) return std::nullopt;
    return i->second;
  }
};

int usage_error(const std::string& cmd, const std::string& msg) {
  std::cerr << "otaledger " << cmd << ": " << msg << " (see otaledger " << cmd << " --help)\n";
  return 2;
}

/// Parses argv; `valued` are the flags that take a value. Returns nullopt
/// (after printing) on a usage error, or when --help was printed (code 0).
std::optional<args> parse(int argc, char** argv, const std::vector<std::string>& valued,
                          const std::vector<std::string>& bare, const char* help, int& code) {
  args a;
  a.command = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--help" || s == "-h") {
      std::cout << help;
      code = 0;
      return std::nullopt;
    }
    if (std::find(valued.begin(), valued.end(), s) != valued.end()) {
      if (i + 1 >= argc) {
        code = usage_error(a.command, s + " needs a value");
        return std::nullopt;
      }
      a.values[s] = argv[++i];
    } else if (std::find(bare.begin(), bare.end(), s) != bare.end()) {
      a.flags.push_back(s);
    } else if (s.starts_with("--")) {
      code = usage_error(a.command, "unknown option '" + s + "'");
      return std::nullopt;
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::optional<storage::database> open_data(const args& a, int& code) {
  storage::options o;
  o.path = a.value("--data").value_or("./data");
  o.create_if_missing = false;
  o.sync = false; // these commands write only derived views (rebuild), never the log
  auto db = storage::open_database(o);
  if (!db) {
    std::cerr << "otaledger " << a.command << ": cannot open the data directory '" << o.path
              << "': " << storage::error_detail() << "\n";
    code = 1;
    return std::nullopt;
  }
  return std::move(db).value();
}

std::optional<std::uint64_t> parse_number(const std::string& s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

constexpr const char* replay_help =
    R"(usage: otaledger replay STREAM [--until TIME | --position P] [--data DIR] [--json]

Folds one aggregate's stream (e.g. task-17, device-D1, group-G1) with the
domain's rules and prints its timeline and its state at the end: the whole
stream, or only the events at or before TIME (RFC 3339, e.g.
2026-03-01T12:00:00Z) or log position P.

  --until TIME   state as of this time
  --position P   state as of this log position
  --data DIR     data directory. Default: ./data
  --json         print one JSON object {stream, version, position, time, state, timeline}
)";

constexpr const char* audit_help =
    R"(usage: otaledger audit (STREAM | --correlation ID) [--data DIR]

Prints the audit trail as JSON Lines: every event of STREAM in version order,
or every event caused by one command (its correlation id, e.g. a pause and the
device events it caused) in log order. Each line says who (principal), when
(time), why (reason), which command, and what changed (data).

  --correlation ID  the trail of one correlation id (needs the audit view; run
                    `otaledger rebuild audit` if it is behind)
  --data DIR        data directory. Default: ./data
)";

constexpr const char* rebuild_help =
    R"(usage: otaledger rebuild (VIEW... | --all) [--verify] [--data DIR]

Rebuilds views from log position 1 into fresh key spaces, compares each with
the live view (caught up to the same position) by digest, and atomically
replaces the live view with the rebuilt one. Run it while the server is
stopped. Prints one JSON line per view.

Views: tasks, executions, fleet, catalog, groups, audit.

  --all       every view
  --verify    prove live == rebuilt: on a difference, keep the live view,
              print the first differing key, and exit with status 1
  --data DIR  data directory. Default: ./data
)";

constexpr const char* export_help =
    R"(usage: otaledger export [--from P] [--stream S] [--out FILE] [--data DIR]

Writes the log as JSON Lines (one event per line, docs/events.md): every event
from position P (default 1), or only the events of stream S.

  --from P    first log position (or, with --stream, first stream version)
  --stream S  only this stream (e.g. task-17)
  --out FILE  write to FILE instead of stdout
  --data DIR  data directory. Default: ./data
)";

constexpr const char* verify_help =
    R"(usage: otaledger verify [--data DIR]

Reads the whole log and checks every record's CRC32C, that positions are
dense from 1 to the head, that each stream's versions are dense from 1, and
that every payload decodes. Prints a JSON summary; exits with status 1 at the
first problem, naming its position.

  --data DIR  data directory. Default: ./data
)";

} // namespace

int replay_main(int argc, char** argv) {
  int code = 2;
  auto a = parse(argc, argv, {"--until", "--position", "--data"}, {"--json"}, replay_help, code);
  if (!a) return code;
  if (a->positional.size() != 1) return usage_error("replay", "expected one STREAM");
  if (a->value("--until") && a->value("--position"))
    return usage_error("replay", "give --until or --position, not both");
  projections::replay_limit limit;
  if (auto p = a->value("--position")) {
    auto n = parse_number(*p);
    if (!n || *n == 0)
      return usage_error("replay", "--position wants a log position (1, 2, ...), got '" + *p + "'");
    limit.position = log_position{*n};
  }
  if (auto t = a->value("--until")) {
    auto ts = base::parse_rfc3339(*t);
    if (!ts)
      return usage_error("replay", "--until wants an RFC 3339 time such as "
                                   "2026-03-01T12:00:00Z, got '" +
                                       *t + "'");
    limit.time = ts.value();
  }
  auto db = open_data(*a, code);
  if (!db) return code;
  if (limit.position() > db->events->head()())
    return usage_error("replay", "--position " + std::to_string(limit.position()) +
                                     " is past the end of the log (head " +
                                     std::to_string(db->events->head()()) + ")");
  const bool as_json = a->has("--json");
  events::json timeline = events::json::array();
  auto r = projections::replay_stream(
      *db->events, a->positional[0], limit, [&](const events::envelope& e) {
        if (as_json) {
          if (auto j = events::envelope_to_json(e)) timeline.push_back(j.value());
          return;
        }
        std::cout << "v" << e.version() << "  @" << e.position() << "  "
                  << base::format_rfc3339(e.time) << "  " << e.type << "  by " << e.meta.principal;
        if (!e.meta.reason.empty()) std::cout << "  because \"" << e.meta.reason << "\"";
        if (!e.meta.correlation.empty()) std::cout << "  [" << e.meta.correlation << "]";
        std::cout << "\n";
      });
  if (!r) {
    std::cerr << "otaledger replay: " << projections::error_detail() << "\n";
    return 1;
  }
  const auto& s = r.value();
  if (as_json) {
    events::json j = {{"stream", s.stream},
                      {"aggregate", s.aggregate},
                      {"version", s.version()},
                      {"position", s.position()},
                      {"time", base::format_rfc3339(s.time)},
                      {"state", s.state},
                      {"timeline", timeline}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "\nstate of " << s.stream << " at version " << s.version() << " (position "
              << s.position() << ", " << base::format_rfc3339(s.time) << "):\n"
              << s.state.dump(2) << "\n";
  }
  return 0;
}

int audit_main(int argc, char** argv) {
  int code = 2;
  auto a = parse(argc, argv, {"--correlation", "--data"}, {}, audit_help, code);
  if (!a) return code;
  const auto corr = a->value("--correlation");
  if (corr ? !a->positional.empty() : a->positional.size() != 1)
    return usage_error("audit", "expected one STREAM or --correlation ID");
  auto db = open_data(*a, code);
  if (!db) return code;
  projections::queries q{*db->views};
  projections::page_request req{"", 1000};
  std::uint64_t n = 0;
  for (;;) {
    auto p = corr ? q.audit_correlation(*db->events, *corr, req)
                  : projections::queries::audit_stream(*db->events, a->positional[0], req);
    if (!p) {
      std::cerr << "otaledger audit: " << projections::error_detail() << "\n";
      return 1;
    }
    for (auto& e : p.value().items) {
      auto line = events::envelope_to_json_line(e);
      if (!line) {
        std::cerr << "otaledger audit: cannot decode the event at position " << e.position()
                  << "\n";
        return 1;
      }
      std::cout << line.value() << "\n";
      ++n;
    }
    if (p.value().next.empty()) break;
    req.cursor = p.value().next;
  }
  if (n == 0) {
    std::cerr << "otaledger audit: no events for "
              << (corr ? "correlation id '" + *corr + "'" : "stream '" + a->positional[0] + "'")
              << "\n";
    return 1;
  }
  return 0;
}

int rebuild_main(int argc, char** argv) {
  int code = 2;
  auto a = parse(argc, argv, {"--data"}, {"--all", "--verify"}, rebuild_help, code);
  if (!a) return code;
  std::vector<std::string> views = a->positional;
  if (a->has("--all")) {
    if (!views.empty()) return usage_error("rebuild", "give VIEW names or --all, not both");
    for (auto v : projections::view_names())
      views.emplace_back(v);
  }
  if (views.empty()) return usage_error("rebuild", "expected VIEW names or --all");
  if (!projections::check_view_names(views))
    return usage_error("rebuild", projections::error_detail());
  auto db = open_data(*a, code);
  if (!db) return code;
  progress_bar bar{"rebuild"};
  projections::rebuild_options o;
  o.verify = a->has("--verify");
  o.progress = [&](std::uint64_t d, std::uint64_t t) { bar(d, t); };
  auto r = projections::rebuild(*db->events, *db->views, views, o);
  bar.finish();
  if (!r) {
    std::cerr << "otaledger rebuild: " << projections::error_detail() << "\n";
    return 1;
  }
  int status = 0;
  for (auto& rep : r.value()) {
    events::json j = {{"view", rep.view},
                      {"position", rep.position()},
                      {"rows", rep.rebuilt.rows},
                      {"live_digest", rep.live.hash},
                      {"rebuilt_digest", rep.rebuilt.hash},
                      {"equal", rep.equal},
                      {"swapped", rep.swapped}};
    if (!rep.equal) j["first_difference"] = rep.first_difference;
    std::cout << j.dump() << "\n";
    if (o.verify && !rep.equal) status = 1;
  }
  return status;
}

int export_main(int argc, char** argv) {
  int code = 2;
  auto a = parse(argc, argv, {"--from", "--stream", "--out", "--data"}, {}, export_help, code);
  if (!a) return code;
  if (!a->positional.empty()) return usage_error("export", "unexpected '" + a->positional[0] + "'");
  std::uint64_t from = 1;
  if (auto f = a->value("--from")) {
    auto n = parse_number(*f);
    if (!n || *n == 0)
      return usage_error("export", "--from wants a position (1, 2, ...), got '" + *f + "'");
    from = *n;
  }
  auto db = open_data(*a, code);
  if (!db) return code;
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (auto path = a->value("--out")) {
    file.open(*path, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "otaledger export: cannot write '" << *path << "'\n";
      return 1;
    }
    out = &file;
  }
  auto& log = *db->events;
  const std::uint64_t head = log.head()();
  progress_bar bar{"export"};
  std::uint64_t n = 0;
  for (;;) {
    auto page = a->value("--stream")
                    ? log.read_stream(*a->value("--stream"), stream_version{from}, 4096)
                    : log.read_all(log_position{from}, 4096);
    if (!page) {
      std::cerr << "otaledger export: " << storage::error_detail() << "\n";
      return 1;
    }
    if (page.value().empty()) break;
    for (auto& e : page.value()) {
      auto line = events::envelope_to_json_line(e);
      if (!line) {
        std::cerr << "otaledger export: cannot decode the event at position " << e.position()
                  << "\n";
        return 1;
      }
      *out << line.value() << '\n';
      ++n;
    }
    from = a->value("--stream") ? page.value().back().version() + 1
                                : page.value().back().position() + 1;
    if (!a->value("--stream")) bar(from - 1, head);
  }
  out->flush();
  if (!*out) {
    std::cerr << "otaledger export: writing failed\n";
    return 1;
  }
  bar.finish();
  std::cerr << "exported " << n << " events\n";
  return 0;
}

int verify_main(int argc, char** argv) {
  int code = 2;
  auto a = parse(argc, argv, {"--data"}, {}, verify_help, code);
  if (!a) return code;
  if (!a->positional.empty()) return usage_error("verify", "unexpected '" + a->positional[0] + "'");
  auto db = open_data(*a, code);
  if (!db) return code;
  auto& log = *db->events;
  const std::uint64_t head = log.head()();
  std::unordered_map<std::string, std::uint64_t> versions;
  progress_bar bar{"verify"};
  std::uint64_t expect = 1;
  auto fail = [&](const std::string& what) {
    bar.finish();
    std::cout << events::json{{"ok", false},
                              {"checked", expect - 1},
                              {"head", head},
                              {"error", what}}
                     .dump()
              << "\n";
    return 1;
  };
  while (expect <= head) {
    auto page = log.read_all(log_position{expect}, 4096);
    if (!page) return fail(storage::error_detail());
    if (page.value().empty())
      return fail("the log ends at position " + std::to_string(expect - 1) + " before its head " +
                  std::to_string(head));
    for (auto& e : page.value()) {
      if (e.position() != expect)
        return fail("position " + std::to_string(expect) + " is followed by " +
                    std::to_string(e.position()));
      auto& v = versions[e.stream];
      if (e.version() != v + 1)
        return fail("stream " + e.stream + " jumps from version " + std::to_string(v) + " to " +
                    std::to_string(e.version()) + " at position " + std::to_string(e.position()));
      v = e.version();
      if (!events::decode(e))
        return fail("the payload at position " + std::to_string(e.position()) + " (" + e.type +
                    ") does not decode");
      ++expect;
    }
    bar(expect - 1, head);
  }
  // Stream heads must match the last version seen.
  for (auto& [s, v] : versions) {
    auto h = log.stream_head(s);
    if (!h || h.value()() != v)
      return fail("stream " + s + " has head " + (h ? std::to_string(h.value()()) : "?") +
                  " but its last event is version " + std::to_string(v));
  }
  bar.finish();
  std::cout << events::json{{"ok", true}, {"events", head}, {"streams", versions.size()}}.dump()
            << "\n";
  return 0;
}

} // namespace otaledger::cli
