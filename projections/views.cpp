#include "projections/views.hpp"

#include "domain/device.hpp"
#include "domain/firmware.hpp"
#include "domain/package.hpp"
#include "domain/rollout.hpp"
#include "domain/task.hpp"
#include "projections/internal/convert.hpp"
#include "projections/rows.hpp"

#include <algorithm>
#include <cctype>

namespace otaledger::projections {

using namespace events;

namespace {

constexpr std::size_t phase_count = 11;

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view phase_name(execution_phase p) {
  return enum_name(p);
}

// ---------------------------------------------------------------------------
// tasks

domain::task_state to_state(const task_row& r) {
  domain::task_state s;
  s.id = r.task;
  s.exists = true;
  s.status = *enum_from_name<domain::task_status>(r.status);
  s.stopped_by =
      enum_from_name<domain::stop_reason>(r.stopped_by).value_or(domain::stop_reason::none);
  s.settings.name = r.name;
  s.settings.product = r.product;
  s.settings.package = r.package;
  s.settings.start_at = r.start_at;
  s.settings.deadline = r.deadline;
  s.package.kind = r.kind;
  s.package.initial_version = r.initial_version;
  s.package.target_version = r.target_version;
  s.created_at = r.created_at;
  s.started_at = r.started_at;
  s.stopped_at = r.stopped_at;
  s.wave = r.wave;
  s.targets_total = r.targets_total;
  return s;
}

task_row to_row(const domain::task_state& s) {
  task_row r;
  r.task = s.id;
  r.name = s.settings.name;
  r.product = s.settings.product;
  r.package = s.settings.package;
  r.status = std::string{enum_name(s.status)};
  r.stopped_by = std::string{enum_name(s.stopped_by)};
  r.kind = s.package.kind;
  r.initial_version = s.package.initial_version;
  r.target_version = s.package.target_version;
  r.created_at = s.created_at;
  r.start_at = s.settings.start_at;
  r.started_at = s.started_at;
  r.deadline = s.settings.deadline;
  r.stopped_at = s.stopped_at;
  r.wave = s.wave;
  r.targets_total = s.targets_total;
  return r;
}

class tasks_view final : public projection {
public:
  std::string_view name() const override { return "tasks"; }
  bool wants(std::string_view type) const override { return type.starts_with("task."); }
  void apply(view_txn& tx, const envelope&, const event* ev) const override {
    const std::string id = std::visit([](const auto& e) { return first_field(e); }, *ev);
    auto key = make_key("t", id);
    auto old = tx.get_row<task_row>(key);
    domain::task_state s = old ? to_state(*old) : domain::task_state{};
    s = domain::evolve(std::move(s), *ev);
    if (!s.exists) return;
    task_row row = to_row(s);
    if (old && *old == row) return;
    if (old) {
      tx.erase(make_key("s", old->status, old->task));
      tx.erase(make_key("n", lower(old->name), old->task));
    }
    if (row.status != "deleted") {
      tx.put(make_key("s", row.status, row.task), {});
      tx.put(make_key("n", lower(row.name), row.task), {});
    }
    tx.put_row(std::move(key), row);
  }

private:
  template <class E> static std::string first_field(const E& e) {
    if constexpr (requires { e.task; }) return e.task;
    return {};
  }
};

// ---------------------------------------------------------------------------
// executions

domain::execution_state to_state(const execution_row& r) {
  domain::execution_state x;
  x.task = r.task;
  x.phase = r.phase;
  x.attempt = r.attempt;
  x.round_start = r.round_start;
  x.percent = r.percent;
  x.held = r.held;
  x.cancel_requested = r.cancel_requested;
  x.install_released = r.install_released;
  x.deferred_for = r.deferred_for;
  x.in_progress_since = r.in_progress_since;
  x.retry_at = r.retry_at;
  x.failure = r.failure;
  x.note = r.note;
  x.version = r.version;
  return x;
}

void from_state(const domain::execution_state& x, execution_row& r) {
  r.phase = x.phase;
  r.attempt = x.attempt;
  r.round_start = x.round_start;
  r.percent = x.percent;
  r.held = x.held;
  r.cancel_requested = x.cancel_requested;
  r.install_released = x.install_released;
  r.deferred_for = x.deferred_for;
  r.in_progress_since = x.in_progress_since;
  r.retry_at = x.retry_at;
  r.failure = x.failure;
  r.note = x.note;
  r.version = x.version;
}

domain::rollout_counters to_counters(const progress_row& p) {
  domain::rollout_counters c;
  c.total = p.total;
  c.admitted = p.admitted;
  c.notifications = p.notifications;
  for (std::size_t i = 0; i < phase_count && i < p.in_phase.size(); ++i)
    c.in_phase[i] = p.in_phase[i];
  c.window_start = p.window_start;
  c.started_in_window = p.started_in_window;
  return c;
}

void from_counters(const domain::rollout_counters& c, progress_row& p) {
  p.total = c.total;
  p.admitted = c.admitted;
  p.notifications = c.notifications;
  p.in_phase.assign(c.in_phase.begin(), c.in_phase.end());
  p.window_start = c.window_start;
  p.started_in_window = c.started_in_window;
}

progress_row new_progress() {
  progress_row p;
  p.in_phase.assign(phase_count, 0);
  return p;
}

class executions_view final : public projection {
public:
  std::string_view name() const override { return "executions"; }
  bool wants(std::string_view type) const override {
    return type.starts_with("execution.") || type == "task.started" ||
           type == "task.wave_advanced" || type == "device.registered" || type == "device.edited" ||
           type == "device.came_online" || type == "device.went_offline";
  }

  void apply(view_txn& tx, const envelope& env, const event* ev) const override {
    std::visit([&](const auto& e) { on(tx, env, *ev, e); }, *ev);
  }

private:
  template <class E> void on(view_txn& tx, const envelope& env, const event& ev, const E& e) const {
    if constexpr (std::is_same_v<E, device_registered> || std::is_same_v<E, device_edited>) {
      auto key = make_key("d", e.device);
      auto old = tx.get_row<device_info_row>(key);
      device_info_row row = old.value_or(device_info_row{});
      row.name = e.name;
      row.mac = e.mac;
      row.imei = e.imei;
      if (old && !old->mac.empty() && old->mac != row.mac)
        tx.erase(make_key("m", old->mac, e.device));
      if (!row.mac.empty()) tx.put(make_key("m", row.mac, e.device), {});
      tx.put_row(std::move(key), row);
    } else if constexpr (std::is_same_v<E, device_came_online> ||
                         std::is_same_v<E, device_went_offline>) {
      auto* row = tx.edit_row<device_info_row>(make_key("d", e.device));
      if (!row) return;
      row->online = std::is_same_v<E, device_came_online>;
    } else if constexpr (std::is_same_v<E, task_started> || std::is_same_v<E, task_wave_advanced>) {
      auto key = make_key("c", e.task);
      progress_row* p = tx.edit_row<progress_row>(key);
      if (!p) p = &tx.put_row(key, new_progress());
      if constexpr (std::is_same_v<E, task_started>)
        p->wave = 0;
      else
        p->wave = e.wave;
    } else if constexpr (requires {
                           e.task;
                           e.device;
                         }) {
      // The hottest fold: keys are built in reused buffers, rows are edited
      // in place in the overlay (decoded once per batch, encoded at flush).
      thread_local std::string ckey, key, xkey;
      build_key(ckey, "c", e.task);
      progress_row* p = tx.edit_row<progress_row>(ckey);
      if (!p) p = &tx.put_row(ckey, new_progress());
      build_key(key, "t", e.task, e.device);
      execution_row* row = nullptr;
      std::optional<execution_phase> before;
      if constexpr (std::is_same_v<E, execution_assigned>) {
        execution_row fresh;
        fresh.device = e.device;
        fresh.task = e.task;
        fresh.ordinal = p->total;
        row = &tx.put_row(key, std::move(fresh));
      } else {
        row = tx.edit_row<execution_row>(key);
        if (row) before = row->phase;
      }
      auto counters = to_counters(*p);
      counters.apply(ev);
      from_counters(counters, *p);
      if (row) {
        // The domain's own fold of one execution: a device state holding just
        // it (its executions vector reused across events).
        thread_local std::vector<domain::execution_state> spare;
        domain::device_state d;
        d.id = e.device;
        d.registered = true;
        d.executions = std::move(spare);
        d.executions.clear();
        d.executions.push_back(to_state(*row));
        if constexpr (!std::is_same_v<E, execution_assigned>) d = domain::evolve(std::move(d), ev);
        from_state(d.executions.front(), *row);
        spare = std::move(d.executions);
        row->updated = env.time;
        const auto after = row->phase;
        if (!row->wave && after == execution_phase::notified) {
          row->wave = p->wave;
          move_wave(tx, e.task, *row->wave, std::nullopt, after);
        } else if (row->wave && before && *before != after) {
          move_wave(tx, e.task, *row->wave, before, after);
        }
        if (!before || *before != after) {
          if (before) tx.erase(build_key(xkey, "x", e.task, phase_name(*before), e.device));
          tx.put(build_key(xkey, "x", e.task, phase_name(after), e.device), {});
        }
      }
    }
  }

  static void move_wave(view_txn& tx, std::string_view task, std::uint32_t wave,
                        std::optional<execution_phase> from, execution_phase to) {
    thread_local std::string key;
    build_key(key, "w", task, be32(wave));
    wave_row* w = tx.edit_row<wave_row>(key);
    if (!w) w = &tx.put_row(key, wave_row{});
    w->in_phase.resize(phase_count, 0);
    if (from) {
      auto& f = w->in_phase[static_cast<std::size_t>(*from)];
      if (f > 0) --f;
    }
    ++w->in_phase[static_cast<std::size_t>(to)];
  }
};

// ---------------------------------------------------------------------------
// fleet

domain::device_state to_state(const fleet_row& r) {
  domain::device_state d;
  d.id = r.device;
  d.registered = true;
  d.product = r.product;
  d.name = r.name;
  d.imei = r.imei;
  d.mac = r.mac;
  d.region = r.region;
  d.fota_version = r.fota_version;
  d.sota_version = r.sota_version;
  d.online = r.online;
  d.signal = r.signal;
  d.battery = r.battery;
  d.registered_at = r.registered_at;
  return d;
}

fleet_row to_row(const domain::device_state& d, base::timestamp last_seen) {
  fleet_row r;
  r.device = d.id;
  r.product = d.product;
  r.name = d.name;
  r.imei = d.imei;
  r.mac = d.mac;
  r.region = d.region;
  r.fota_version = d.fota_version;
  r.sota_version = d.sota_version;
  r.online = d.online;
  r.signal = d.signal;
  r.battery = d.battery;
  r.registered_at = d.registered_at;
  r.last_seen = last_seen;
  return r;
}

class fleet_view final : public projection {
public:
  std::string_view name() const override { return "fleet"; }
  bool wants(std::string_view type) const override { return type.starts_with("device."); }
  void apply(view_txn& tx, const envelope& env, const event* ev) const override {
    const std::string id = std::visit(
        [](const auto& e) -> std::string {
          if constexpr (requires { e.device; }) return e.device;
          return {};
        },
        *ev);
    auto key = make_key("d", id);
    auto old = tx.get_row<fleet_row>(key);
    domain::device_state d = old ? to_state(*old) : domain::device_state{};
    d = domain::evolve(std::move(d), *ev);
    if (!d.registered) return;
    fleet_row row = to_row(d, env.time);
    auto add = [&](std::string k, std::int64_t by) {
      auto c = tx.get_row<count_row>(k).value_or(count_row{});
      c.count = by < 0 && c.count == 0 ? 0 : c.count + static_cast<std::uint64_t>(by);
      if (c.count == 0)
        tx.erase(std::move(k));
      else
        tx.put_row(std::move(k), c);
    };
    auto version_key = [&](const fleet_row& r, firmware_kind k) {
      return make_key("v", r.product, enum_name(k),
                      k == firmware_kind::fota ? r.fota_version : r.sota_version);
    };
    auto counts_key = make_key("c", row.product);
    auto counts = tx.get_row<product_counts_row>(counts_key).value_or(product_counts_row{});
    if (!old) {
      ++counts.devices;
      tx.put(make_key("p", row.product, row.device), {});
    }
    const bool was_online = old && old->online;
    if (row.online != was_online) {
      if (row.online)
        ++counts.online;
      else if (counts.online > 0)
        --counts.online;
    }
    for (auto k : {firmware_kind::fota, firmware_kind::sota}) {
      const auto& now = k == firmware_kind::fota ? row.fota_version : row.sota_version;
      const std::string* then = nullptr;
      if (old) then = k == firmware_kind::fota ? &old->fota_version : &old->sota_version;
      if (then && *then == now) continue;
      if (then && !then->empty()) add(version_key(*old, k), -1);
      if (!now.empty()) add(version_key(row, k), 1);
    }
    tx.put_row(std::move(counts_key), counts);
    tx.put_row(std::move(key), row);
  }
};

// ---------------------------------------------------------------------------
// catalog

domain::firmware_state to_state(const firmware_row& r) {
  domain::firmware_state s;
  s.id = r.firmware;
  s.exists = true;
  s.deleted = r.deleted;
  s.product = r.product;
  s.kind = r.kind;
  s.vendor = r.vendor;
  s.model = r.model;
  s.version = r.version;
  s.hardware_code = r.hardware_code;
  s.software_code = r.software_code;
  s.image = r.image;
  s.verification = *enum_from_name<domain::verification_status>(r.verification);
  s.test_device = r.test_device;
  s.verification_note = r.verification_note;
  s.created_at = r.created_at;
  return s;
}

firmware_row to_row(const domain::firmware_state& s, std::uint64_t packages) {
  firmware_row r;
  r.firmware = s.id;
  r.product = s.product;
  r.kind = s.kind;
  r.vendor = s.vendor;
  r.model = s.model;
  r.version = s.version;
  r.hardware_code = s.hardware_code;
  r.software_code = s.software_code;
  r.image = s.image;
  r.verification = std::string{enum_name(s.verification)};
  r.test_device = s.test_device;
  r.verification_note = s.verification_note;
  r.package_count = packages;
  r.deleted = s.deleted;
  r.created_at = s.created_at;
  return r;
}

domain::package_state to_state(const package_row& r) {
  domain::package_state s;
  s.id = r.package;
  s.exists = true;
  s.deleted = r.deleted;
  s.firmware = r.firmware;
  s.kind = r.kind;
  s.vendor = r.vendor;
  s.model = r.model;
  s.target_version = r.target_version;
  s.type = r.type;
  s.initial_version = r.initial_version;
  s.origin = r.origin;
  s.file = r.file;
  s.created_at = r.created_at;
  return s;
}

package_row to_row(const domain::package_state& s) {
  package_row r;
  r.package = s.id;
  r.firmware = s.firmware;
  r.kind = s.kind;
  r.vendor = s.vendor;
  r.model = s.model;
  r.target_version = s.target_version;
  r.type = s.type;
  r.initial_version = s.initial_version;
  r.origin = s.origin;
  r.file = s.file;
  r.deleted = s.deleted;
  r.created_at = s.created_at;
  return r;
}

class catalog_view final : public projection {
public:
  std::string_view name() const override { return "catalog"; }
  bool wants(std::string_view type) const override {
    return type.starts_with("firmware.") || type.starts_with("package.");
  }
  void apply(view_txn& tx, const envelope&, const event* ev) const override {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (requires { e.firmware; } && T::type_name.starts_with("firmware.")) {
            auto key = make_key("f", e.firmware);
            auto old = tx.get_row<firmware_row>(key);
            auto s = domain::evolve(old ? to_state(*old) : domain::firmware_state{}, *ev);
            if (!s.exists) return;
            auto row = to_row(s, old ? old->package_count : 0);
            if (old && !old->deleted)
              tx.erase(make_key("i", old->vendor, old->model, old->version, old->firmware));
            if (!row.deleted)
              tx.put(make_key("i", row.vendor, row.model, row.version, row.firmware), {});
            tx.put_row(std::move(key), row);
          } else if constexpr (requires { e.package; } && T::type_name.starts_with("package.")) {
            auto key = make_key("k", e.package);
            auto old = tx.get_row<package_row>(key);
            auto s = domain::evolve(old ? to_state(*old) : domain::package_state{}, *ev);
            if (!s.exists) return;
            auto row = to_row(s);
            const bool was_live = old && !old->deleted;
            if (was_live != !row.deleted) {
              auto fkey = make_key("f", row.firmware);
              if (auto fw = tx.get_row<firmware_row>(fkey)) {
                if (!row.deleted)
                  ++fw->package_count;
                else if (fw->package_count > 0)
                  --fw->package_count;
                tx.put_row(std::move(fkey), *fw);
              }
            }
            tx.put_row(std::move(key), row);
          }
        },
        *ev);
  }
};

// ---------------------------------------------------------------------------
// groups

class groups_view final : public projection {
public:
  std::string_view name() const override { return "groups"; }
  bool wants(std::string_view type) const override { return type.starts_with("group."); }
  void apply(view_txn& tx, const envelope&, const event* ev) const override {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (requires { e.group; }) {
            auto key = make_key("g", e.group);
            auto row = tx.get_row<group_row>(key);
            if constexpr (std::is_same_v<T, group_created>) {
              row.emplace();
              row->group = e.group;
              row->name = e.name;
              row->description = e.description;
              tx.put(make_key("n", lower(row->name), row->group), {});
            } else {
              if (!row) return;
              if constexpr (std::is_same_v<T, group_edited>) {
                tx.erase(make_key("n", lower(row->name), row->group));
                row->name = e.name;
                row->description = e.description;
                if (!row->deleted) tx.put(make_key("n", lower(row->name), row->group), {});
              } else if constexpr (std::is_same_v<T, group_deleted>) {
                tx.erase(make_key("n", lower(row->name), row->group));
                row->deleted = true;
              } else if constexpr (std::is_same_v<T, group_devices_added>) {
                for (const auto& d : e.devices) {
                  auto mkey = make_key("m", e.group, d);
                  if (tx.get(mkey)) continue;
                  tx.put(std::move(mkey), {});
                  ++row->members;
                }
              } else if constexpr (std::is_same_v<T, group_devices_removed>) {
                for (const auto& d : e.devices) {
                  auto mkey = make_key("m", e.group, d);
                  if (!tx.get(mkey)) continue;
                  tx.erase(std::move(mkey));
                  if (row->members > 0) --row->members;
                }
              }
            }
            tx.put_row(std::move(key), *row);
          }
        },
        *ev);
  }
};

// ---------------------------------------------------------------------------
// audit

class audit_view final : public projection {
public:
  std::string_view name() const override { return "audit"; }
  bool wants(std::string_view) const override { return true; }
  bool needs_event() const override { return false; }
  void apply(view_txn& tx, const envelope& env, const event*) const override {
    if (env.meta.correlation.empty()) return;
    std::string key;
    key.reserve(env.meta.correlation.size() + 12);
    key.append("c");
    key.push_back('\0');
    key.append(env.meta.correlation);
    key.push_back('\0');
    char b[8];
    auto p = env.position();
    for (int i = 7; i >= 0; --i) {
      b[i] = static_cast<char>(p & 0xFF);
      p >>= 8;
    }
    key.append(b, 8);
    // Positions are unique: the key is new, and the fold never reads it.
    tx.append(std::move(key));
  }
};

} // namespace

namespace internal {
task_row to_row(const domain::task_state& s) {
  return projections::to_row(s);
}
fleet_row to_row(const domain::device_state& d, base::timestamp last_seen) {
  return projections::to_row(d, last_seen);
}
execution_row to_row(const domain::execution_state& x, std::string_view device) {
  execution_row r;
  r.device = std::string{device};
  r.task = x.task;
  from_state(x, r);
  return r;
}
firmware_row to_row(const domain::firmware_state& s, std::uint64_t packages) {
  return projections::to_row(s, packages);
}
package_row to_row(const domain::package_state& s) {
  return projections::to_row(s);
}
} // namespace internal

const std::vector<std::string_view>& view_names() {
  static const std::vector<std::string_view> names = {"tasks",   "executions", "fleet",
                                                      "catalog", "groups",     "audit"};
  return names;
}

std::unique_ptr<projection> make_view(std::string_view name) {
  if (name == "tasks") return std::make_unique<tasks_view>();
  if (name == "executions") return std::make_unique<executions_view>();
  if (name == "fleet") return std::make_unique<fleet_view>();
  if (name == "catalog") return std::make_unique<catalog_view>();
  if (name == "groups") return std::make_unique<groups_view>();
  if (name == "audit") return std::make_unique<audit_view>();
  return nullptr;
}

std::vector<std::unique_ptr<projection>> make_all_views() {
  std::vector<std::unique_ptr<projection>> out;
  for (auto n : view_names())
    out.push_back(make_view(n));
  return out;
}

} // namespace otaledger::projections
