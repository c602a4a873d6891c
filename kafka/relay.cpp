#include "kafka/relay.hpp"

#include "kafka/cloudevents.hpp"
#include "kafka/errc.hpp"
#include "kafka/internal/client.hpp"
#include "kafka/internal/record_builder.hpp"
#include "storage/event_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace otaledger::kafka {

std::string_view to_string(relay_state s) {
  switch (s) {
  case relay_state::stopped:
    return "stopped";
  case relay_state::running:
    return "running";
  case relay_state::backing_off:
    return "backing_off";
  case relay_state::failed:
    return "failed";
  }
  return "unknown";
}

namespace {

using clock = std::chrono::steady_clock;

// One producer instance and what it has in flight. A fatal error or a failed
// delivery breaks the session; the relay then destroys it and starts a new one
// from the confirmed prefix, so a delivery report of a dead producer can never
// move the checkpoint.
struct session {
  internal::client_context ctx;
  internal::rk_ptr rk;
  internal::rkt_ptr rkt;
  internal::queue_ptr main_queue;
  int wake_pipe[2] = {-1, -1}; // librdkafka writes to [1] when its queue gets an event

  // The window: done[i] says whether position confirmed + 1 + i was confirmed.
  std::uint64_t confirmed = 0;
  std::deque<std::uint8_t> done;
  bool broken = false;
  bool tearing_down = false;
  std::string why;
  std::uint64_t confirmed_reports = 0;
  std::uint64_t failed_reports = 0;
  std::uint64_t broker_errors = 0;
  std::string last_broker_error;

  // Partitions this producer may pipeline to. A new producer id sends one
  // record to a partition and waits for it before sending more (see
  // relay::impl::pump for why); probe[p] is that record's position.
  std::vector<std::uint8_t> ready;
  std::vector<std::uint64_t> probe;
  std::vector<clock::time_point> last_ack;

  std::uint64_t next_position() const { return confirmed + done.size() + 1; }

  void mark_confirmed(std::uint64_t p) {
    if (p <= confirmed) return;
    auto i = p - confirmed - 1;
    if (i >= done.size()) return; // not ours (cannot happen: one session per producer)
    done[i] = 1;
    while (!done.empty() && done.front()) {
      done.pop_front();
      ++confirmed;
    }
  }

  ~session() {
    if (main_queue) rd_kafka_queue_io_event_enable(main_queue.get(), -1, nullptr, 0);
    main_queue.reset();
    rkt.reset();
    rk.reset();
    for (int fd : wake_pipe)
      if (fd >= 0) ::close(fd);
  }
};

void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void*) {
  auto* s = static_cast<session*>(internal::context_of(rk)->owner);
  auto p = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private));
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++s->confirmed_reports;
    s->mark_confirmed(p);
    if (m->partition >= 0 && static_cast<std::size_t>(m->partition) < s->ready.size()) {
      s->ready[m->partition] = 1;
      s->probe[m->partition] = 0;
      s->last_ack[m->partition] = clock::now();
    }
    return;
  }
  if (s->tearing_down) return; // purged on purpose
  ++s->failed_reports;
  if (!s->broken) {
    s->broken = true;
    s->why = fmt::format("delivery of position {} failed: {}", p, internal::describe(m->err));
  }
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
  auto* ctx = internal::context_of(rk);
  auto* s = static_cast<session*>(ctx->owner);
  auto e = static_cast<rd_kafka_resp_err_t>(err);
  if (e == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512] = {};
    auto orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    s->broken = true;
    s->why = fmt::format("fatal producer error {}: {}", rd_kafka_err2name(orig), buf);
    return;
  }
  // Everything else (brokers down, transport errors) librdkafka retries by itself.
  ++s->broker_errors;
  s->last_broker_error = fmt::format("{} ({})", internal::describe(e), reason);
  if (ctx->logger && *ctx->logger)
    (*ctx->logger)(log_level::warning,
                   fmt::format("kafka relay: {} ({})", internal::describe(e), reason));
}

} // namespace

struct relay::impl {
  storage::event_store& store;
  relay_options opts;
  std::string source;
  internal::record_builder builder; // the record being produced, buffers reused

  std::thread thread;
  int doorbell = -1; // eventfd: new events, stop, flush
  std::unique_ptr<storage::subscription> sub;

  std::atomic<bool> stopping{false};
  std::atomic<bool> is_running{false};
  std::atomic<bool> save_requested{false};
  std::atomic<relay_state> state{relay_state::stopped};
  std::atomic<std::uint64_t> confirmed{0};
  std::atomic<std::uint64_t> saved{0};
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> records_produced{0};
  std::atomic<std::uint64_t> records_confirmed{0};
  std::atomic<std::uint64_t> delivery_failures{0};
  std::atomic<std::uint64_t> producer_restarts{0};
  std::atomic<std::uint64_t> checkpoint_saves{0};
  std::atomic<std::uint64_t> broker_errors{0};

  mutable std::mutex m; // last_error, and the condition waiters sleep on
  mutable std::condition_variable progress;
  std::string last_error;

  // Relay-thread state.
  std::unique_ptr<session> sess;
  bool topic_checked = false;
  int partition_count = 0; // learnt by check_topic
  std::chrono::milliseconds backoff{0};
  clock::time_point retry_at{};
  clock::time_point last_save{};
  bool any_session = false;

  impl(storage::event_store& s, relay_options o)
      : store(s), opts(std::move(o)), source(effective_source(opts)), builder(source) {
    doorbell = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~impl() {
    if (doorbell >= 0) ::close(doorbell);
  }

  void log(log_level l, const std::string& msg) const {
    if (opts.client.logger) opts.client.logger(l, msg);
  }

  void set_error(std::string msg, log_level l = log_level::warning) {
    log(l, "kafka relay: " + msg);
    std::lock_guard lock{m};
    last_error = std::move(msg);
  }

  void ring() const {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(doorbell, &one, sizeof one);
  }

  void publish_progress(std::uint64_t c) {
    if (c == confirmed.load()) return;
    {
      std::lock_guard lock{m};
      confirmed.store(c);
    }
    progress.notify_all();
  }

  // --- the producer session -------------------------------------------------

  result<std::unique_ptr<session>> open_session(std::uint64_t from_confirmed) {
    auto s = std::make_unique<session>();
    s->confirmed = from_confirmed;
    s->ctx.logger = &opts.client.logger;
    s->ctx.owner = s.get();
    auto props = producer_properties(opts);
    if (opts.client.partitions > 0)
      props.insert(props.begin(), {"allow.auto.create.topics", "false"});
    std::string error;
    auto conf = internal::make_conf(props, error);
    if (!conf) {
      set_error(error, log_level::error);
      return conf.error();
    }
    internal::install_context(conf.value().get(), &s->ctx);
    rd_kafka_conf_set_dr_msg_cb(conf.value().get(), on_delivery);
    rd_kafka_conf_set_error_cb(conf.value().get(), on_error);
    auto rk = internal::make_client(RD_KAFKA_PRODUCER, std::move(conf).value(), error);
    if (!rk) {
      set_error(error, log_level::error);
      return rk.error();
    }
    s->rk = std::move(rk).value();
    if (::pipe2(s->wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
      set_error("pipe2 failed", log_level::error);
      return make_error_code(errc::client_failed);
    }
    s->main_queue.reset(rd_kafka_queue_get_main(s->rk.get()));
    static const char wake = 'w';
    rd_kafka_queue_io_event_enable(s->main_queue.get(), s->wake_pipe[1], &wake, 1);
    return s;
  }

  // Learns the topic's partition count once per relay start (creating the
  // topic when a count is expected and it is missing). Returns true when
  // publishing may proceed.
  bool check_topic() {
    if (topic_checked) return true;
    std::string error;
    auto n = internal::partition_count(sess->rk.get(), opts.client.topic, 5000, error);
    if (n && n.value() == 0) {
      if (opts.client.partitions > 0) {
        auto c = internal::create_topic(sess->rk.get(), opts.client.topic, opts.client.partitions,
                                        opts.client.replication_factor, 10000, error);
        if (c)
          n = internal::partition_count(sess->rk.get(), opts.client.topic, 5000, error);
        else
          n = c.error();
      } else {
        // No count expected: a metadata request naming the topic lets a broker
        // with auto.create.topics.enable create it with its default count.
        internal::rkt_ptr t{rd_kafka_topic_new(sess->rk.get(), opts.client.topic.c_str(), nullptr)};
        const rd_kafka_metadata_t* md = nullptr;
        if (t &&
            rd_kafka_metadata(sess->rk.get(), 0, t.get(), &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
          rd_kafka_metadata_destroy(md);
        n = internal::partition_count(sess->rk.get(), opts.client.topic, 5000, error);
      }
    }
    if (!n) {
      set_error(fmt::format("checking topic {}: {}", opts.client.topic, error));
      back_off();
      return false;
    }
    if (n.value() == 0) {
      // Being created, or not visible in the broker's metadata yet: look again soon.
      set_error(fmt::format("topic {} does not exist (yet)", opts.client.topic), log_level::info);
      back_off();
      return false;
    }
    if (opts.client.partitions > 0 && n.value() != opts.client.partitions) {
      set_error(fmt::format("topic {} has {} partitions, expected {}: refusing to publish "
                            "(a different count would move streams to other partitions)",
                            opts.client.topic, n.value(), opts.client.partitions),
                log_level::error);
      state.store(relay_state::failed);
      return false;
    }
    partition_count = n.value();
    topic_checked = true;
    return true;
  }

  // Serves librdkafka's queued callbacks (delivery reports, errors) and
  // publishes the new confirmed position.
  void serve() {
    if (!sess) return;
    char buf[64];
    while (::read(sess->wake_pipe[0], buf, sizeof buf) > 0) {
    }
    while (rd_kafka_poll(sess->rk.get(), 0) > 0) {
    }
    records_confirmed.fetch_add(sess->confirmed_reports);
    delivery_failures.fetch_add(sess->failed_reports);
    sess->confirmed_reports = sess->failed_reports = 0;
    if (sess->broker_errors) {
      broker_errors.fetch_add(sess->broker_errors);
      sess->broker_errors = 0;
      std::lock_guard lock{m};
      last_error = std::move(sess->last_broker_error);
    }
    if (sess->confirmed > confirmed.load()) backoff = std::chrono::milliseconds{0};
    publish_progress(sess->confirmed);
  }

  void close_session() {
    if (!sess) return;
    sess->tearing_down = true;
    rd_kafka_purge(sess->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    // Purged records report back with a purge error; serve them so nothing
    // refers to the session when it is destroyed.
    serve();
    auto c = sess->confirmed;
    sess.reset();
    publish_progress(c);
  }

  void back_off() {
    backoff = backoff.count() == 0 ? opts.restart_backoff
                                   : std::min(backoff * 2, opts.restart_backoff_max);
    retry_at = clock::now() + backoff;
    state.store(relay_state::backing_off);
  }

  // --- the checkpoint -------------------------------------------------------

  void maybe_save(bool force) {
    auto c = confirmed.load();
    if (c <= saved.load()) return;
    auto now = clock::now();
    if (!force && !save_requested.load() && now - last_save < opts.checkpoint_interval) return;
    auto r = store.save_checkpoint(opts.checkpoint_name, log_position{c});
    if (!r) {
      set_error(fmt::format("saving checkpoint {} at {}: {}", opts.checkpoint_name, c,
                            r.error().message()));
      return;
    }
    last_save = now;
    save_requested.store(false);
    checkpoint_saves.fetch_add(1);
    {
      std::lock_guard lock{m};
      saved.store(c);
    }
    progress.notify_all();
  }

  // --- producing ------------------------------------------------------------

  // Produces the record `builder` holds; false when librdkafka refused it for good.
  bool produce(const events::envelope& e, std::int32_t partition) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(internal::record_builder::header_count);
    builder.for_each_header([&](std::string_view name, std::string_view value) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    });
    auto key = builder.key();
    auto value = builder.value();
    auto* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(e.position()));
    for (;;) {
      auto err = rd_kafka_producev(
          sess->rk.get(), RD_KAFKA_V_RKT(sess->rkt.get()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_HEADERS(hdrs),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true; // hdrs now belong to librdkafka
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stopping.load()) {
        rd_kafka_poll(sess->rk.get(), 10);
        continue;
      }
      rd_kafka_headers_destroy(hdrs);
      set_error(fmt::format("position {} (stream {} version {}) refused by librdkafka: {}; "
                            "the relay stays at this position",
                            e.position(), e.stream, e.version(), internal::describe(err)),
                log_level::error);
      return false;
    }
  }

  // Reads the next batch from the log and produces it. True when it produced.
  bool pump() {
    if (sess->done.size() >= opts.max_in_flight) return false;
    auto next = sess->next_position();
    if (next > store.head()()) return false;
    auto room = opts.max_in_flight - sess->done.size();
    auto batch = store.read_all(log_position{next}, std::min(opts.read_batch, room));
    if (!batch) {
      set_error(fmt::format("reading the log from {}: {}", next, batch.error().message()));
      back_off();
      return false;
    }
    bool any = false;
    for (const auto& e : batch.value()) {
      if (e.position() != sess->next_position()) {
        set_error(fmt::format("the store returned position {} where {} was expected", e.position(),
                              sess->next_position()),
                  log_level::error);
        back_off();
        break;
      }
      // The relay picks the partition itself (murmur2 of the key, as Java
      // clients do) so that it knows where each record goes: a producer id
      // new to a partition sends it one record and waits for its
      // confirmation before pipelining more. Brokers accept any first
      // sequence number from a producer id they do not know, so if the first
      // batch were refused (leader not ready) while the second, already in
      // flight, was accepted, librdkafka 2.0.2 would report the first as
      // delivered ("implicitly acked") although Kafka never stored it. A
      // partition idle for an hour is probed again: brokers forget idle
      // producer ids (producer.id.expiration.ms, one day by default).
      auto part = rd_kafka_msg_partitioner_murmur2_random(
          sess->rkt.get(), e.stream.data(), e.stream.size(), partition_count, nullptr, nullptr);
      auto pi = static_cast<std::size_t>(part);
      if (sess->ready[pi] && clock::now() - sess->last_ack[pi] > std::chrono::hours{1})
        sess->ready[pi] = 0;
      if (!sess->ready[pi]) {
        if (sess->probe[pi] != 0) break; // wait for the probe's confirmation
        sess->probe[pi] = e.position();
      }
      auto r = builder.build(e);
      if (!r) {
        set_error(fmt::format("position {} (stream {}, type {}) cannot be published: {}; the "
                              "relay stays at this position",
                              e.position(), e.stream, e.type, r.error().message()),
                  log_level::error);
        backoff = opts.restart_backoff_max;
        retry_at = clock::now() + backoff;
        state.store(relay_state::backing_off);
        break;
      }
      if (!produce(e, part)) {
        backoff = opts.restart_backoff_max;
        retry_at = clock::now() + backoff;
        state.store(relay_state::backing_off);
        break;
      }
      sess->done.push_back(0);
      produced.store(e.position());
      records_produced.fetch_add(1);
      any = true;
    }
    if (any) rd_kafka_poll(sess->rk.get(), 0);
    return any;
  }

  // Sleeps until librdkafka has events, the doorbell rings, or `timeout` passes.
  void wait(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{doorbell, POLLIN, 0}, {sess ? sess->wake_pipe[0] : -1, POLLIN, 0}};
    ::poll(fds, sess ? 2 : 1, static_cast<int>(std::max<std::int64_t>(timeout.count(), 0)));
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(doorbell, &v, sizeof v);
  }

  // --- the thread -----------------------------------------------------------

  void run() {
    while (!stopping.load()) {
      auto now = clock::now();
      if (now < retry_at) {
        wait(std::chrono::duration_cast<std::chrono::milliseconds>(retry_at - now) +
             std::chrono::milliseconds{1});
        serve();
        maybe_save(false);
        continue;
      }
      if (state.load() == relay_state::failed) {
        wait(opts.idle_poll);
        continue;
      }
      if (!sess) {
        auto s = open_session(confirmed.load());
        if (!s) {
          back_off();
          continue;
        }
        sess = std::move(s).value();
        if (any_session) producer_restarts.fetch_add(1);
        any_session = true;
      }
      if (!check_topic()) continue;
      if (!sess->rkt) {
        auto n = static_cast<std::size_t>(partition_count);
        sess->ready.assign(n, 0);
        sess->probe.assign(n, 0);
        sess->last_ack.assign(n, clock::time_point{});
        sess->rkt.reset(rd_kafka_topic_new(sess->rk.get(), opts.client.topic.c_str(), nullptr));
        if (!sess->rkt) {
          set_error(fmt::format("rd_kafka_topic_new({}): {}", opts.client.topic,
                                internal::describe(rd_kafka_last_error())));
          close_session();
          back_off();
          continue;
        }
      }
      state.store(relay_state::running);
      serve();
      if (sess->broken) {
        set_error(sess->why + "; recreating the producer and publishing again from position " +
                  std::to_string(sess->confirmed + 1));
        close_session();
        back_off();
        continue;
      }
      maybe_save(false);
      if (pump()) continue;
      if (state.load() == relay_state::backing_off) continue;
      auto until_save = opts.checkpoint_interval;
      wait(confirmed.load() > saved.load() ? std::min(until_save, opts.idle_poll) : opts.idle_poll);
    }
    // Stopping: give the records in flight a chance to be confirmed.
    auto deadline = clock::now() + opts.stop_timeout;
    while (sess && !sess->broken && !sess->done.empty() && clock::now() < deadline) {
      wait(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
                    std::chrono::milliseconds{50}));
      serve();
    }
    close_session();
    maybe_save(true);
    state.store(relay_state::stopped);
  }
};

relay::relay(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

relay::~relay() {
  stop();
}

result<std::unique_ptr<relay>> relay::create(storage::event_store& store, relay_options options) {
  if (auto why = validate(options); !why.empty()) {
    if (options.client.logger) options.client.logger(log_level::error, "kafka relay: " + why);
    return make_error_code(errc::invalid_options);
  }
  auto p = std::make_unique<impl>(store, std::move(options));
  if (p->doorbell < 0) return make_error_code(errc::client_failed);
  return std::unique_ptr<relay>{new relay{std::move(p)}};
}

result<void> relay::start() {
  auto& d = *impl_;
  if (d.is_running.load()) return make_error_code(errc::already_running);
  OTA_TRY(cp, d.store.load_checkpoint(d.opts.checkpoint_name));
  d.confirmed.store(cp());
  d.saved.store(cp());
  d.produced.store(cp());
  d.stopping.store(false);
  d.topic_checked = false;
  d.backoff = std::chrono::milliseconds{0};
  d.retry_at = {};
  d.last_save = clock::now();
  d.any_session = false;
  d.state.store(relay_state::running);
  // The subscription is only a doorbell: each commit wakes the relay, which
  // reads the log itself (it must be able to go back to its checkpoint).
  d.sub = d.store.subscribe(d.store.head(), [p = &d](std::span<const events::envelope>) {
    p->ring();
    return result<void>{ok()};
  });
  d.is_running.store(true);
  d.thread = std::thread([p = &d] {
    ::pthread_setname_np(::pthread_self(), "ota-kafka-relay");
    p->run();
  });
  return ok();
}

void relay::stop() {
  auto& d = *impl_;
  if (!d.is_running.load()) return;
  d.stopping.store(true);
  d.ring();
  if (d.thread.joinable()) d.thread.join();
  if (d.sub) d.sub->stop();
  d.sub.reset();
  d.is_running.store(false);
  d.progress.notify_all();
}

bool relay::running() const {
  return impl_->is_running.load();
}

log_position relay::confirmed() const {
  return log_position{impl_->confirmed.load()};
}

log_position relay::checkpoint() const {
  return log_position{impl_->saved.load()};
}

std::uint64_t relay::lag() const {
  auto head = impl_->store.head()();
  auto c = impl_->confirmed.load();
  return head > c ? head - c : 0;
}

relay_stats relay::stats() const {
  auto& d = *impl_;
  relay_stats s;
  s.state = d.state.load();
  s.head = d.store.head();
  s.confirmed = log_position{d.confirmed.load()};
  s.checkpoint = log_position{d.saved.load()};
  s.produced = log_position{d.produced.load()};
  s.lag = s.head() > s.confirmed() ? s.head() - s.confirmed() : 0;
  s.records_produced = d.records_produced.load();
  s.records_confirmed = d.records_confirmed.load();
  s.delivery_failures = d.delivery_failures.load();
  s.producer_restarts = d.producer_restarts.load();
  s.checkpoint_saves = d.checkpoint_saves.load();
  s.broker_errors = d.broker_errors.load();
  std::lock_guard lock{d.m};
  s.last_error = d.last_error;
  return s;
}

result<void> relay::wait_until_confirmed(log_position p, std::chrono::milliseconds timeout) const {
  auto& d = *impl_;
  std::unique_lock lock{d.m};
  if (!d.progress.wait_for(lock, timeout, [&] { return d.confirmed.load() >= p(); }))
    return make_error_code(errc::timeout);
  return ok();
}

result<void> relay::flush(std::chrono::milliseconds timeout) const {
  auto& d = *impl_;
  auto target = d.store.head()();
  d.save_requested.store(true);
  d.ring();
  std::unique_lock lock{d.m};
  if (!d.progress.wait_for(lock, timeout, [&] {
        if (d.saved.load() >= target) return true;
        if (d.confirmed.load() >= target) {
          // Confirmed but not saved yet: ask again (a save may have raced the request).
          d.save_requested.store(true);
          d.ring();
        }
        return false;
      }))
    return make_error_code(errc::timeout);
  return ok();
}

} // namespace otaledger::kafka
