#include "kafka/cli.hpp"

#include "kafka/consumer.hpp"
#include "kafka/errc.hpp"
#include "kafka/views.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace otaledger::kafka {
namespace {

constexpr std::string_view usage_text =
    R"(usage: otaledger consume [options]

Prints the events the Kafka relay published, one JSON envelope per line
(docs/kafka.md), copies dropped. Stops on --max, on --exit-at-end, or on
SIGINT/SIGTERM.

With --views DIR, builds the server's views (tasks, executions, fleet,
catalog, groups, audit) in DIR from the topic alone instead: every partition
from the beginning (or from where DIR's views are), copies dropped, events
folded in log-position order; then prints one JSON line per view (position,
rows, digest: equal to `otaledger rebuild` digests of the same log).

options:
  --brokers HOST:PORT[,...]  bootstrap brokers (default: $OTALEDGER_KAFKA_BROKERS)
  --topic NAME               topic (default: otaledger.events)
  --from-beginning           start at the earliest record (default: only new events)
  --max N                    stop after N events
  --output FORMAT            jsonl (one compact JSON object per line, the default)
                             or pretty (indented JSON, blank line between events)
  --group ID                 join consumer group ID and commit offsets (default: no
                             group, every partition read, nothing committed)
  --exit-at-end              stop once every partition was read to its end
  --no-dedupe                print copies too (re-published events)
  --stats                    print a summary on stderr when done
  --views DIR                build the views in DIR (a new directory, or one an earlier
                             --views run filled: it resumes) instead of printing events;
                             with --exit-at-end, stops once every position is folded
  -X PROPERTY=VALUE          a librdkafka property (security.protocol, sasl.*, ssl.*...)
  -h, --help                 this text
)";

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int) {
  interrupted.store(true);
}

struct signal_guard {
  struct sigaction old_int {
  }, old_term{};
  signal_guard() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~signal_guard() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

int usage_error(const std::string& msg) {
  std::cerr << "otaledger consume: " << msg << " (see --help)\n";
  return 2;
}

std::optional<std::uint64_t> parse_count(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// `consume --views DIR`.
int views_main(const consumer_options& opts, const std::string& dir, bool exit_at_end,
               bool print_stats) {
  views_options vo;
  vo.consumer = opts;
  vo.dir = dir;
  vo.until_end = exit_at_end;
  vo.stop = &interrupted;
  signal_guard guard;
  interrupted.store(false);
  auto r = build_views_from_topic(vo);
  if (!r) {
    std::cerr << "otaledger consume: " << views_error_detail() << " (" << r.error().message()
              << ")\n";
    return 1;
  }
  const auto& rep = r.value();
  for (const auto& [view, d] : rep.digests) {
    nlohmann::ordered_json j = {{"view", view},           {"position", rep.position()},
                                {"rows", d.rows},         {"bytes", d.bytes},
                                {"digest", d.hash}};
    std::cout << j.dump() << "\n";
  }
  std::cout << std::flush;
  if (print_stats)
    std::cerr << "otaledger consume: views in " << dir << " at position " << rep.position()
              << " (from " << rep.started_at() << "), " << rep.folded << " events folded, "
              << rep.records << " records read, " << rep.duplicates << " copies dropped, "
              << rep.malformed << " malformed skipped, at most " << rep.most_held
              << " events held for an earlier position\n";
  return 0;
}

} // namespace

int consume_main(int argc, char** argv) {
  consumer_options opts;
  opts.from_beginning = false;
  opts.on_malformed = malformed_policy::skip;
  if (const char* env = std::getenv("OTALEDGER_KAFKA_BROKERS")) opts.client.brokers = env;
  std::optional<std::uint64_t> max;
  std::string output = "jsonl";
  bool exit_at_end = false;
  bool print_stats = false;
  std::string views_dir;
  bool views_conflict = false; // an option that has no meaning with --views

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    auto take = [&](std::string& out) -> bool {
      if (has_inline) {
        out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      std::cout << usage_text;
      return 0;
    } else if (arg == "--brokers") {
      if (!take(opts.client.brokers)) return usage_error("--brokers needs a value");
    } else if (arg == "--topic") {
      if (!take(opts.client.topic)) return usage_error("--topic needs a value");
    } else if (arg == "--from-beginning") {
      opts.from_beginning = true;
    } else if (arg == "--views") {
      if (!take(views_dir) || views_dir.empty()) return usage_error("--views needs a directory");
    } else if (arg == "--max") {
      views_conflict = true;
      if (!take(v)) return usage_error("--max needs a value");
      max = parse_count(v);
      if (!max) return usage_error("--max must be a non-negative integer, not '" + v + "'");
    } else if (arg == "--output") {
      views_conflict = true;
      if (!take(output)) return usage_error("--output needs a value");
      if (output != "jsonl" && output != "pretty")
        return usage_error("--output must be jsonl or pretty, not '" + output + "'");
    } else if (arg == "--group") {
      views_conflict = true;
      if (!take(opts.group_id)) return usage_error("--group needs a value");
    } else if (arg == "--exit-at-end") {
      exit_at_end = true;
    } else if (arg == "--no-dedupe") {
      views_conflict = true;
      opts.dedupe = false;
    } else if (arg == "--stats") {
      print_stats = true;
    } else if (arg == "-X" || arg.rfind("-X", 0) == 0) {
      std::string kv = arg.size() > 2 ? arg.substr(2) : std::string{};
      if (kv.empty() && (i + 1 >= argc || (kv = argv[++i]).empty()))
        return usage_error("-X needs PROPERTY=VALUE");
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return usage_error("-X needs PROPERTY=VALUE, not '" + kv + "'");
      opts.client.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else {
      return usage_error("unknown argument '" + std::string{argv[i]} + "'");
    }
  }
  if (opts.client.brokers.empty())
    return usage_error("no brokers: pass --brokers or set OTALEDGER_KAFKA_BROKERS");
  if (auto why = validate(opts); !why.empty()) return usage_error(why);
  if (!views_dir.empty()) {
    if (views_conflict)
      return usage_error("--views cannot be combined with --max, --output, --group or --no-dedupe");
    return views_main(opts, views_dir, exit_at_end, print_stats);
  }
  if (max && *max == 0) return 0;

  auto consumer = event_consumer::create(opts);
  if (!consumer) {
    std::cerr << "otaledger consume: " << consumer.error().message() << "\n";
    return 1;
  }
  signal_guard guard;
  interrupted.store(false);
  std::uint64_t printed = 0;
  std::string line;
  event_handler print = [&](const consumed_event& ev) -> result<void> {
    if (output == "jsonl") {
      // The value is the relay's compact one-line JSON; re-dump it only if it
      // is not (a record from elsewhere with newlines would break the lines).
      if (ev.value.find('\n') == std::string_view::npos) {
        std::fwrite(ev.value.data(), 1, ev.value.size(), stdout);
        std::fputc('\n', stdout);
      } else {
        line = nlohmann::ordered_json::parse(ev.value).dump();
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
      }
    } else {
      line = nlohmann::ordered_json::parse(ev.value).dump(2);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputs("\n\n", stdout);
    }
    ++printed;
    return ok();
  };

  int rc = 0;
  while (!interrupted.load()) {
    if (max && printed >= *max) break;
    auto& c = *consumer.value();
    if (exit_at_end && c.at_end()) break;
    auto left = max ? *max - printed : SIZE_MAX;
    auto n = c.poll(std::chrono::milliseconds{200}, [&](const consumed_event& ev) -> result<void> {
      if (left == 0) return make_error_code(errc::stopped);
      --left;
      return print(ev);
    });
    std::fflush(stdout);
    if (!n && n.error() != make_error_code(errc::stopped)) {
      std::cerr << "otaledger consume: " << n.error().message() << "\n";
      rc = 1;
      break;
    }
    if (!n) break;
    if (exit_at_end && !c.topic_exists()) {
      std::cerr << "otaledger consume: topic " << opts.client.topic << " does not exist\n";
      rc = 1;
      break;
    }
  }
  std::fflush(stdout);
  if (print_stats) {
    auto s = consumer.value()->stats();
    std::cerr << "otaledger consume: " << printed << " events printed, " << s.records
              << " records read, " << s.duplicates << " copies dropped, " << s.malformed
              << " malformed skipped, " << s.partitions << " partitions\n";
  }
  return rc;
}

} // namespace otaledger::kafka
