// Kafka workloads: the relay beside plain librdkafka, same broker, same run.
//
//   raw_produce   plain librdkafka producing the relay's records (same keys,
//                 values and headers, built before the clock starts) with the
//                 relay's producer configuration, until every delivery is confirmed.
//   relay_kafka   the relay publishing a pre-filled log (read from the store,
//                 JSON-encoded, produced) until every position is confirmed.
//                 Alternates with raw_produce runs (so both see the same
//                 machine: the broker shares it) and reports the medians and
//                 "ratio" = relay_kafka ops/s / raw_produce ops/s.
//
// Broker: --brokers=HOST:PORT or $OTALEDGER_KAFKA_BROKERS; without one each
// workload prints {"skipped":true,"reason":...}. Flags: --num (events,
// default 200000), --streams (default 1000), --partitions (default 4),
// --trials (runs per workload, median reported; default 3).
//
// Why the baseline is raw librdkafka here: it is the engine under the relay
// (like raw RocksDB under the event store), so the ratio shows what the relay
// itself costs — reading the log, encoding JSON, tracking confirmations.
#include "bench/bench.hpp"
#include "kafka/cloudevents.hpp"
#include "kafka/options.hpp"
#include "kafka/relay.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/kafka/log_fill.hpp" // the same deterministic log as the Kafka tests

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otaledger::bench {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct setup {
  std::string brokers;
  std::uint64_t num = 200000;
  std::uint64_t streams = 1000;
  int partitions = 4;
  int trials = 3;
};

std::optional<setup> read_setup(const args& a, const std::string& name) {
  setup s;
  s.brokers = a.get("brokers");
  if (s.brokers.empty())
    if (const char* env = std::getenv("OTALEDGER_KAFKA_BROKERS")) s.brokers = env;
  if (s.brokers.empty()) {
    emit(name, {{"skipped", true},
                {"reason", "no Kafka broker: pass --brokers=HOST:PORT or set "
                           "OTALEDGER_KAFKA_BROKERS (scripts/kafka.sh start)"}});
    return std::nullopt;
  }
  if (a.num) s.num = a.num;
  s.streams = std::stoull(a.get("streams", "1000"));
  s.partitions = std::stoi(a.get("partitions", "4"));
  s.trials = std::max(1, std::stoi(a.get("trials", "3")));
  return s;
}

// The relay's options for this run; the baseline uses the same producer properties.
kafka::relay_options relay_options_for(const setup& s, const std::string& topic) {
  kafka::relay_options o;
  o.client.brokers = s.brokers;
  o.client.topic = topic;
  o.client.partitions = s.partitions;
  o.client.client_id = "otaledger-bench";
  o.source = "otaledger://bench";
  o.client.logger = [](kafka::log_level l, std::string_view m) {
    if (l >= kafka::log_level::error) kafka::log_to_stderr(l, m);
  };
  return o;
}

struct rk_handle {
  rd_kafka_t* rk = nullptr;
  ~rk_handle() {
    if (rk) rd_kafka_destroy(rk);
  }
};

// A plain librdkafka producer with exactly the relay's properties.
bool make_producer(const kafka::relay_options& o, rk_handle& h, rd_kafka_conf_t* extra_cb_conf) {
  char err[512];
  rd_kafka_conf_t* conf = extra_cb_conf;
  for (const auto& [k, v] : kafka::producer_properties(o))
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "kafka_bench: %s=%s: %s\n", k.c_str(), v.c_str(), err);
      rd_kafka_conf_destroy(conf);
      return false;
    }
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  h.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!h.rk) std::fprintf(stderr, "kafka_bench: rd_kafka_new: %s\n", err);
  return h.rk != nullptr;
}

// Creates a topic with the admin API before any clock starts (both workloads
// publish to a fresh, existing topic).
bool create_topic(const kafka::relay_options& o) {
  rk_handle h;
  if (!make_producer(o, h, rd_kafka_conf_new())) return false;
  char err[512];
  auto* nt =
      rd_kafka_NewTopic_new(o.client.topic.c_str(), o.client.partitions, -1, err, sizeof err);
  auto* q = rd_kafka_queue_new(h.rk);
  rd_kafka_CreateTopics(h.rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  bool ok = false;
  if (ev) {
    std::size_t cnt = 0;
    const auto* res = rd_kafka_event_CreateTopics_result(ev);
    const auto** topics = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : nullptr;
    ok = !rd_kafka_event_error(ev) && cnt == 1 &&
         (rd_kafka_topic_result_error(topics[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ||
          rd_kafka_topic_result_error(topics[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  if (!ok) std::fprintf(stderr, "kafka_bench: could not create topic %s\n", o.client.topic.c_str());
  return ok;
}

void delete_topic(const kafka::relay_options& o) {
  rk_handle h;
  if (!make_producer(o, h, rd_kafka_conf_new())) return;
  auto* dt = rd_kafka_DeleteTopic_new(o.client.topic.c_str());
  auto* q = rd_kafka_queue_new(h.rk);
  rd_kafka_DeleteTopics(h.rk, &dt, 1, nullptr, q);
  if (auto* ev = rd_kafka_queue_poll(q, 30000)) rd_kafka_event_destroy(ev);
  rd_kafka_DeleteTopic_destroy(dt);
  rd_kafka_queue_destroy(q);
}

std::string topic_name(const char* what) {
  return "otaledger-bench-" + std::string{what} + "-" + std::to_string(::getpid());
}

struct measured {
  double ops_per_s = 0;
  double seconds = 0;
  double avg_value_bytes = 0;
  std::uint64_t failed = 0;
  std::uint64_t producer_restarts = 0;
};

std::atomic<std::uint64_t> raw_delivered{0};
std::atomic<std::uint64_t> raw_failed{0};
void raw_dr(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err)
    raw_failed.fetch_add(1);
  else
    raw_delivered.fetch_add(1);
}

// One run of plain librdkafka: the relay's records, built before the clock
// starts, produced with the relay's configuration until all are confirmed.
std::optional<measured> raw_once(const setup& s, int trial) {
  auto owned = storage::make_memory_event_store();
  auto& store = *owned;
  kafka::testing::fill(store, s.num, s.streams);
  auto o = relay_options_for(s, topic_name("raw") + "-" + std::to_string(trial));
  std::vector<kafka::record> records;
  records.reserve(s.num);
  double bytes = 0;
  for (log_position p{1}; p() <= s.num;) {
    auto batch = store.read_all(p, 10000).value();
    for (const auto& e : batch) {
      records.push_back(kafka::make_record(e, kafka::effective_source(o)).value());
      bytes += static_cast<double>(records.back().value.size());
    }
    p = log_position{batch.back().position() + 1};
  }
  if (!create_topic(o)) return std::nullopt;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_dr_msg_cb(conf, raw_dr);
  rk_handle h;
  if (!make_producer(o, h, conf)) return std::nullopt;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(h.rk, o.client.topic.c_str(), nullptr);
  raw_delivered = 0;
  raw_failed = 0;
  auto t0 = steady::now();
  for (const auto& r : records) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& hd : r.headers)
      rd_kafka_header_add(hdrs, hd.name.data(), static_cast<ssize_t>(hd.name.size()),
                          hd.value.data(), static_cast<ssize_t>(hd.value.size()));
    for (;;) {
      auto err = rd_kafka_producev(
          h.rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_headers_destroy(hdrs);
        std::fprintf(stderr, "kafka_bench: produce: %s\n", rd_kafka_err2str(err));
        rd_kafka_topic_destroy(rkt);
        return std::nullopt;
      }
      rd_kafka_poll(h.rk, 10);
    }
    rd_kafka_poll(h.rk, 0);
  }
  while (raw_delivered.load() + raw_failed.load() < s.num)
    rd_kafka_poll(h.rk, 100);
  auto secs = std::chrono::duration<double>(steady::now() - t0).count();
  rd_kafka_topic_destroy(rkt);
  delete_topic(o);
  return measured{static_cast<double>(s.num) / secs, secs, bytes / static_cast<double>(s.num),
                  raw_failed.load(), 0};
}

// One run of the relay over a pre-filled log, until every position is confirmed.
std::optional<measured> relay_once(const setup& s, int trial) {
  auto owned = storage::make_memory_event_store();
  auto& store = *owned;
  kafka::testing::fill(store, s.num, s.streams);
  auto o = relay_options_for(s, topic_name("relay") + "-" + std::to_string(trial));
  if (!create_topic(o)) return std::nullopt;
  auto r = kafka::relay::create(store, o);
  if (!r) return std::nullopt;
  auto t0 = steady::now();
  if (!r.value()->start()) return std::nullopt;
  auto done = r.value()->wait_until_confirmed(log_position{s.num}, 600s);
  auto secs = std::chrono::duration<double>(steady::now() - t0).count();
  auto st = r.value()->stats();
  r.value()->stop();
  delete_topic(o);
  if (!done) {
    std::fprintf(stderr, "kafka_bench: the relay did not finish: %s\n", st.last_error.c_str());
    return std::nullopt;
  }
  return measured{static_cast<double>(s.num) / secs, secs, 0, st.delivery_failures,
                  st.producer_restarts};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

bool raw_line_emitted = false;

void emit_raw(const setup& s, const std::vector<measured>& runs) {
  std::vector<double> ops;
  for (const auto& m : runs)
    ops.push_back(m.ops_per_s);
  auto o = relay_options_for(s, "");
  auto med = median(ops);
  emit("raw_produce", {{"brokers", s.brokers},
                       {"events", s.num},
                       {"streams", s.streams},
                       {"partitions", s.partitions},
                       {"avg_value_bytes", runs.front().avg_value_bytes},
                       {"compression", o.compression},
                       {"linger_ms", o.linger_ms},
                       {"trials", runs.size()},
                       {"ops_per_s_each", ops},
                       {"ops_per_s", med},
                       {"us_per_op", 1e6 / med},
                       {"ratio", 1.0}});
  raw_line_emitted = true;
}

void raw_produce(const args& a) {
  auto s = read_setup(a, "raw_produce");
  if (!s) return;
  std::vector<measured> runs;
  for (int t = 0; t < s->trials; ++t) {
    auto m = raw_once(*s, t);
    if (!m) {
      emit("raw_produce", {{"error", "the baseline could not run (see stderr)"}});
      return;
    }
    runs.push_back(*m);
  }
  emit_raw(*s, runs);
}

void relay_kafka(const args& a) {
  auto s = read_setup(a, "relay_kafka");
  if (!s) return;
  // Trials alternate baseline and relay, so both see the same machine (the
  // broker shares it); the medians are compared.
  std::vector<measured> raw, rel;
  for (int t = 0; t < s->trials; ++t) {
    auto m = raw_once(*s, 100 + t);
    auto r = relay_once(*s, t);
    if (!m || !r) {
      emit("relay_kafka", {{"error", "a run failed (see stderr)"}});
      return;
    }
    raw.push_back(*m);
    rel.push_back(*r);
  }
  if (!raw_line_emitted) emit_raw(*s, raw);
  std::vector<double> raw_ops, rel_ops;
  std::uint64_t restarts = 0, failures = 0;
  for (const auto& m : raw)
    raw_ops.push_back(m.ops_per_s);
  for (const auto& m : rel) {
    rel_ops.push_back(m.ops_per_s);
    restarts += m.producer_restarts;
    failures += m.failed;
  }
  auto o = relay_options_for(*s, "");
  auto med = median(rel_ops);
  auto raw_med = median(raw_ops);
  emit("relay_kafka", {{"brokers", s->brokers},
                       {"events", s->num},
                       {"streams", s->streams},
                       {"partitions", s->partitions},
                       {"compression", o.compression},
                       {"linger_ms", o.linger_ms},
                       {"trials", rel.size()},
                       {"ops_per_s_each", rel_ops},
                       {"ops_per_s", med},
                       {"us_per_op", 1e6 / med},
                       {"raw_produce_ops_per_s", raw_med},
                       {"raw_produce_ops_per_s_each", raw_ops},
                       {"delivery_failures", failures},
                       {"producer_restarts", restarts},
                       {"ratio", med / raw_med}});
}

const registrar reg_raw{"raw_produce",
                        "plain librdkafka producing the relay's records (same keys, values, "
                        "headers, producer config) until all are confirmed; needs --brokers or "
                        "OTALEDGER_KAFKA_BROKERS",
                        raw_produce};
const registrar reg_relay{"relay_kafka",
                          "the Kafka relay publishing a pre-filled log until every position is "
                          "confirmed, alternating with raw_produce runs; ratio = relay / raw "
                          "(medians of --trials runs)",
                          relay_kafka};

} // namespace
} // namespace otaledger::bench
