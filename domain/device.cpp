#include "domain/device.hpp"

#include "domain/catalog_index.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>

namespace otaledger::domain {

using namespace events;
using phase = execution_phase;

namespace {

// Collects a decision's events and folds each into a working copy of the
// state, so a later rule sees the effect of an earlier one.
struct emitter {
  device_state state;
  decision out;
  template <class E> void emit(E e) {
    state = evolve(std::move(state), event{e});
    out.emplace_back(std::move(e));
  }
};

std::string_view name_of(phase p) {
  return enum_name(p);
}

bool one_of(phase p, std::initializer_list<phase> ps) {
  for (auto x : ps)
    if (p == x) return true;
  return false;
}

bool is_in_progress(phase p) {
  return one_of(p, {phase::notified, phase::downloading, phase::downloaded, phase::installing});
}

decided<void> check_registered(const device_state& s) {
  if (!s.registered)
    return reject(errc::not_found, fmt::format("device {} is not registered", s.id));
  return outcome::success();
}

// A "device:<id>" principal may only report about itself; it issues no
// operator or coordinator command.
decided<void> check_principal(const decide_context& ctx, std::string_view device,
                              std::string_view command, bool device_may_issue) {
  constexpr std::string_view prefix = "device:";
  if (!ctx.principal.starts_with(prefix)) return outcome::success();
  auto who = std::string_view{ctx.principal}.substr(prefix.size());
  if (!device_may_issue)
    return reject(errc::forbidden, fmt::format("device {} may not {}", who, command));
  if (who != device)
    return reject(errc::forbidden, fmt::format("device {} may not act on device {}", who, device));
  return outcome::success();
}

decided<const execution_state*> find_execution(const device_state& s, std::string_view task) {
  auto x = s.execution(task);
  if (!x)
    return reject(errc::no_execution,
                  fmt::format("device {} has no execution in task {}", s.id, task));
  return x;
}

decided<void> check_not_final(const device_state& s, const execution_state& x) {
  if (is_final(x.phase))
    return reject(errc::execution_finished,
                  fmt::format("the execution of task {} on device {} is already {}", x.task, s.id,
                              name_of(x.phase)));
  return outcome::success();
}

bool reading_ok(std::optional<std::uint32_t> v, std::uint32_t min) {
  return !v || *v >= min; // an unknown reading does not hold a device back
}

std::optional<deferral_reason> gate(const execution_terms& t, bool online,
                                    std::optional<std::uint32_t> signal,
                                    std::optional<std::uint32_t> battery) {
  if (!online) return deferral_reason::offline;
  if (!reading_ok(signal, t.signal_min)) return deferral_reason::low_signal;
  if (!reading_ok(battery, t.battery_min)) return deferral_reason::low_battery;
  return std::nullopt;
}

std::string default_text(failure_code c) {
  std::string s{enum_name(c)};
  for (auto& ch : s)
    if (ch == '_') ch = ' ';
  return s;
}

// A failure with the task's retry policy applied.
execution_failed failure(const device_state& d, const execution_state& x, failure_code code,
                         std::string text, const decide_context& ctx) {
  execution_failed f{d.id, x.task, x.phase, code, std::move(text), x.attempt, std::nullopt};
  if (is_retryable(code) && !x.cancel_requested && x.attempt - x.round_start < x.terms.max_retries)
    f.retry_at = base::timestamp{ctx.now.micros +
                                 static_cast<std::int64_t>(x.terms.retry_interval_s) * 1'000'000};
  return f;
}

const execution_state& exec_of(const emitter& em, std::string_view task) {
  return *em.state.execution(task);
}

// Every unfinished execution of `kind` whose target the device now runs succeeds.
void succeed_matching(emitter& em, firmware_kind kind, const std::string& version) {
  for (std::size_t i = 0; i < em.state.executions.size(); ++i) {
    const auto& x = em.state.executions[i];
    if (!is_final(x.phase) && x.terms.kind == kind && x.terms.target_version == version)
      em.emit(execution_succeeded{em.state.id, x.task, x.phase, version});
  }
}

// Deferred executions continue by themselves once the device is good again:
// they are queued for the coordinator's next start (the cap and rate hold).
void continue_deferred(emitter& em) {
  for (std::size_t i = 0; i < em.state.executions.size(); ++i) {
    const auto& x = em.state.executions[i];
    if (x.phase != phase::deferred) continue;
    auto g = gate(x.terms, em.state.online, em.state.signal, em.state.battery);
    if (!g)
      em.emit(execution_deferral_ended{em.state.id, x.task});
    else if (g != x.deferred_for)
      em.emit(execution_deferred{em.state.id, x.task, phase::deferred, *g});
  }
}

// Busy, eligibility, then the device conditions: what a start (or an
// assignment) leads to. `starting` = false at assignment: no notification.
void settle(emitter& em, const std::string& task, const decide_context& ctx, bool starting) {
  const auto& x = exec_of(em, task);
  if (auto other = em.state.busy_with(task)) {
    em.emit(failure(em.state, x, failure_code::busy_in_task,
                    fmt::format("busy in task {}", other->task), ctx));
    return;
  }
  const auto& current = em.state.version(x.terms.kind);
  if (current == x.terms.target_version) {
    em.emit(execution_succeeded{em.state.id, task, x.phase, current});
    return;
  }
  if (!x.terms.initial_version.empty() && current != x.terms.initial_version) {
    em.emit(failure(em.state, x, failure_code::version_mismatch,
                    fmt::format("version mismatch: device runs {}, package needs {}",
                                current.empty() ? "an unknown version" : current,
                                x.terms.initial_version),
                    ctx));
    return;
  }
  if (!starting) return;
  if (auto g = gate(x.terms, em.state.online, em.state.signal, em.state.battery)) {
    em.emit(execution_deferred{em.state.id, task, x.phase, *g});
    return;
  }
  em.emit(execution_notified{em.state.id, task, x.phase, x.attempt, ctx.now});
}

decided<void> check_terms(const execution_terms& t) {
  OTA_TRYV(check_id("terms.package", t.package));
  OTA_TRYV(check_version("terms.target_version", t.target_version));
  if (!t.initial_version.empty()) {
    OTA_TRYV(check_version("terms.initial_version", t.initial_version));
  }
  if (t.max_retries > 10) return reject(errc::invalid_argument, "terms.max_retries must be 0-10");
  return outcome::success();
}

decided<void> check_descriptive(std::string_view name, std::string_view imei, std::string& mac,
                                const region& r) {
  OTA_TRYV(check_text("name", name, 1, 64));
  if (!imei.empty() && !is_valid_imei(imei))
    return reject(errc::invalid_argument, "imei must be 15 digits");
  if (!mac.empty()) {
    auto m = normalize_mac(mac);
    if (!m)
      return reject(errc::invalid_argument,
                    fmt::format("mac '{}' is not a MAC address", truncate_utf8(mac, 40)));
    mac = *m;
  }
  OTA_TRYV(check_text("region.province", r.province, 0, 64));
  OTA_TRYV(check_text("region.city", r.city, 0, 64));
  return outcome::success();
}

// ---------------------------------------------------------------------------

decided<decision> decide_impl(const device_state& s, const register_device& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "register another device", c.self_registered));
  OTA_TRYV(check_id("device", c.device));
  if (s.registered)
    return reject(errc::already_exists,
                  fmt::format("device {} is already registered (product {})", c.device, s.product));
  OTA_TRYV(check_id("product", c.product));
  if (ctx.catalog) {
    auto p = ctx.catalog->product(c.product);
    if (!p) return reject(errc::not_found, fmt::format("product {} does not exist", c.product));
    if (c.self_registered && (p->secret_hash.empty() || p->secret_hash != c.secret_hash))
      return reject(
          errc::forbidden,
          fmt::format("product {} does not accept this secret for self-registration", c.product));
  } else if (c.self_registered) {
    return reject(errc::catalog_missing, "self-registration needs the catalog index");
  }
  auto name = c.name.empty() ? c.device : c.name;
  auto mac = c.mac;
  OTA_TRYV(check_descriptive(name, c.imei, mac, c.region));
  if (!c.fota_version.empty()) {
    OTA_TRYV(check_version("fota_version", c.fota_version));
  }
  if (!c.sota_version.empty()) {
    OTA_TRYV(check_version("sota_version", c.sota_version));
  }
  return decision{device_registered{c.device, c.product, name, c.imei, mac, c.region,
                                    c.fota_version, c.sota_version, c.self_registered, ctx.now}};
}

decided<decision> decide_impl(const device_state& s, const edit_device& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "edit a device", false));
  OTA_TRYV(check_registered(s));
  auto mac = c.mac;
  OTA_TRYV(check_descriptive(c.name, c.imei, mac, c.region));
  return decision{device_edited{s.id, c.name, c.imei, mac, c.region}};
}

decided<decision> decide_impl(const device_state& s, const report_device_state& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "report", true));
  OTA_TRYV(check_registered(s));
  if (c.signal && *c.signal > 255) return reject(errc::invalid_argument, "signal must be 0-255");
  if (c.battery && *c.battery > 100)
    return reject(errc::invalid_argument, "battery must be 0-100 (percent)");
  for (const auto* v : {&c.fota_version, &c.sota_version}) {
    if (*v && !(*v)->empty()) {
      OTA_TRYV(check_version("version", **v));
    }
  }

  emitter em{s, {}};
  for (auto kind : {firmware_kind::fota, firmware_kind::sota}) {
    const auto& v = kind == firmware_kind::fota ? c.fota_version : c.sota_version;
    if (!v || v->empty() || *v == em.state.version(kind)) continue;
    em.emit(device_version_changed{s.id, kind, *v});
    succeed_matching(em, kind, *v);
  }
  if (c.online && *c.online != em.state.online) {
    if (*c.online)
      em.emit(device_came_online{s.id});
    else
      em.emit(device_went_offline{s.id});
  }
  auto signal = c.signal ? c.signal : s.signal;
  auto battery = c.battery ? c.battery : s.battery;
  if (signal != s.signal || battery != s.battery) {
    bool first = (c.signal && !s.signal) || (c.battery && !s.battery);
    bool crosses = false;
    for (const auto& x : em.state.executions) {
      if (is_final(x.phase)) continue;
      crosses = crosses ||
                reading_ok(s.signal, x.terms.signal_min) != reading_ok(signal, x.terms.signal_min);
      crosses = crosses || reading_ok(s.battery, x.terms.battery_min) !=
                               reading_ok(battery, x.terms.battery_min);
    }
    if (first || crosses) em.emit(device_conditions_changed{s.id, signal, battery});
  }
  continue_deferred(em);
  return std::move(em.out);
}

decided<decision> decide_impl(const device_state& s, const assign_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "assign itself to a task", false));
  OTA_TRYV(check_registered(s));
  OTA_TRYV(check_id("task", c.task));
  OTA_TRYV(check_terms(c.terms));
  if (s.execution(c.task)) return decision{}; // a device joins a task once
  if (auto other = s.busy_with(c.task); other && c.terms.verification)
    return reject(errc::device_busy,
                  fmt::format("device {} is busy in task {}", s.id, other->task));
  emitter em{s, {}};
  em.emit(execution_assigned{s.id, c.task, c.terms});
  settle(em, c.task, ctx, false);
  return std::move(em.out);
}

decided<decision> decide_impl(const device_state& s, const start_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "start its own execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (x->phase != phase::pending && x->phase != phase::queued) return decision{};
  emitter em{s, {}};
  settle(em, c.task, ctx, true);
  return std::move(em.out);
}

decided<decision> decide_impl(const device_state& s, const report_progress& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "report", true));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  OTA_TRYV(check_not_final(s, *x));
  if (!is_in_progress(x->phase))
    return reject(errc::invalid_state,
                  fmt::format("device {} has no instruction in task {}: the execution is {}", s.id,
                              c.task, name_of(x->phase)));
  if (c.percent > 100) return reject(errc::invalid_argument, "percent must be 0-100");
  emitter em{s, {}};
  auto cur = x->phase;
  auto finish_download = [&] {
    em.emit(execution_downloaded{s.id, c.task, cur});
    if (exec_of(em, c.task).cancel_requested)
      em.emit(execution_canceled{s.id, c.task, phase::downloaded});
  };
  switch (c.phase) {
  case phase::downloading:
    if (cur == phase::notified) {
      em.emit(execution_downloading{s.id, c.task, phase::notified, c.percent});
      cur = phase::downloading;
      if (c.percent == 100) finish_download();
    } else if (cur == phase::downloading) {
      auto step = ctx.limits.download_milestone_percent;
      if (c.percent == 100)
        finish_download();
      else if (step > 0 && c.percent / step > x->percent / step)
        em.emit(execution_downloading{s.id, c.task, phase::downloading, c.percent});
    } // later phases: a stale report, nothing to record
    break;
  case phase::downloaded:
    if (cur == phase::notified || cur == phase::downloading) finish_download();
    break;
  case phase::installing: {
    if (cur == phase::installing) break;
    if (!install_allowed(*x)) {
      auto why = x->cancel_requested ? "the task was canceled"
                 : x->held           ? "the task is paused"
                                     : "the install is not released yet (download-only task)";
      return reject(errc::install_not_allowed,
                    fmt::format("device {} may not install in task {}: {}", s.id, c.task, why));
    }
    if (cur != phase::downloaded) em.emit(execution_downloaded{s.id, c.task, cur});
    em.emit(execution_installing{s.id, c.task});
    break;
  }
  default:
    return reject(errc::invalid_argument, "phase must be downloading, downloaded or installing");
  }
  return std::move(em.out);
}

decided<decision> decide_impl(const device_state& s, const report_result& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "report", true));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  OTA_TRYV(check_not_final(s, *x));
  emitter em{s, {}};
  if (c.succeeded) {
    OTA_TRYV(check_version("version", c.version));
    auto kind = x->terms.kind;
    if (c.version != em.state.version(kind)) {
      em.emit(device_version_changed{s.id, kind, c.version});
      succeed_matching(em, kind, c.version);
    }
    const auto& now_x = exec_of(em, c.task);
    if (is_final(now_x.phase)) return std::move(em.out);
    if (c.version == now_x.terms.target_version)
      em.emit(execution_succeeded{s.id, c.task, now_x.phase, c.version});
    else
      em.emit(failure(
          em.state, now_x, failure_code::version_mismatch_after_install,
          fmt::format("device reports {}, the target is {}", c.version, now_x.terms.target_version),
          ctx));
    return std::move(em.out);
  }
  if (!is_device_reportable(c.code))
    return reject(
        errc::invalid_argument,
        fmt::format("code {} is set by the platform, not reported by devices", enum_name(c.code)));
  auto text =
      c.text.empty() ? default_text(c.code) : truncate_utf8(c.text, ctx.limits.max_note_bytes);
  em.emit(failure(s, *x, c.code, std::move(text), ctx));
  return std::move(em.out);
}

decided<decision> decide_impl(const device_state& s, const note_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "report", true));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  (void)x; // a note is taken in any phase, a finished execution's included
  if (c.text.empty()) return reject(errc::invalid_argument, "a note needs a text");
  if (!is_valid_text(c.text, 0, c.text.size()))
    return reject(errc::invalid_argument, "a note must be UTF-8 without control characters");
  return decision{execution_noted{s.id, c.task, truncate_utf8(c.text, ctx.limits.max_note_bytes)}};
}

decided<decision> decide_impl(const device_state& s, const hold_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "hold an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (x->held || !one_of(x->phase, {phase::notified, phase::downloading, phase::downloaded}))
    return decision{};
  return decision{execution_held{s.id, c.task}};
}

decided<decision> decide_impl(const device_state& s, const release_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "release an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (!x->held || is_final(x->phase)) return decision{};
  return decision{execution_released{s.id, c.task, ctx.now}};
}

decided<decision> decide_impl(const device_state& s, const release_execution_install& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "release an install", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (!x->terms.download_only)
    return reject(
        errc::invalid_state,
        fmt::format("the execution of task {} on device {} is not download-only", c.task, s.id));
  if (x->install_released || is_final(x->phase)) return decision{};
  return decision{execution_install_released{s.id, c.task, ctx.now}};
}

decided<decision> decide_impl(const device_state& s, const cancel_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "cancel an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  switch (x->phase) {
  case phase::pending:
  case phase::queued:
  case phase::deferred:
  case phase::notified:
  case phase::downloaded:
    return decision{execution_canceled{s.id, c.task, x->phase}};
  case phase::downloading: // finishes the download, then does not install
    if (x->cancel_requested) return decision{};
    return decision{execution_cancel_requested{s.id, c.task}};
  case phase::retry_wait:
    return decision{execution_retry_dropped{s.id, c.task}};
  case phase::installing: // finishes; its result counts
  case phase::succeeded:
  case phase::failed:
  case phase::canceled:
    return decision{};
  }
  return decision{};
}

decided<decision> decide_impl(const device_state& s, const expire_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "expire an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (is_final(x->phase)) return decision{};
  return decision{execution_failed{s.id, c.task, x->phase, failure_code::deadline_passed,
                                   "deadline passed", x->attempt, std::nullopt}};
}

decided<decision> decide_impl(const device_state& s, const retry_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "retry an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (x->phase != phase::retry_wait) return decision{};
  if (x->retry_at && ctx.now < *x->retry_at)
    return reject(errc::not_due, fmt::format("the retry of task {} on device {} is due at {}",
                                             c.task, s.id, base::format_rfc3339(*x->retry_at)));
  return decision{execution_retried{s.id, c.task, phase::retry_wait, x->attempt + 1, false}};
}

decided<decision> decide_impl(const device_state& s, const requeue_execution& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "requeue an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  if (x->phase != phase::failed && x->phase != phase::retry_wait) return decision{};
  return decision{execution_retried{s.id, c.task, x->phase, x->attempt + 1, true}};
}

decided<decision> decide_impl(const device_state& s, const check_execution_timeout& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_principal(ctx, c.device, "time out an execution", false));
  OTA_TRYV(check_registered(s));
  OTA_TRY(x, find_execution(s, c.task));
  auto at = timeout_at(*x);
  if (!at || ctx.now < *at) return decision{};
  return decision{failure(
      s, *x, failure_code::timed_out,
      fmt::format("timed out after {} min while {}", x->terms.timeout_s / 60, name_of(x->phase)),
      ctx)};
}

} // namespace

const execution_state* device_state::execution(std::string_view task) const {
  for (const auto& x : executions)
    if (x.task == task) return &x;
  return nullptr;
}

const execution_state* device_state::busy_with(std::string_view task) const {
  // An execution that holds the device (deferred ... installing) always
  // blocks. Among waiting ones, executions queue in assignment order: only an
  // earlier one blocks, so two tasks never fail each other in turn.
  bool earlier = true;
  for (const auto& x : executions) {
    if (x.task == task) {
      earlier = false;
      continue;
    }
    if (is_final(x.phase)) continue;
    if (earlier || x.phase == phase::deferred || is_in_progress(x.phase)) return &x;
  }
  return nullptr;
}

const std::string& device_state::version(firmware_kind kind) const {
  return kind == firmware_kind::fota ? fota_version : sota_version;
}

bool is_retryable(failure_code c) {
  switch (c) {
  case failure_code::version_mismatch:
  case failure_code::unsupported_package:
  case failure_code::rejected:
  case failure_code::deadline_passed:
    return false;
  default:
    return true;
  }
}

bool is_device_reportable(failure_code c) {
  switch (c) {
  case failure_code::version_mismatch:
  case failure_code::busy_in_task:
  case failure_code::timed_out:
  case failure_code::deadline_passed:
    return false;
  default:
    return true;
  }
}

bool install_allowed(const execution_state& x) {
  return !x.cancel_requested && !x.held && (!x.terms.download_only || x.install_released);
}

std::optional<base::timestamp> timeout_at(const execution_state& x) {
  if (x.terms.timeout_s == 0 || !x.in_progress_since || x.held) return std::nullopt;
  if (!is_in_progress(x.phase)) return std::nullopt;
  if (x.phase == phase::downloaded && !install_allowed(x))
    return std::nullopt; // waiting, not stuck
  return base::timestamp{x.in_progress_since->micros +
                         static_cast<std::int64_t>(x.terms.timeout_s) * 1'000'000};
}

decided<decision> decide(const device_state& s, const device_command& c,
                         const decide_context& ctx) {
  if (s.id.empty()) {
    device_state named = s;
    named.id = std::visit([](const auto& x) { return x.device; }, c);
    return std::visit([&](const auto& x) { return decide_impl(named, x, ctx); }, c);
  }
  return std::visit([&](const auto& x) { return decide_impl(s, x, ctx); }, c);
}

/// What an execution event (other than execution_assigned, which creates
/// the execution) does to the device's execution of its task.
template <class T> void evolve_exec(execution_state& x, [[maybe_unused]] const T& e) {
  if constexpr (std::is_same_v<T, execution_deferred>) {
    x.phase = phase::deferred;
    x.deferred_for = e.reason;
  } else if constexpr (std::is_same_v<T, execution_deferral_ended>) {
    x.phase = phase::queued;
    x.deferred_for.reset();
  } else if constexpr (std::is_same_v<T, execution_notified>) {
    x.phase = phase::notified;
    x.attempt = e.attempt;
    x.percent = 0;
    x.held = false;
    x.in_progress_since = e.at;
  } else if constexpr (std::is_same_v<T, execution_downloading>) {
    x.phase = phase::downloading;
    x.percent = e.percent;
  } else if constexpr (std::is_same_v<T, execution_downloaded>) {
    x.phase = phase::downloaded;
    x.percent = 100;
  } else if constexpr (std::is_same_v<T, execution_installing>) {
    x.phase = phase::installing;
  } else if constexpr (std::is_same_v<T, execution_succeeded>) {
    x.phase = phase::succeeded;
    x.version = e.version;
    x.held = false;
    x.note.clear();
    x.retry_at.reset();
    x.in_progress_since.reset();
  } else if constexpr (std::is_same_v<T, execution_failed>) {
    x.phase = e.retry_at ? phase::retry_wait : phase::failed;
    x.failure = e.code;
    x.note = e.text;
    x.retry_at = e.retry_at;
    x.held = false;
    x.in_progress_since.reset();
  } else if constexpr (std::is_same_v<T, execution_canceled>) {
    x.phase = phase::canceled;
    x.held = false;
    x.in_progress_since.reset();
  } else if constexpr (std::is_same_v<T, execution_cancel_requested>) {
    x.cancel_requested = true;
  } else if constexpr (std::is_same_v<T, execution_retried>) {
    x.phase = phase::queued;
    x.attempt = e.attempt;
    if (e.manual) x.round_start = e.attempt;
    x.retry_at.reset();
  } else if constexpr (std::is_same_v<T, execution_retry_dropped>) {
    x.phase = phase::failed;
    x.retry_at.reset();
  } else if constexpr (std::is_same_v<T, execution_held>) {
    x.held = true;
  } else if constexpr (std::is_same_v<T, execution_released>) {
    x.held = false;
    if (is_in_progress(x.phase)) x.in_progress_since = e.at;
  } else if constexpr (std::is_same_v<T, execution_install_released>) {
    x.install_released = true;
    if (x.phase == phase::downloaded) x.in_progress_since = e.at;
  }
}

void evolve_execution(execution_state& x, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("execution.") &&
                      !std::is_same_v<T, execution_assigned>) {
          if (e.task == x.task) evolve_exec(x, e);
        }
      },
      ev);
}

void evolve_device(device_state& s, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("device.")) {
          if (s.id.empty() ? !std::is_same_v<T, device_registered> : e.device != s.id) return;
        }
        if constexpr (std::is_same_v<T, device_registered>) {
          s.id = e.device;
          s.registered = true;
          s.product = e.product;
          s.name = e.name;
          s.imei = e.imei;
          s.mac = e.mac;
          s.region = e.region;
          s.fota_version = e.fota_version;
          s.sota_version = e.sota_version;
          s.registered_at = e.at;
        } else if constexpr (std::is_same_v<T, device_edited>) {
          s.name = e.name;
          s.imei = e.imei;
          s.mac = e.mac;
          s.region = e.region;
        } else if constexpr (std::is_same_v<T, device_version_changed>) {
          (e.kind == firmware_kind::fota ? s.fota_version : s.sota_version) = e.version;
        } else if constexpr (std::is_same_v<T, device_came_online>) {
          s.online = true;
        } else if constexpr (std::is_same_v<T, device_went_offline>) {
          s.online = false;
        } else if constexpr (std::is_same_v<T, device_conditions_changed>) {
          s.signal = e.signal;
          s.battery = e.battery;
        }
      },
      ev);
}

device_state evolve(device_state s, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("device.")) {
          evolve_device(s, ev);
        } else if constexpr (T::type_name.starts_with("execution.")) {
          if (s.id.empty() || e.device != s.id) return;
          if constexpr (std::is_same_v<T, execution_assigned>) {
            execution_state x;
            x.task = e.task;
            x.terms = e.terms;
            s.executions.push_back(std::move(x));
          } else {
            for (auto& x : s.executions)
              if (x.task == e.task) {
                evolve_exec(x, e);
                break;
              }
          }
        }
      },
      ev);
  return s;
}

} // namespace otaledger::domain
