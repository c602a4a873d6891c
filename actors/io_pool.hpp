// A small pool of threads for blocking work (RocksDB reads during recovery,
// snapshot writes), so that nothing blocking runs on CAF's shared scheduler.
// Tasks run in FIFO order per pool; results go back to actors by message.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace otaledger::actors {

class io_pool {
public:
  explicit io_pool(unsigned threads) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i)
      threads_.emplace_back([this] { run(); });
  }
  ~io_pool() {
    {
      std::lock_guard lock{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
  }
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  /// Queues `fn`; it runs on a pool thread. Tasks queued before destruction still run.
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock{mtx_};
      tasks_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock{mtx_};
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        fn = std::move(tasks_.front());
        tasks_.pop_front();
      }
      fn();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace otaledger::actors
