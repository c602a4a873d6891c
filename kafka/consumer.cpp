#include "kafka/consumer.hpp"

#include "events/json_codec.hpp"
#include "kafka/errc.hpp"
#include "kafka/internal/client.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

namespace otaledger::kafka {

namespace {
using clock = std::chrono::steady_clock;
} // namespace

struct event_consumer::impl {
  consumer_options opts;
  internal::client_context ctx;
  internal::rk_ptr rk;
  bool manual = true;
  bool assigned = false;
  bool metadata_failing = false;
  std::atomic<bool> topic_missing{false};
  clock::time_point next_assign_try{};

  // Partition -> highest position delivered from it.
  std::unordered_map<std::int32_t, std::uint64_t> high_water;
  mutable std::mutex m; // guards at_eof and st, which stats() reads from any thread
  // Partitions whose end was reached and that got nothing since.
  std::set<std::int32_t> at_eof;
  consumer_stats st;
  std::vector<record_header> headers; // the current record's, when read_headers

  void log(log_level l, const std::string& msg) const {
    if (opts.client.logger) opts.client.logger(l, msg);
  }

  // Manual mode: assign every partition of the topic once it exists.
  result<void> try_assign() {
    if (assigned || !manual) return ok();
    auto now = clock::now();
    if (now < next_assign_try) return ok();
    std::string error;
    auto n = internal::partition_count(rk.get(), opts.client.topic, 5000, error);
    if (!n) {
      // Brokers unreachable: librdkafka keeps trying; so do we.
      if (!metadata_failing) log(log_level::warning, "kafka consumer: " + error);
      metadata_failing = true;
      next_assign_try = now + std::chrono::milliseconds{500};
      return ok();
    }
    metadata_failing = false;
    if (n.value() == 0) {
      if (!topic_missing.exchange(true))
        log(log_level::warning, fmt::format("kafka consumer: topic {} does not exist (yet); "
                                            "waiting for it",
                                            opts.client.topic));
      next_assign_try = now + std::chrono::milliseconds{500};
      return ok();
    }
    topic_missing.store(false);
    internal::partition_list_ptr list{rd_kafka_topic_partition_list_new(n.value())};
    for (int p = 0; p < n.value(); ++p)
      rd_kafka_topic_partition_list_add(list.get(), opts.client.topic.c_str(), p)->offset =
          opts.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    if (auto err = rd_kafka_assign(rk.get(), list.get())) {
      log(log_level::error, "kafka consumer: assign: " + internal::describe(err));
      return internal::to_error_code(err);
    }
    assigned = true;
    std::lock_guard lock{m};
    st.partitions = n.value();
    return ok();
  }

  int assigned_partitions() const {
    rd_kafka_topic_partition_list_t* list = nullptr;
    if (rd_kafka_assignment(rk.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR || !list) return 0;
    internal::partition_list_ptr guard{list};
    return list->cnt;
  }

  bool compute_at_end() const {
    rd_kafka_topic_partition_list_t* list = nullptr;
    if (rd_kafka_assignment(rk.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR || !list) return false;
    internal::partition_list_ptr guard{list};
    if (list->cnt == 0) return false;
    std::lock_guard lock{m};
    for (int i = 0; i < list->cnt; ++i)
      if (!at_eof.count(list->elems[i].partition)) return false;
    return true;
  }

  void store_offset(const rd_kafka_message_t* msg) {
    if (manual) return;
    internal::partition_list_ptr list{rd_kafka_topic_partition_list_new(1)};
    rd_kafka_topic_partition_list_add(list.get(), rd_kafka_topic_name(msg->rkt), msg->partition)
        ->offset = msg->offset + 1;
    if (auto err = rd_kafka_offsets_store(rk.get(), list.get()))
      log(log_level::warning, "kafka consumer: storing an offset: " + internal::describe(err));
  }

  // Handles one record; returns whether it was delivered, or the error that stops delivery.
  result<bool> handle(const rd_kafka_message_t* msg, const event_handler& handler) {
    {
      std::lock_guard lock{m};
      at_eof.erase(msg->partition);
      ++st.records;
    }
    std::string_view value{static_cast<const char*>(msg->payload), msg->len};
    auto j = events::json::parse(value, nullptr, false);
    std::string error;
    result<events::envelope> env = make_error_code(errc::malformed_record);
    if (j.is_discarded())
      error = "the value is not JSON";
    else
      env = events::envelope_from_json(j, error);
    if (!env) {
      {
        std::lock_guard lock{m};
        ++st.malformed;
      }
      auto what = fmt::format("kafka consumer: record {}[{}]@{} is not an otaledger event: {}",
                              opts.client.topic, msg->partition, msg->offset, error);
      if (opts.on_malformed == malformed_policy::fail) {
        log(log_level::error, what);
        return make_error_code(errc::malformed_record);
      }
      log(log_level::warning, what + " (skipped)");
      store_offset(msg);
      return false;
    }
    auto pos = env.value().position();
    auto& hw = high_water[msg->partition];
    if (opts.dedupe && pos <= hw) {
      {
        std::lock_guard lock{m};
        ++st.duplicates;
      }
      store_offset(msg);
      return false;
    }
    consumed_event ev{env.value(), value, msg->partition, msg->offset, {}, {}};
    if (msg->key) ev.key = std::string_view{static_cast<const char*>(msg->key), msg->key_len};
    if (opts.read_headers) {
      headers.clear();
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* v = nullptr;
        std::size_t size = 0;
        for (std::size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
          headers.push_back({name, v ? std::string{static_cast<const char*>(v), size} : ""});
      }
      ev.headers = headers;
    }
    if (auto r = handler(ev); !r) {
      if (r.error() != make_error_code(errc::stopped)) // a deliberate stop is not news
        log(log_level::error, fmt::format("kafka consumer: the handler refused position {}: {}",
                                          pos, r.error().message()));
      return r.error();
    }
    hw = std::max(hw, pos);
    store_offset(msg);
    std::lock_guard lock{m};
    ++st.delivered;
    return true;
  }
};

event_consumer::event_consumer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

event_consumer::~event_consumer() {
  if (impl_ && impl_->rk) rd_kafka_consumer_close(impl_->rk.get());
}

result<std::unique_ptr<event_consumer>> event_consumer::create(consumer_options options) {
  if (auto why = validate(options); !why.empty()) {
    if (options.client.logger) options.client.logger(log_level::error, "kafka consumer: " + why);
    return make_error_code(errc::invalid_options);
  }
  auto p = std::make_unique<impl>();
  p->opts = std::move(options);
  p->manual = p->opts.group_id.empty();
  p->ctx.logger = &p->opts.client.logger;
  p->ctx.owner = p.get();
  auto props = consumer_properties(p->opts);
  // librdkafka's consumer wants a group id even when partitions are assigned
  // by hand; a private one that never joins (nor commits) is harmless.
  std::string group = p->opts.group_id;
  if (group.empty()) group = fmt::format("otaledger-consume-{:016x}", std::random_device{}());
  props.insert(props.begin(), {"group.id", group});
  std::string error;
  auto conf = internal::make_conf(props, error);
  if (!conf) {
    p->log(log_level::error, "kafka consumer: " + error);
    return conf.error();
  }
  internal::install_context(conf.value().get(), &p->ctx);
  auto rk = internal::make_client(RD_KAFKA_CONSUMER, std::move(conf).value(), error);
  if (!rk) {
    p->log(log_level::error, "kafka consumer: " + error);
    return rk.error();
  }
  p->rk = std::move(rk).value();
  rd_kafka_poll_set_consumer(p->rk.get());
  if (!p->manual) {
    internal::partition_list_ptr topics{rd_kafka_topic_partition_list_new(1)};
    rd_kafka_topic_partition_list_add(topics.get(), p->opts.client.topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(p->rk.get(), topics.get())) {
      p->log(log_level::error, "kafka consumer: subscribe: " + internal::describe(err));
      return internal::to_error_code(err);
    }
  }
  return std::unique_ptr<event_consumer>{new event_consumer{std::move(p)}};
}

result<std::size_t> event_consumer::poll(std::chrono::milliseconds timeout,
                                         const event_handler& handler) {
  auto& d = *impl_;
  auto deadline = clock::now() + timeout;
  OTA_TRYV(d.try_assign());
  if (d.manual && !d.assigned) {
    // Nothing assigned yet; still honour the caller's wait without spinning
    // (the main queue is the consumer queue: rd_kafka_poll may not be used).
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    internal::message_ptr msg{rd_kafka_consumer_poll(
        d.rk.get(), static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 100)))};
    if (msg && msg->err)
      d.log(log_level::warning,
            fmt::format("kafka consumer: {}", rd_kafka_message_errstr(msg.get())));
    return std::size_t{0};
  }
  std::size_t delivered = 0;
  for (std::size_t i = 0; i < d.opts.max_batch; ++i) {
    int wait_ms = 0;
    if (i == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      wait_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT32_MAX));
    }
    internal::message_ptr msg{rd_kafka_consumer_poll(d.rk.get(), wait_ms)};
    if (!msg) break;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::lock_guard lock{d.m};
      d.at_eof.insert(msg->partition);
      continue;
    }
    if (msg->err) {
      char buf[512];
      if (auto fatal = rd_kafka_fatal_error(d.rk.get(), buf, sizeof buf)) {
        d.log(log_level::error,
              fmt::format("kafka consumer: fatal error {}: {}", rd_kafka_err2name(fatal), buf));
        return make_error_code(errc::consume_failed);
      }
      if (msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        d.topic_missing.store(true);
      d.log(log_level::warning,
            fmt::format("kafka consumer: {}", rd_kafka_message_errstr(msg.get())));
      continue;
    }
    OTA_TRY(was_delivered, d.handle(msg.get(), handler));
    if (was_delivered) ++delivered;
  }
  return delivered;
}

result<std::size_t> event_consumer::consume_until_end(const event_handler& handler,
                                                      std::chrono::milliseconds timeout,
                                                      std::size_t max_events) {
  auto deadline = clock::now() + timeout;
  std::size_t total = 0;
  std::size_t left = max_events;
  event_handler limited = [&](const consumed_event& ev) -> result<void> {
    OTA_TRYV(handler(ev));
    --left;
    return ok();
  };
  while (left > 0 && !at_end()) {
    auto now = clock::now();
    if (now >= deadline) return make_error_code(errc::timeout);
    auto wait = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                         std::chrono::milliseconds{100});
    auto saved_batch = impl_->opts.max_batch;
    impl_->opts.max_batch = std::min(saved_batch, left);
    auto n = poll(wait, limited);
    impl_->opts.max_batch = saved_batch;
    if (!n) return n.error();
    total += n.value();
  }
  return total;
}

bool event_consumer::at_end() const {
  return impl_->compute_at_end();
}

bool event_consumer::topic_exists() const {
  return !impl_->topic_missing.load();
}

consumer_stats event_consumer::stats() const {
  auto& d = *impl_;
  consumer_stats s;
  {
    std::lock_guard lock{d.m};
    s = d.st;
  }
  s.partitions = d.assigned_partitions();
  s.at_end = d.compute_at_end();
  return s;
}

} // namespace otaledger::kafka
