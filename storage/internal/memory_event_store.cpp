// The in-memory event store (storage/memory_event_store.hpp). One mutex
// guards everything; subscriptions share the state through a shared_ptr so
// they may outlive the store.
#include "storage/memory_event_store.hpp"

#include "base/time.hpp"
#include "storage/internal/append_core.hpp"
#include "storage/options.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace otaledger::storage {
namespace {

constexpr std::size_t max_events_per_append = options{}.max_events_per_append;
constexpr std::size_t max_append_bytes = options{}.max_append_bytes;
constexpr std::size_t subscription_page = options{}.subscription_page;

struct memory_state {
  std::mutex mtx;
  std::condition_variable cv;
  bool closed = false;
  std::vector<events::envelope> log;
  std::unordered_map<std::string, std::vector<std::uint64_t>> streams; // positions per stream
  std::unordered_map<std::string, append_result> commands;
  std::map<std::string, snapshot, std::less<>> snapshots;
  std::map<std::string, log_position, std::less<>> checkpoints;
};

struct memory_sub_state {
  std::shared_ptr<memory_state> s;
  subscription_handler handler;
  std::atomic<std::uint64_t> pos;
  std::atomic<bool> stop{false};

  void run() {
    for (;;) {
      std::vector<events::envelope> batch;
      {
        std::unique_lock lock{s->mtx};
        s->cv.wait(lock, [&] { return s->closed || stop.load() || s->log.size() > pos.load(); });
        if (s->closed || stop.load()) return;
        for (auto p = pos.load() + 1; p <= s->log.size() && batch.size() < subscription_page; ++p)
          batch.push_back(s->log[p - 1]);
      }
      auto handled = handler(batch);
      if (!handled) {
        std::fprintf(stderr, "otaledger storage: subscription handler failed at %llu: %s\n",
                     static_cast<unsigned long long>(batch.front().position()),
                     handled.error().message().c_str());
        return;
      }
      pos.store(batch.back().position());
    }
  }
};

class memory_subscription final : public subscription {
public:
  explicit memory_subscription(std::shared_ptr<memory_sub_state> st) : st_(std::move(st)) {
    thread_ = std::thread([st = st_] { st->run(); });
  }
  ~memory_subscription() override { stop(); }
  void stop() override {
    {
      std::lock_guard lock{st_->s->mtx};
      st_->stop.store(true);
    }
    st_->s->cv.notify_all();
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }
  log_position position() const override { return log_position{st_->pos.load()}; }

private:
  std::shared_ptr<memory_sub_state> st_;
  std::thread thread_;
};

class memory_event_store final : public event_store {
public:
  explicit memory_event_store(const base::clock* clock)
      : clock_(clock ? clock : &system_clock_), s_(std::make_shared<memory_state>()) {}
  ~memory_event_store() override {
    {
      std::lock_guard lock{s_->mtx};
      s_->closed = true;
    }
    s_->cv.notify_all();
  }

  result<append_result> append(append_request req) override {
    std::lock_guard lock{s_->mtx};
    if (!req.command_id.empty())
      if (auto c = s_->commands.find(req.command_id); c != s_->commands.end()) {
        auto r = c->second;
        r.duplicate = true;
        return r;
      }
    OTA_TRYV(internal::validate(req, max_events_per_append, max_append_bytes));
    auto& positions = s_->streams[req.stream];
    const std::uint64_t head = positions.size();
    if (auto c = internal::check_expected(req, head); !c) {
      if (head == 0) s_->streams.erase(req.stream);
      return c.error();
    }
    const auto now = clock_->now();
    const std::uint64_t first = s_->log.size() + 1;
    for (std::size_t i = 0; i < req.events.size(); ++i) {
      auto& ne = req.events[i];
      events::envelope e;
      e.position = log_position{first + i};
      e.stream = req.stream;
      e.version = stream_version{head + 1 + i};
      e.id = ne.id.is_nil() ? events::uuid::random() : ne.id;
      e.type = std::move(ne.type);
      e.schema = ne.schema;
      e.time = ne.time.micros == 0 ? now : ne.time;
      e.meta = std::move(ne.meta);
      e.data = std::move(ne.data);
      positions.push_back(e.position());
      s_->log.push_back(std::move(e));
    }
    append_result r{log_position{first}, log_position{s_->log.size()},
                    stream_version{positions.size()}, false};
    if (!req.command_id.empty()) s_->commands.emplace(req.command_id, r);
    s_->cv.notify_all();
    return r;
  }

  void append_async(append_request req, append_callback done) override {
    auto r = append(std::move(req));
    if (done) done(std::move(r));
  }

  result<std::vector<events::envelope>> read_stream(std::string_view stream, stream_version from,
                                                    std::size_t max) override {
    OTA_TRYV(internal::validate_stream_name(stream));
    std::lock_guard lock{s_->mtx};
    std::vector<events::envelope> out;
    auto it = s_->streams.find(std::string{stream});
    if (it == s_->streams.end()) return out;
    for (auto v = std::max<std::uint64_t>(from(), 1); v <= it->second.size() && out.size() < max;
         ++v)
      out.push_back(s_->log[it->second[v - 1] - 1]);
    return out;
  }

  result<std::vector<events::envelope>> read_all(log_position from, std::size_t max) override {
    std::lock_guard lock{s_->mtx};
    std::vector<events::envelope> out;
    for (auto p = std::max<std::uint64_t>(from(), 1); p <= s_->log.size() && out.size() < max; ++p)
      out.push_back(s_->log[p - 1]);
    return out;
  }

  log_position head() const override {
    std::lock_guard lock{s_->mtx};
    return log_position{s_->log.size()};
  }

  result<stream_version> stream_head(std::string_view stream) override {
    OTA_TRYV(internal::validate_stream_name(stream));
    std::lock_guard lock{s_->mtx};
    auto it = s_->streams.find(std::string{stream});
    return stream_version{it == s_->streams.end() ? 0 : it->second.size()};
  }

  result<std::optional<append_result>> find_command(std::string_view command_id) override {
    std::lock_guard lock{s_->mtx};
    auto it = s_->commands.find(std::string{command_id});
    if (it == s_->commands.end()) return std::optional<append_result>{};
    auto r = it->second;
    r.duplicate = true;
    return std::optional<append_result>{r};
  }

  std::unique_ptr<subscription> subscribe(log_position after, subscription_handler h) override {
    auto st = std::make_shared<memory_sub_state>();
    st->s = s_;
    st->handler = std::move(h);
    st->pos.store(after());
    return std::make_unique<memory_subscription>(std::move(st));
  }

  result<void> save_snapshot(std::string_view stream, const snapshot& s) override {
    OTA_TRYV(internal::validate_stream_name(stream));
    std::lock_guard lock{s_->mtx};
    s_->snapshots.insert_or_assign(std::string{stream}, s);
    return ok();
  }

  result<std::optional<snapshot>> load_snapshot(std::string_view stream) override {
    OTA_TRYV(internal::validate_stream_name(stream));
    std::lock_guard lock{s_->mtx};
    auto it = s_->snapshots.find(stream);
    if (it == s_->snapshots.end()) return std::optional<snapshot>{};
    return std::optional<snapshot>{it->second};
  }

  result<void> save_checkpoint(std::string_view name, log_position p) override {
    if (name.empty()) return internal::fail(errc::invalid_argument, "the checkpoint name is empty");
    std::lock_guard lock{s_->mtx};
    s_->checkpoints.insert_or_assign(std::string{name}, p);
    return ok();
  }

  result<log_position> load_checkpoint(std::string_view name) override {
    std::lock_guard lock{s_->mtx};
    auto it = s_->checkpoints.find(name);
    return it == s_->checkpoints.end() ? log_position{0} : it->second;
  }

private:
  base::system_clock system_clock_;
  const base::clock* clock_;
  std::shared_ptr<memory_state> s_;
};

} // namespace

std::unique_ptr<event_store> make_memory_event_store(const base::clock* clock) {
  return std::make_unique<memory_event_store>(clock);
}

} // namespace otaledger::storage
