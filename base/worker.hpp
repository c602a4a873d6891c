// A worker: one thread that runs the tasks given to it, in order. For work
// handed off many times a second (a page of a catch-up), where starting a
// thread per task (std::async) costs a stack mapping and unmapping each time.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace otaledger::base {

class worker {
public:
  worker() : thread_([this] { run(); }) {}
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  /// Runs the tasks already given, then joins.
  ~worker() {
    {
      std::lock_guard lock{mtx_};
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  /// Queues `f`; the future has its result (or exception). Unlike
  /// std::async's, the future does not wait in its destructor: wait for it
  /// before anything `f` uses goes away.
  template <class F> std::future<std::invoke_result_t<F&>> submit(F f) {
    using R = std::invoke_result_t<F&>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    auto done = task->get_future();
    {
      std::lock_guard lock{mtx_};
      tasks_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
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
  std::thread thread_; // last: starts after the members it uses
};

} // namespace otaledger::base
