// Workers: threads kept for work handed off many times a second (a page of
// a catch-up, a blocking RocksDB read during recovery), where starting a
// thread per task (std::async) costs a stack mapping and unmapping each time.
// Tasks start in the order they were given; with one thread they also run
// one after another, in that order.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace otaledger::base {

class worker {
public:
  explicit worker(unsigned threads = 1) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i)
      threads_.emplace_back([this] { run(); });
  }
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  /// Runs the tasks already given, then joins.
  ~worker() {
    {
      std::lock_guard lock{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
  }

  /// Queues `fn`. Tasks queued before destruction still run.
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock{mtx_};
      tasks_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

  /// Queues `f`; the future has its result (or exception). Unlike
  /// std::async's, the future does not wait in its destructor: wait for it
  /// before anything `f` uses goes away.
  template <class F> std::future<std::invoke_result_t<F&>> submit(F f) {
    using R = std::invoke_result_t<F&>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    auto done = task->get_future();
    post([task] { (*task)(); });
    return done;
  }

private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock{mtx_};
        cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return; // stop_ and nothing left
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_; // last: started after the members they use
};

} // namespace otaledger::base
