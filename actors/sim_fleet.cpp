#include "actors/sim_fleet.hpp"

#include <fmt/format.h>

namespace otaledger::actors {

namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t hash_of(std::string_view s, std::uint64_t h) {
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

/// A uniform number in [0, 1) from the inputs.
double uniform(std::uint64_t seed, std::string_view device, std::string_view task,
               std::uint32_t attempt, std::uint64_t salt) {
  auto h = hash_of(task, hash_of(device, 0xcbf29ce484222325ULL ^ seed));
  h = mix(h ^ (static_cast<std::uint64_t>(attempt) << 32) ^ salt);
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

} // namespace

simulated_fleet::outcome simulated_fleet::outcome_of(const std::string& device,
                                                     const std::string& task,
                                                     std::uint32_t attempt) const {
  if (opts_.silent_rate > 0 && uniform(opts_.seed, device, task, attempt, 1) < opts_.silent_rate)
    return outcome::silent;
  if (opts_.download_failure_rate > 0 &&
      uniform(opts_.seed, device, task, attempt, 2) < opts_.download_failure_rate)
    return outcome::fail_download;
  if (opts_.failure_rate > 0 && uniform(opts_.seed, device, task, attempt, 3) < opts_.failure_rate)
    return outcome::fail_install;
  return outcome::succeed;
}

sim_tally simulated_fleet::tally() const {
  return {notices_.load(),  succeeded_.load(), failed_.load(),
          canceled_.load(), held_.load(),      refused_.load()};
}

events::event_meta simulated_fleet::meta_for(const std::string& device, const std::string& what,
                                             const std::string& task, std::uint32_t attempt) const {
  events::event_meta m;
  m.principal = "device:" + device;
  // Deterministic command ids: a report repeated after a restart is a duplicate.
  m.command = fmt::format("sim:{}:{}:{}:{}", device, task, attempt, what);
  return m;
}

void simulated_fleet::deliver(device_notice n) {
  count(notices_);
  switch (n.kind) {
  case notice_kind::upgrade: {
    {
      std::lock_guard lock{mtx_};
      auto& d = devices_[n.device];
      d = device{};
      d.at = stage::downloading;
      d.task = n.task;
      d.attempt = n.attempt;
      d.target_version = n.terms.target_version;
    }
    if (outcome_of(n.device, n.task, n.attempt) == outcome::silent) return;
    download(n.device, n.task, n.attempt);
    return;
  }
  case notice_kind::hold: {
    count(held_);
    std::lock_guard lock{mtx_};
    auto it = devices_.find(n.device);
    if (it != devices_.end() && it->second.task == n.task) it->second.held = true;
    return;
  }
  case notice_kind::release:
  case notice_kind::install_release: {
    bool resume = false;
    std::uint32_t attempt = 1;
    {
      std::lock_guard lock{mtx_};
      auto it = devices_.find(n.device);
      if (it == devices_.end() || it->second.task != n.task) return;
      it->second.held = false;
      if (it->second.at == stage::waiting) {
        resume = true;
        attempt = it->second.attempt;
      }
    }
    if (resume) install(n.device, n.task, attempt);
    return;
  }
  case notice_kind::cancel: {
    count(canceled_);
    std::lock_guard lock{mtx_};
    auto it = devices_.find(n.device);
    if (it != devices_.end() && it->second.task == n.task) devices_.erase(it);
    return;
  }
  }
}

void simulated_fleet::send(runtime* rt, domain::command cmd, events::event_meta meta,
                           std::function<void(command_outcome)> done) {
  {
    std::lock_guard lock{idle_mtx_};
    ++in_flight_;
  }
  rt->submit(std::move(cmd), std::move(meta), [this, done = std::move(done)](command_outcome o) {
    done(std::move(o));
    std::lock_guard lock{idle_mtx_};
    if (--in_flight_ == 0) idle_cv_.notify_all();
  });
}

void simulated_fleet::wait_idle() {
  std::unique_lock lock{idle_mtx_};
  idle_cv_.wait(lock, [this] { return in_flight_ == 0; });
}

void simulated_fleet::poll(const std::vector<std::string>& devices) {
  auto* rt = rt_.load();
  if (!rt) return;
  for (const auto& id : devices) {
    auto st = rt->query_sync("device-" + id);
    if (!st) continue;
    const auto& dev = std::get<domain::device_state>(st.value());
    for (const auto& x : dev.executions) {
      using events::execution_phase;
      auto p = x.phase;
      bool active = p == execution_phase::notified || p == execution_phase::downloading ||
                    p == execution_phase::downloaded || p == execution_phase::installing;
      if (!active) continue;
      {
        std::lock_guard lock{mtx_};
        auto& d = devices_[id];
        d = device{};
        d.task = x.task;
        d.attempt = x.attempt;
        d.target_version = x.terms.target_version;
        d.held = x.held || x.cancel_requested || (x.terms.download_only && !x.install_released);
        d.at = stage::downloading;
      }
      auto o = outcome_of(id, x.task, x.attempt);
      if (o == outcome::silent) continue;
      if (p == execution_phase::notified || p == execution_phase::downloading) {
        download(id, x.task, x.attempt);
      } else if (p == execution_phase::downloaded) {
        if (o == outcome::fail_download)
          result(id, x.task, x.attempt, false, events::failure_code::checksum_mismatch);
        else
          install(id, x.task, x.attempt);
      } else {
        result(id, x.task, x.attempt, o != outcome::fail_install);
      }
    }
  }
}

void simulated_fleet::download(const std::string& device, const std::string& task,
                               std::uint32_t attempt) {
  auto* rt = rt_.load();
  if (!rt) return;
  domain::report_progress cmd{device, task, events::execution_phase::downloading, 100};
  send(rt, cmd, meta_for(device, "downloaded", task, attempt),
       [this, device, task, attempt](command_outcome o) {
         if (!o.ok()) {
           count(refused_);
           return;
         }
         if (outcome_of(device, task, attempt) == outcome::fail_download)
           result(device, task, attempt, false, events::failure_code::checksum_mismatch);
         else
           install(device, task, attempt);
       });
}

void simulated_fleet::install(const std::string& device, const std::string& task,
                              std::uint32_t attempt) {
  auto* rt = rt_.load();
  if (!rt) return;
  {
    std::lock_guard lock{mtx_};
    auto it = devices_.find(device);
    if (it == devices_.end() || it->second.task != task) return;
    if (it->second.held) {
      it->second.at = stage::waiting;
      return;
    }
    it->second.at = stage::installing;
  }
  domain::report_progress cmd{device, task, events::execution_phase::installing, 0};
  send(rt, cmd, meta_for(device, "installing", task, attempt),
       [this, device, task, attempt](command_outcome o) {
         if (!o.ok()) {
           // Held (or not yet released): wait for the release notice.
           count(refused_);
           std::lock_guard lock{mtx_};
           auto it = devices_.find(device);
           if (it != devices_.end() && it->second.task == task) it->second.at = stage::waiting;
           return;
         }
         result(device, task, attempt, outcome_of(device, task, attempt) != outcome::fail_install);
       });
}

void simulated_fleet::result(const std::string& device, const std::string& task,
                             std::uint32_t attempt, bool ok, events::failure_code code) {
  auto* rt = rt_.load();
  if (!rt) return;
  std::string version = opts_.installed_version;
  if (version.empty()) {
    std::lock_guard lock{mtx_};
    auto it = devices_.find(device);
    if (it != devices_.end()) version = it->second.target_version;
  }
  domain::report_result cmd;
  cmd.device = device;
  cmd.task = task;
  cmd.succeeded = ok;
  cmd.version = version;
  if (!ok) {
    cmd.code = code;
    cmd.text = code == events::failure_code::checksum_mismatch ? "simulated checksum mismatch"
                                                               : "simulated install failure";
  }
  send(rt, cmd, meta_for(device, ok ? "succeeded" : "failed", task, attempt),
       [this, device, task, ok](command_outcome o) {
         if (!o.ok()) {
           count(refused_);
           return;
         }
         count(ok ? succeeded_ : failed_);
         std::lock_guard lock{mtx_};
         auto it = devices_.find(device);
         if (it != devices_.end() && it->second.task == task) devices_.erase(it);
       });
}

} // namespace otaledger::actors
