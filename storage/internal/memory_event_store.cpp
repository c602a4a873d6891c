// The in-memory event store: the same contract as the RocksDB store (shared
// validation and envelope building), for unit tests of other layers. Nothing
// survives the object. append_async completes inline, on the caller's thread.
#include "base/time.hpp"
#include "storage/internal/append_core.hpp"
#include "storage/open.hpp"

#include <condition_variable>
#include <map>
#include <thread>
#include <unordered_map>

namespace otaledger::storage {
namespace {

class memory_event_store;

class memory_subscription final : public subscription {
public:
  memory_subscription(memory_event_store* store, log_position after, subscription_handler h);
  ~memory_subscription() override { stop(); }
  void stop() override;
  log_position position() const override { return log_position{pos_.load()}; }

private:
  void run();
  memory_event_store* store_;
  std::atomic<std::uint64_t> pos_;
  subscription_handler handler_;
  bool stopped_ = false;
  std::thread thread_;
};

class memory_event_store final : public event_store {
public:
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<events::envelope> log;
  std::unordered_map<std::string, std::vector<std::uint64_t>> streams; // positions per stream
  std::unordered_map<std::string, append_result> commands;
  std::map<std::string, snapshot, std::less<>> snapshots;
  std::map<std::string, log_position, std::less<>> checkpoints;
  base::system_clock clock;

  result<append_result> append(append_request req) override {
    std::lock_guard lock{mtx};
    OTA_TRYV(internal::validate(req, 100'000));
    if (!req.command_id.empty()) {
      auto c = commands.find(req.command_id);
      if (c != commands.end()) {
        auto r = c->second;
        r.duplicate = true;
        return r;
      }
    }
    auto& positions = streams[req.stream];
    stream_version current{positions.size()};
    OTA_TRYV(internal::check_expected(req, current));
    auto envs = internal::make_envelopes(req, log_position{log.size() + 1}, current, clock.now());
    append_result r{envs.front().position, envs.back().position, envs.back().version, false};
    for (auto& e : envs) {
      positions.push_back(e.position());
      log.push_back(std::move(e));
    }
    if (!req.command_id.empty()) commands.emplace(req.command_id, r);
    cv.notify_all();
    return r;
  }

  void append_async(append_request req, append_callback done) override {
    auto r = append(std::move(req));
    if (done) done(std::move(r));
  }

  result<std::vector<events::envelope>> read_stream(std::string_view stream, stream_version from,
                                                    std::size_t max) override {
    std::lock_guard lock{mtx};
    std::vector<events::envelope> out;
    auto it = streams.find(std::string{stream});
    if (it == streams.end()) return out;
    for (auto v = std::max<std::uint64_t>(from(), 1); v <= it->second.size() && out.size() < max;
         ++v)
      out.push_back(log[it->second[v - 1] - 1]);
    return out;
  }

  result<std::vector<events::envelope>> read_all(log_position from, std::size_t max) override {
    std::lock_guard lock{mtx};
    std::vector<events::envelope> out;
    for (auto p = std::max<std::uint64_t>(from(), 1); p <= log.size() && out.size() < max; ++p)
      out.push_back(log[p - 1]);
    return out;
  }

  log_position head() const override {
    std::lock_guard lock{const_cast<std::mutex&>(mtx)};
    return log_position{log.size()};
  }

  result<stream_version> stream_head(std::string_view stream) override {
    std::lock_guard lock{mtx};
    auto it = streams.find(std::string{stream});
    return stream_version{it == streams.end() ? 0 : it->second.size()};
  }

  std::unique_ptr<subscription> subscribe(log_position after, subscription_handler h) override {
    return std::make_unique<memory_subscription>(this, after, std::move(h));
  }

  result<void> save_snapshot(std::string_view stream, const snapshot& s) override {
    std::lock_guard lock{mtx};
    snapshots[std::string{stream}] = s;
    return ok();
  }
  result<std::optional<snapshot>> load_snapshot(std::string_view stream) override {
    std::lock_guard lock{mtx};
    auto it = snapshots.find(stream);
    if (it == snapshots.end()) return std::optional<snapshot>{};
    return std::optional<snapshot>{it->second};
  }
  result<void> save_checkpoint(std::string_view name, log_position p) override {
    std::lock_guard lock{mtx};
    checkpoints[std::string{name}] = p;
    return ok();
  }
  result<log_position> load_checkpoint(std::string_view name) override {
    std::lock_guard lock{mtx};
    auto it = checkpoints.find(name);
    return it == checkpoints.end() ? log_position{0} : it->second;
  }
};

memory_subscription::memory_subscription(memory_event_store* store, log_position after,
                                         subscription_handler h)
    : store_(store), pos_(after()), handler_(std::move(h)) {
  thread_ = std::thread([this] { run(); });
}

void memory_subscription::stop() {
  {
    std::lock_guard lock{store_->mtx};
    stopped_ = true;
  }
  store_->cv.notify_all();
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

void memory_subscription::run() {
  for (;;) {
    std::vector<events::envelope> batch;
    {
      std::unique_lock lock{store_->mtx};
      store_->cv.wait(lock, [&] { return stopped_ || store_->log.size() > pos_.load(); });
      if (stopped_) return;
      for (auto p = pos_.load() + 1; p <= store_->log.size() && batch.size() < 4096; ++p)
        batch.push_back(store_->log[p - 1]);
    }
    if (!handler_(batch)) return;
    pos_.store(batch.back().position());
  }
}

} // namespace

std::unique_ptr<event_store> make_memory_event_store() {
  return std::make_unique<memory_event_store>();
}

} // namespace otaledger::storage
