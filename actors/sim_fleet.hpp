// The in-process simulated fleet: a device_port whose devices answer every
// instruction through runtime::submit, as a real device would through a
// channel. Devices are "instant" by default (no modelled time): a download is
// one report at 100 %, then the install, then the result.
//
// Outcomes are a pure function of (seed, device, task, attempt), so two runs
// with the same seed end with the same device states whatever the thread
// interleaving, and a run interrupted by a restart ends like one that was not.
//
// Devices obey the task: a held device finishes its download and waits for the
// release before installing; a canceled one stops.
#pragma once

#include "actors/runtime.hpp"

#include <absl/container/flat_hash_map.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace otaledger::actors {

struct sim_options {
  std::uint64_t seed = 1;
  /// Share of installs that fail (install_failed), 0..1.
  double failure_rate = 0.0;
  /// Share of downloads that fail (checksum_mismatch), 0..1.
  double download_failure_rate = 0.0;
  /// Share of attempts on which the device never answers (it stays notified,
  /// so only the task's timeout or deadline ends it), 0..1.
  double silent_rate = 0.0;
  /// The version a device reports after installing; empty: the target.
  std::string installed_version;
};

/// What the fleet saw (its own tally, to compare with the views).
struct sim_tally {
  std::uint64_t notices = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t canceled = 0;
  std::uint64_t held = 0;
  std::uint64_t refused = 0; ///< reports the platform refused (e.g. install while held)
};

class simulated_fleet final : public device_port {
public:
  explicit simulated_fleet(sim_options opts = {}) : opts_{std::move(opts)} {}

  /// Connects the fleet to the runtime it reports to (before any notice).
  void attach(runtime* rt) { rt_.store(rt); }
  void detach() { rt_.store(nullptr); }

  void deliver(device_notice n) override;

  /// The devices ask for their current instructions (as a device does when it
  /// reconnects or polls): each unfinished, unheld execution carries on from
  /// the phase the platform recorded. Returns after every query was answered.
  void poll(const std::vector<std::string>& devices);

  sim_tally tally() const;

  /// Blocks until no report of the fleet is in flight (tests, benches).
  void wait_idle();

  /// Whether the outcome function says this attempt fails, and how.
  enum class outcome : std::uint8_t { succeed, fail_download, fail_install, silent };
  outcome outcome_of(const std::string& device, const std::string& task,
                     std::uint32_t attempt) const;

private:
  enum class stage : std::uint8_t { idle, downloading, installing, waiting, done };
  struct device {
    stage at = stage::idle;
    bool held = false;
    bool canceled = false;
    std::uint32_t attempt = 1;
    std::string task;
    std::string target_version;
  };
  void download(const std::string& device, const std::string& task, std::uint32_t attempt);
  void install(const std::string& device, const std::string& task, std::uint32_t attempt);
  void result(const std::string& device, const std::string& task, std::uint32_t attempt, bool ok,
              events::failure_code code = events::failure_code::install_failed);
  events::event_meta meta_for(const std::string& device, const std::string& what,
                              const std::string& task, std::uint32_t attempt) const;
  void count(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
  /// runtime::submit, counted as in flight until its callback returns.
  void send(runtime* rt, domain::command cmd, events::event_meta meta,
            std::function<void(command_outcome)> done);

  sim_options opts_;
  std::atomic<runtime*> rt_{nullptr};
  mutable std::mutex mtx_;
  absl::flat_hash_map<std::string, device> devices_; // flat: a million devices in a bench
  std::mutex idle_mtx_;
  std::condition_variable idle_cv_;
  std::uint64_t in_flight_ = 0;
  std::atomic<std::uint64_t> notices_{0}, succeeded_{0}, failed_{0}, canceled_{0}, held_{0},
      refused_{0};
};

} // namespace otaledger::actors
