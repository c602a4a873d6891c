#include "domain/task.hpp"

#include "domain/catalog_index.hpp"
#include "domain/rollout.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>

namespace otaledger::domain {

using namespace events;

namespace {

using enum task_status;

// The table of SPEC §2 (see task.hpp). Columns: not_started, upgrading,
// paused, stopped, completed.
constexpr std::array<std::array<bool, 5>, all_task_operations.size()> allowed_table = {{
    /* edit            */ {true, false, false, false, false},
    /* delete          */ {true, false, false, true, true},
    /* start           */ {true, false, false, false, false},
    /* scheduled_start */ {true, false, false, false, false},
    /* pause           */ {false, true, false, false, false},
    /* resume          */ {false, false, true, false, false},
    /* cancel          */ {false, true, true, false, false},
    /* export_report   */ {true, false, true, true, true},
    /* complete        */ {false, true, false, false, false},
    /* deadline        */ {false, true, true, false, false},
    /* record_targets  */ {false, true, true, false, false},
    /* advance_wave    */ {false, true, true, false, false},
    /* error_pause     */ {false, true, false, false, false},
    /* release_install */ {false, true, true, false, false},
    /* retry_failed    */ {false, true, true, false, false},
}};

// "cannot <phrase>: it is <state>", with the task id in the phrase.
std::string operation_phrase(task_operation op, std::string_view task) {
  switch (op) {
  case task_operation::edit:
    return fmt::format("edit task {}", task);
  case task_operation::delete_task:
    return fmt::format("delete task {}", task);
  case task_operation::start:
    return fmt::format("start task {}", task);
  case task_operation::scheduled_start:
    return fmt::format("start task {} on schedule", task);
  case task_operation::pause:
    return fmt::format("pause task {}", task);
  case task_operation::resume:
    return fmt::format("resume task {}", task);
  case task_operation::cancel:
    return fmt::format("cancel task {}", task);
  case task_operation::export_report:
    return fmt::format("export the device report of task {}", task);
  case task_operation::complete:
    return fmt::format("complete task {}", task);
  case task_operation::deadline:
    return fmt::format("stop task {} at its deadline", task);
  case task_operation::record_targets:
    return fmt::format("record the targets of task {}", task);
  case task_operation::advance_wave:
    return fmt::format("advance the wave of task {}", task);
  case task_operation::error_pause:
    return fmt::format("pause task {} on errors", task);
  case task_operation::release_install:
    return fmt::format("release the install of task {}", task);
  case task_operation::retry_failed:
    return fmt::format("retry the failed devices of task {}", task);
  }
  return fmt::format("change task {}", task);
}

std::string format_time(base::timestamp t) {
  return base::format_rfc3339(t);
}

// Validates every setting against the limits and the catalog; returns the
// settings as they will be stored (MACs canonical) and the package summary.
decided<std::pair<task_settings, package_summary>> validate_settings(task_settings s,
                                                                     const decide_context& ctx) {
  OTA_TRYV(check_text("settings.name", s.name, 1, 100));
  OTA_TRYV(check_id("settings.product", s.product));
  OTA_TRYV(check_id("settings.package", s.package));
  if (!ctx.catalog)
    return reject(errc::catalog_missing, "creating or editing a task needs the catalog index");
  const auto& cat = *ctx.catalog;
  auto product = cat.product(s.product);
  if (!product) return reject(errc::not_found, fmt::format("product {} does not exist", s.product));
  auto pkg = cat.package(s.package);
  if (!pkg) return reject(errc::not_found, fmt::format("package {} does not exist", s.package));
  auto fw = cat.firmware(pkg->firmware);
  if (!fw)
    return reject(errc::not_found, fmt::format("firmware {} of package {} does not exist",
                                               pkg->firmware, s.package));
  if (!fw->product.empty() && fw->product != s.product)
    return reject(errc::invalid_argument,
                  fmt::format("package {} is firmware of product {}, not of product {}", s.package,
                              fw->product, s.product));
  if (product->require_verification && !fw->verified)
    return reject(errc::firmware_unverified,
                  fmt::format("firmware {} ({} {}/{} {}) is unverified, and product {} requires "
                              "verified firmware",
                              fw->id, enum_name(fw->kind), fw->vendor, fw->model, fw->version,
                              s.product));

  // Targets.
  auto& t = s.targets;
  if (t.devices.empty() && t.groups.empty() && t.regions.empty() && t.macs.empty() && !t.dynamic)
    return reject(errc::invalid_argument,
                  "settings.targets must list devices, groups, regions or MACs (or be dynamic)");
  if (t.devices.size() > ctx.limits.max_inline_target_devices)
    return reject(errc::too_large,
                  fmt::format("settings.targets.devices lists {} devices, over the limit of {}; "
                              "target a group instead",
                              t.devices.size(), ctx.limits.max_inline_target_devices));
  for (const auto& d : t.devices) {
    OTA_TRYV(check_id("settings.targets.devices[]", d));
  }
  for (const auto& g : t.groups) {
    OTA_TRYV(check_id("settings.targets.groups[]", g));
    if (!cat.group_exists(g))
      return reject(errc::not_found, fmt::format("group {} does not exist", g));
  }
  for (const auto& r : t.regions) {
    OTA_TRYV(check_text("settings.targets.regions[].province", r.province, 1, 64));
    OTA_TRYV(check_text("settings.targets.regions[].city", r.city, 0, 64));
  }
  if (t.macs.size() > ctx.limits.max_inline_target_devices)
    return reject(errc::too_large,
                  fmt::format("settings.targets.macs lists {} MACs, over the limit of {}",
                              t.macs.size(), ctx.limits.max_inline_target_devices));
  for (auto& m : t.macs) {
    auto canonical = normalize_mac(m);
    if (!canonical)
      return reject(
          errc::invalid_argument,
          fmt::format("settings.targets.macs: '{}' is not a MAC address", truncate_utf8(m, 40)));
    m = *canonical;
  }
  for (const auto& v : t.versions) {
    OTA_TRYV(check_version("settings.targets.versions[]", v));
  }

  // Device conditions and retries.
  if (s.signal_threshold > 255)
    return reject(errc::invalid_argument, "settings.signal_threshold must be 0-255");
  if (s.battery_threshold > 100)
    return reject(errc::invalid_argument, "settings.battery_threshold must be 0-100 (percent)");
  if (s.retry.max_retries > 10)
    return reject(errc::invalid_argument, "settings.retry.max_retries must be 0-10");
  if (s.retry.interval_seconds > 7 * 24 * 3600)
    return reject(errc::invalid_argument,
                  "settings.retry.interval_seconds must be at most 604800 (7 days)");
  if (s.timeout_minutes > 10080)
    return reject(errc::invalid_argument,
                  "settings.timeout_minutes must be 0 (none) to 10080 (7 days)");

  // Times.
  if (s.start_at && *s.start_at <= ctx.now)
    return reject(errc::invalid_argument, fmt::format("settings.start_at {} is not in the future",
                                                      format_time(*s.start_at)));
  if (s.deadline && *s.deadline <= ctx.now)
    return reject(errc::invalid_argument, fmt::format("settings.deadline {} is not in the future",
                                                      format_time(*s.deadline)));
  if (s.start_at && s.deadline && *s.deadline <= *s.start_at)
    return reject(errc::invalid_argument, "settings.deadline must be after settings.start_at");
  if (s.push_from && s.push_until && *s.push_until <= *s.push_from)
    return reject(errc::invalid_argument, "settings.push_until must be after settings.push_from");
  if (s.push_until && *s.push_until <= ctx.now)
    return reject(errc::invalid_argument,
                  fmt::format("settings.push_until {} has passed: nothing would be pushed",
                              format_time(*s.push_until)));
  if (s.window && !is_valid_window(*s.window))
    return reject(errc::invalid_argument,
                  "settings.window must have start_hour 0-23 and end_hour 1-24, not equal");

  // Rollout.
  const auto& r = s.rollout;
  switch (r.waves) {
  case wave_mode::none:
    break;
  case wave_mode::count:
    if (r.wave_size == 0)
      return reject(errc::invalid_argument, "settings.rollout.wave_size must be at least 1");
    break;
  case wave_mode::percentage:
    if (r.wave_percent < 1 || r.wave_percent > 100)
      return reject(errc::invalid_argument, "settings.rollout.wave_percent must be 1-100");
    break;
  case wave_mode::exponential:
    if (r.wave_size == 0)
      return reject(errc::invalid_argument, "settings.rollout.wave_size must be at least 1");
    if (r.wave_growth_percent < 101 || r.wave_growth_percent > 1000)
      return reject(errc::invalid_argument,
                    "settings.rollout.wave_growth_percent must be 101-1000");
    break;
  }
  if (r.success_threshold_percent > 100)
    return reject(errc::invalid_argument,
                  "settings.rollout.success_threshold_percent must be 0-100");
  if (r.error_threshold_percent > 100)
    return reject(errc::invalid_argument, "settings.rollout.error_threshold_percent must be 0-100");
  if (r.wave_soak_minutes > 43200)
    return reject(errc::invalid_argument,
                  "settings.rollout.wave_soak_minutes must be at most 43200 (30 days)");
  if (r.rate_growth_percent < 100 || r.rate_growth_percent > 1000)
    return reject(errc::invalid_argument, "settings.rollout.rate_growth_percent must be 100-1000");
  if (r.rate_growth_percent > 100 && (r.rate_growth_every == 0 || r.rate_per_minute == 0))
    return reject(
        errc::invalid_argument,
        "settings.rollout.rate_growth_percent needs rate_per_minute and rate_growth_every");

  package_summary summary{pkg->firmware,      pkg->kind,  pkg->type,
                          pkg->vendor,        pkg->model, pkg->initial_version,
                          pkg->target_version};
  return std::pair{std::move(s), std::move(summary)};
}

decided<decision> decide_impl(const task_state& s, const create_task& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_id("task", c.task));
  if (s.exists)
    return reject(errc::already_exists,
                  fmt::format("task {} already exists (it is {})", c.task, status_name(s)));
  OTA_TRY(v, validate_settings(c.settings, ctx));
  return decision{task_created{c.task, std::move(v.first), std::move(v.second), ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const edit_task& c, const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::edit));
  OTA_TRY(v, validate_settings(c.settings, ctx));
  return decision{task_edited{s.id, std::move(v.first), std::move(v.second)}};
}

decided<decision> decide_impl(const task_state& s, const delete_task&, const decide_context&) {
  OTA_TRYV(check_task_operation(s, task_operation::delete_task));
  return decision{task_deleted{s.id}};
}

decided<void> check_deadline_not_passed(const task_state& s, std::string_view verb,
                                        const decide_context& ctx) {
  if (s.settings.deadline && *s.settings.deadline <= ctx.now)
    return reject(errc::deadline_passed,
                  fmt::format("cannot {} task {}: its deadline {} has passed", verb, s.id,
                              format_time(*s.settings.deadline)));
  return outcome::success();
}

decided<decision> decide_impl(const task_state& s, const resume_task&, const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::resume));
  OTA_TRYV(check_deadline_not_passed(s, "resume", ctx));
  return decision{task_resumed{s.id, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const start_task&, const decide_context& ctx) {
  // "start" on a paused task is the console's resume button (SPEC §2).
  if (s.exists && s.status == paused) return decide_impl(s, resume_task{s.id}, ctx);
  OTA_TRYV(check_task_operation(s, task_operation::start));
  OTA_TRYV(check_deadline_not_passed(s, "start", ctx));
  return decision{task_started{s.id, false, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const start_task_on_schedule&,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::scheduled_start));
  if (!s.settings.start_at)
    return reject(errc::invalid_state,
                  fmt::format("cannot start task {} on schedule: it has no start time", s.id));
  if (ctx.now < *s.settings.start_at)
    return reject(errc::not_due, fmt::format("task {} starts at {}, not yet", s.id,
                                             format_time(*s.settings.start_at)));
  OTA_TRYV(check_deadline_not_passed(s, "start", ctx));
  return decision{task_started{s.id, true, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const pause_task&, const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::pause));
  return decision{task_paused{s.id, pause_cause::operator_request, 0, 0, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const cancel_task&, const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::cancel));
  return decision{task_canceled{s.id, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const export_task_report&,
                              const decide_context&) {
  OTA_TRYV(check_task_operation(s, task_operation::export_report));
  return decision{};
}

decided<decision> decide_impl(const task_state& s, const reach_task_deadline&,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::deadline));
  if (!s.settings.deadline)
    return reject(errc::invalid_state,
                  fmt::format("cannot stop task {} at its deadline: it has none", s.id));
  if (ctx.now < *s.settings.deadline)
    return reject(errc::not_due, fmt::format("the deadline of task {} is {}, not yet", s.id,
                                             format_time(*s.settings.deadline)));
  return decision{task_deadline_reached{s.id, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const complete_task& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::complete));
  if (s.settings.targets.dynamic)
    return reject(errc::invalid_state,
                  fmt::format("cannot complete task {}: it is dynamic and runs until it is "
                              "canceled or reaches its deadline",
                              s.id));
  if (!s.targets_total)
    return reject(errc::invalid_state,
                  fmt::format("cannot complete task {}: its targets are not resolved yet", s.id));
  if (c.succeeded + c.failed + c.canceled != c.total)
    return reject(errc::invalid_argument,
                  fmt::format("cannot complete task {}: {} succeeded + {} failed + {} canceled is "
                              "not the {} targets",
                              s.id, c.succeeded, c.failed, c.canceled, c.total));
  if (c.total < *s.targets_total)
    return reject(errc::invalid_argument,
                  fmt::format("cannot complete task {}: only {} of its {} targets are final", s.id,
                              c.total, *s.targets_total));
  return decision{task_completed{s.id, c.total, c.succeeded, c.failed, c.canceled, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const record_task_targets& c,
                              const decide_context&) {
  OTA_TRYV(check_task_operation(s, task_operation::record_targets));
  if (s.targets_total && *s.targets_total == c.total) return decision{};
  return decision{task_targets_resolved{s.id, c.total}};
}

decided<decision> decide_impl(const task_state& s, const advance_task_wave& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::advance_wave));
  if (s.settings.rollout.waves == wave_mode::none)
    return reject(errc::invalid_state,
                  fmt::format("cannot advance the wave of task {}: it has no waves", s.id));
  auto next = s.wave + 1;
  if (c.wave) {
    if (*c.wave <= s.wave) return decision{}; // already open: idempotent
    if (*c.wave != next)
      return reject(errc::invalid_argument,
                    fmt::format("cannot open wave {} of task {}: wave {} is open, the next is {}",
                                *c.wave, s.id, s.wave, next));
  }
  if (s.targets_total && wave_end(s.settings.rollout, *s.targets_total, s.wave) >= *s.targets_total)
    return reject(
        errc::invalid_state,
        fmt::format("cannot advance the wave of task {}: wave {} is its last", s.id, s.wave));
  return decision{task_wave_advanced{s.id, next, c.manual, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const pause_task_on_errors& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::error_pause));
  if (s.settings.rollout.error_threshold_percent == 0)
    return reject(errc::invalid_state,
                  fmt::format("cannot pause task {} on errors: it has no error threshold", s.id));
  if (c.failures > c.finished)
    return reject(
        errc::invalid_argument,
        fmt::format("{} failures cannot exceed {} finished devices", c.failures, c.finished));
  return decision{task_paused{s.id, pause_cause::error_threshold, c.failures, c.finished, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const release_task_install&,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::release_install));
  if (!s.settings.download_only)
    return reject(
        errc::invalid_state,
        fmt::format("cannot release the install of task {}: it is not download-only", s.id));
  if (s.install_released)
    return reject(
        errc::invalid_state,
        fmt::format("cannot release the install of task {}: it is already released", s.id));
  return decision{task_install_released{s.id, ctx.now}};
}

decided<decision> decide_impl(const task_state& s, const retry_failed_devices&,
                              const decide_context& ctx) {
  OTA_TRYV(check_task_operation(s, task_operation::retry_failed));
  return decision{task_retry_failed_requested{s.id, s.retry_rounds + 1, ctx.now}};
}

} // namespace

bool task_operation_allowed(task_operation op, task_status status) {
  if (status == deleted) return false;
  return allowed_table[static_cast<std::size_t>(op)][static_cast<std::size_t>(status)];
}

std::string_view status_name(const task_state& s) {
  return events::enum_name(s.status);
}

decided<void> check_task_operation(const task_state& s, task_operation op) {
  if (!s.exists) return reject(errc::not_found, fmt::format("task {} does not exist", s.id));
  if (!task_operation_allowed(op, s.status))
    return reject(errc::invalid_state,
                  fmt::format("cannot {}: it is {}", operation_phrase(op, s.id), status_name(s)));
  return outcome::success();
}

events::execution_terms execution_terms_for(const task_state& s) {
  events::execution_terms t;
  t.package = s.settings.package;
  t.kind = s.package.kind;
  t.initial_version = s.package.type == package_type::delta ? s.package.initial_version : "";
  t.target_version = s.package.target_version;
  t.signal_min = s.settings.signal_threshold;
  t.battery_min = s.settings.battery_threshold;
  t.max_retries = s.settings.retry.max_retries;
  t.retry_interval_s = s.settings.retry.interval_seconds;
  t.timeout_s = s.settings.timeout_minutes * 60;
  t.download_only = s.settings.download_only && !s.install_released;
  return t;
}

decided<decision> decide(const task_state& s, const task_command& c, const decide_context& ctx) {
  // An id-less state (nothing folded yet) takes its id from the command, so
  // refusals can name the task.
  if (s.id.empty()) {
    task_state named = s;
    named.id = std::visit([](const auto& x) { return x.task; }, c);
    return std::visit([&](const auto& x) { return decide_impl(named, x, ctx); }, c);
  }
  return std::visit([&](const auto& x) { return decide_impl(s, x, ctx); }, c);
}

task_state evolve(task_state s, const events::event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("task.")) {
          // Another task's event, or a stream that does not begin with task.created.
          if (s.id.empty() ? !std::is_same_v<T, task_created> : e.task != s.id) return;
        }
        if constexpr (std::is_same_v<T, task_created>) {
          s.id = e.task;
          s.exists = true;
          s.status = not_started;
          s.settings = e.settings;
          s.package = e.package_info;
          s.created_at = e.at;
        } else if constexpr (std::is_same_v<T, task_edited>) {
          s.settings = e.settings;
          s.package = e.package_info;
        } else if constexpr (std::is_same_v<T, task_deleted>) {
          s.status = deleted;
        } else if constexpr (std::is_same_v<T, task_started>) {
          s.status = upgrading;
          s.started_at = e.at;
          s.wave_opened_at = e.at;
        } else if constexpr (std::is_same_v<T, task_paused>) {
          s.status = paused;
          s.paused_by = e.cause;
          if (e.cause == pause_cause::error_threshold) {
            s.error_base_failures = e.failures;
            s.error_base_finished = e.finished;
          }
        } else if constexpr (std::is_same_v<T, task_resumed>) {
          s.status = upgrading;
          s.resumed_at = e.at;
          s.paused_by.reset();
        } else if constexpr (std::is_same_v<T, task_canceled>) {
          s.status = stopped;
          s.stopped_by = stop_reason::canceled;
          s.stopped_at = e.at;
        } else if constexpr (std::is_same_v<T, task_deadline_reached>) {
          s.status = stopped;
          s.stopped_by = stop_reason::deadline;
          s.stopped_at = e.at;
        } else if constexpr (std::is_same_v<T, task_completed>) {
          s.status = completed;
          s.stopped_at = e.at;
        } else if constexpr (std::is_same_v<T, task_targets_resolved>) {
          s.targets_total = e.total;
        } else if constexpr (std::is_same_v<T, task_wave_advanced>) {
          s.wave = e.wave;
          s.wave_opened_at = e.at;
        } else if constexpr (std::is_same_v<T, task_install_released>) {
          s.install_released = true;
        } else if constexpr (std::is_same_v<T, task_retry_failed_requested>) {
          s.retry_rounds = e.round;
        }
      },
      ev);
  return s;
}

} // namespace otaledger::domain
