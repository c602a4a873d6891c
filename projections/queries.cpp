#include "projections/queries.hpp"

#include "domain/task.hpp"
#include "projections/internal/errors.hpp"
#include "projections/projector.hpp"
#include "projections/view.hpp"
#include "storage/errc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>

namespace otaledger::projections {

using namespace events;
using internal::invalid;

namespace {

constexpr std::size_t max_limit = 1000;

std::string to_hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

result<std::string> from_hex(std::string_view s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (s.size() % 2) return invalid(fmt::format("cursor '{}' is not one this server gave", s));
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    int a = nib(s[i]), b = nib(s[i + 1]);
    if (a < 0 || b < 0) return invalid(fmt::format("cursor '{}' is not one this server gave", s));
    out.push_back(static_cast<char>(a * 16 + b));
  }
  return out;
}

result<void> check_limit(const page_request& p) {
  if (p.limit == 0 || p.limit > max_limit)
    return invalid(fmt::format("limit {} is out of range (1..{})", p.limit, max_limit));
  return outcome::success();
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The last NUL-separated component of a key.
std::string_view last_part(std::string_view key) {
  auto i = key.rfind('\0');
  return i == std::string_view::npos ? key : key.substr(i + 1);
}

/// Pages through keys of `space` starting with `prefix`, after the cursor,
/// calling `take(key, value)` (returns whether it produced an item) until
/// `limit` items, the end, or the scan budget. Returns the next cursor.
result<std::string>
scan_items(storage::kv_store& kv, std::string_view space, std::string_view prefix,
           const page_request& p,
           const std::function<result<bool>(const std::string&, const std::string&)>& take) {
  OTA_TRYV(check_limit(p));
  std::string after;
  if (!p.cursor.empty()) {
    OTA_TRY(k, from_hex(p.cursor));
    if (!std::string_view{k}.starts_with(prefix))
      return invalid(fmt::format("cursor '{}' belongs to another list", p.cursor));
    after = std::move(k);
  }
  std::size_t items = 0, scanned = 0;
  for (;;) {
    const std::size_t want = std::min<std::size_t>(queries::scan_budget - scanned,
                                                   std::max<std::size_t>(p.limit - items + 1, 64));
    OTA_TRY(pg, kv.scan(space, storage::scan_range{prefix, after, {}}, want));
    for (std::size_t i = 0; i < pg.rows.size(); ++i) {
      const auto& [k, v] = pg.rows[i];
      if (items == p.limit) return to_hex(after); // more rows exist: k
      OTA_TRY(took, take(k, v));
      if (took) ++items;
      after = k;
      ++scanned;
    }
    if (!pg.more) return std::string{};
    if (scanned >= queries::scan_budget) return to_hex(after);
  }
}

template <class Row>
result<std::optional<Row>> get_row(storage::kv_store& kv, std::string_view space,
                                   std::string_view key) {
  OTA_TRY(v, kv.get(space, key));
  if (!v) return std::optional<Row>{};
  OTA_TRY(r, decode_binary<Row>(*v));
  return std::optional<Row>{std::move(r)};
}

} // namespace

result<std::string> queries::space(std::string_view view) const {
  if (auto i = at_.find(std::string{view}); i != at_.end()) return i->second;
  return live_space(*kv_, view);
}

// ---------------------------------------------------------------------------
// tasks

result<std::optional<task_item>> queries::task(std::string_view id) const {
  OTA_TRY(sp, space("tasks"));
  OTA_TRY(row, get_row<task_row>(*kv_, sp, make_key("t", id)));
  if (!row) return std::optional<task_item>{};
  task_item t;
  t.task = std::move(*row);
  OTA_TRY(ex, space("executions"));
  OTA_TRY(p, get_row<progress_row>(*kv_, ex, make_key("c", id)));
  if (p) {
    t.succeeded = p->in_phase.size() > 7
                      ? p->in_phase[static_cast<std::size_t>(execution_phase::succeeded)]
                      : 0;
    t.targets = p->total;
  }
  if (t.task.targets_total) t.targets = std::max(t.targets, *t.task.targets_total);
  return std::optional<task_item>{std::move(t)};
}

result<page<task_item>> queries::tasks(const task_filter& f, const page_request& p) const {
  OTA_TRY(sp, space("tasks"));
  if (!f.status.empty() &&
      (f.status == "deleted" || !enum_from_name<domain::task_status>(f.status)))
    return invalid(fmt::format("status '{}' is not one of not_started, upgrading, paused, "
                               "stopped, completed",
                               f.status));
  page<task_item> out;
  std::string prefix;
  if (!f.status.empty())
    prefix = make_key("s", f.status) + std::string(1, '\0');
  else if (!f.name_prefix.empty())
    prefix = make_key("n", lower(f.name_prefix));
  else
    prefix = std::string("t") + std::string(1, '\0');
  const std::string name = lower(f.name_prefix);
  OTA_TRY(next, scan_items(*kv_, sp, prefix, p,
                           [&](const std::string& k, const std::string& v) -> result<bool> {
                             std::optional<task_item> t;
                             if (prefix[0] == 't') {
                               OTA_TRY(row, decode_binary<task_row>(v));
                               if (row.status == "deleted") return false;
                               OTA_TRY(it, task(row.task));
                               t = std::move(it);
                             } else {
                               OTA_TRY(it, task(last_part(k)));
                               t = std::move(it);
                             }
                             if (!t) return false;
                             if (!name.empty() && !lower(t->task.name).starts_with(name))
                               return false;
                             out.items.push_back(std::move(*t));
                             return true;
                           }));
  out.next = std::move(next);
  return out;
}

result<std::optional<task_progress>> queries::progress(std::string_view task) const {
  OTA_TRY(ex, space("executions"));
  OTA_TRY(c, get_row<progress_row>(*kv_, ex, make_key("c", task)));
  if (!c) return std::optional<task_progress>{};
  task_progress p;
  p.task = std::string{task};
  p.counters = std::move(*c);
  p.counters.in_phase.resize(11, 0);
  auto n = [&](execution_phase ph) { return p.counters.in_phase[static_cast<std::size_t>(ph)]; };
  p.not_upgraded = n(execution_phase::pending);
  p.succeeded = n(execution_phase::succeeded);
  p.failed = n(execution_phase::failed);
  p.canceled = n(execution_phase::canceled);
  for (auto ph : {execution_phase::queued, execution_phase::deferred, execution_phase::notified,
                  execution_phase::downloading, execution_phase::downloaded,
                  execution_phase::installing, execution_phase::retry_wait})
    p.in_progress += n(ph);
  // Waves: a task has few; page through them all.
  const std::string prefix = make_key("w", task) + std::string(1, '\0');
  std::string after;
  for (;;) {
    OTA_TRY(pg, kv_->scan(ex, storage::scan_range{prefix, after, {}}, 256));
    for (auto& [k, v] : pg.rows) {
      OTA_TRY(w, decode_binary<wave_row>(v));
      auto b = std::string_view{k}.substr(prefix.size());
      std::uint32_t num = 0;
      for (unsigned char ch : b)
        num = (num << 8) | ch;
      p.waves.emplace_back(num, std::move(w));
      after = k;
    }
    if (!pg.more) break;
  }
  return std::optional<task_progress>{std::move(p)};
}

result<page<device_status_item>> queries::device_status(std::string_view task,
                                                        const device_status_filter& f,
                                                        const page_request& p) const {
  // Executions from the executions view; each device's name, MAC and
  // state from the fleet view, which also holds the MAC index.
  OTA_TRY(ex, space("executions"));
  OTA_TRY(fl, space("fleet"));
  page<device_status_item> out;
  auto add = [&](std::string_view device, std::optional<execution_row> row) -> result<bool> {
    if (!row) {
      OTA_TRY(r, get_row<execution_row>(*kv_, ex, make_key("t", task, device)));
      if (!r) return false;
      row = std::move(r);
    }
    if (f.phase && row->phase != *f.phase) return false;
    device_status_item item;
    item.execution = std::move(*row);
    // (`device` may view the moved row's string: the row's own copy is read.)
    OTA_TRY(d, get_row<fleet_row>(*kv_, fl, make_key("d", item.execution.device)));
    if (d) item.device = {std::move(d->name), std::move(d->mac), std::move(d->imei), d->online};
    out.items.push_back(std::move(item));
    return true;
  };
  const bool by_mac = f.search.find(':') != std::string::npos;
  std::string prefix;
  if (by_mac)
    prefix = make_key("m", lower(f.search));
  else if (f.phase)
    prefix = make_key("x", task, enum_name(*f.phase)) + std::string(1, '\0') + f.search;
  else
    prefix = make_key("t", task) + std::string(1, '\0') + f.search;
  OTA_TRY(next, scan_items(*kv_, by_mac ? fl : ex, prefix, p,
                           [&](const std::string& k, const std::string& v) -> result<bool> {
                             if (prefix[0] == 't') {
                               OTA_TRY(row, decode_binary<execution_row>(v));
                               return add(row.device, std::move(row));
                             }
                             return add(last_part(k), std::nullopt);
                           }));
  out.next = std::move(next);
  return out;
}

// ---------------------------------------------------------------------------
// fleet

result<std::optional<fleet_row>> queries::device(std::string_view id) const {
  OTA_TRY(sp, space("fleet"));
  return get_row<fleet_row>(*kv_, sp, make_key("d", id));
}

result<page<fleet_row>> queries::fleet(const fleet_filter& f, const page_request& p) const {
  OTA_TRY(sp, space("fleet"));
  page<fleet_row> out;
  const bool by_product = !f.product.empty();
  const std::string prefix =
      by_product ? make_key("p", f.product) + std::string(1, '\0') : std::string("d") + '\0';
  OTA_TRY(next, scan_items(*kv_, sp, prefix, p,
                           [&](const std::string& k, const std::string& v) -> result<bool> {
                             std::optional<fleet_row> row;
                             if (by_product) {
                               OTA_TRY(r,
                                       get_row<fleet_row>(*kv_, sp, make_key("d", last_part(k))));
                               row = std::move(r);
                             } else {
                               OTA_TRY(r, decode_binary<fleet_row>(v));
                               row = std::move(r);
                             }
                             if (!row || (f.online && row->online != *f.online)) return false;
                             out.items.push_back(std::move(*row));
                             return true;
                           }));
  out.next = std::move(next);
  return out;
}

result<product_summary> queries::fleet_summary(std::string_view product) const {
  OTA_TRY(sp, space("fleet"));
  product_summary s;
  s.product = std::string{product};
  OTA_TRY(c, get_row<product_counts_row>(*kv_, sp, make_key("c", product)));
  if (c) s.counts = *c;
  const std::string prefix = make_key("v", product) + std::string(1, '\0');
  std::string after;
  for (;;) {
    OTA_TRY(pg, kv_->scan(sp, storage::scan_range{prefix, after, {}}, 1024));
    for (auto& [k, v] : pg.rows) {
      OTA_TRY(n, decode_binary<count_row>(v));
      auto rest = std::string_view{k}.substr(prefix.size());
      auto z = rest.find('\0');
      product_summary::version_count vc;
      vc.kind = enum_from_name<firmware_kind>(rest.substr(0, z)).value_or(firmware_kind::fota);
      vc.version = std::string{rest.substr(z + 1)};
      vc.devices = n.count;
      s.versions.push_back(std::move(vc));
      after = k;
    }
    if (!pg.more) break;
  }
  return s;
}

// ---------------------------------------------------------------------------
// catalog and groups

result<page<firmware_row>> queries::firmware(const firmware_filter& f,
                                             const page_request& p) const {
  OTA_TRY(sp, space("catalog"));
  if (!f.model.empty() && f.vendor.empty()) return invalid("a model filter needs a vendor");
  if (!f.version_prefix.empty() && f.model.empty())
    return invalid("a version filter needs a vendor and a model");
  std::string prefix = "i";
  prefix.push_back('\0');
  if (!f.vendor.empty()) {
    prefix += f.vendor;
    prefix.push_back('\0');
    if (!f.model.empty()) {
      prefix += f.model;
      prefix.push_back('\0');
      prefix += f.version_prefix;
    }
  }
  page<firmware_row> out;
  OTA_TRY(next, scan_items(*kv_, sp, prefix, p,
                           [&](const std::string& k, const std::string&) -> result<bool> {
                             OTA_TRY(r,
                                     get_row<firmware_row>(*kv_, sp, make_key("f", last_part(k))));
                             if (!r) return false;
                             out.items.push_back(std::move(*r));
                             return true;
                           }));
  out.next = std::move(next);
  return out;
}

result<std::optional<package_row>> queries::package(std::string_view id) const {
  OTA_TRY(sp, space("catalog"));
  return get_row<package_row>(*kv_, sp, make_key("k", id));
}

result<page<package_row>> queries::packages(std::string_view firmware,
                                            const page_request& p) const {
  OTA_TRY(sp, space("catalog"));
  page<package_row> out;
  const std::string prefix = make_key("k", "");
  OTA_TRY(next, scan_items(*kv_, sp, prefix, p,
                           [&](const std::string&, const std::string& v) -> result<bool> {
                             OTA_TRY(r, decode_binary<package_row>(v));
                             if (r.deleted || (!firmware.empty() && r.firmware != firmware))
                               return false;
                             out.items.push_back(std::move(r));
                             return true;
                           }));
  out.next = std::move(next);
  return out;
}

result<page<group_row>> queries::groups(std::string_view name_prefix, const page_request& p) const {
  OTA_TRY(sp, space("groups"));
  page<group_row> out;
  const std::string prefix = make_key("n", lower(name_prefix));
  OTA_TRY(next, scan_items(*kv_, sp, prefix, p,
                           [&](const std::string& k, const std::string&) -> result<bool> {
                             OTA_TRY(r, get_row<group_row>(*kv_, sp, make_key("g", last_part(k))));
                             if (!r || r->deleted) return false;
                             out.items.push_back(std::move(*r));
                             return true;
                           }));
  out.next = std::move(next);
  return out;
}

result<page<group_member>> queries::group_members(std::string_view group,
                                                  const page_request& p) const {
  OTA_TRY(sp, space("groups"));
  OTA_TRY(fl, space("fleet"));
  page<group_member> out;
  const std::string prefix = make_key("m", group) + std::string(1, '\0');
  OTA_TRY(next, scan_items(*kv_, sp, prefix, p,
                           [&](const std::string& k, const std::string&) -> result<bool> {
                             group_member m;
                             m.device = std::string{last_part(k)};
                             OTA_TRY(info, get_row<fleet_row>(*kv_, fl, make_key("d", m.device)));
                             m.info = std::move(info);
                             out.items.push_back(std::move(m));
                             return true;
                           }));
  out.next = std::move(next);
  return out;
}

// ---------------------------------------------------------------------------
// audit

result<page<envelope>> queries::audit_stream(storage::event_store& log, std::string_view stream,
                                             const page_request& p) {
  OTA_TRYV(check_limit(p));
  std::uint64_t from = 1;
  if (!p.cursor.empty()) {
    try {
      std::size_t used = 0;
      from = std::stoull(p.cursor, &used) + 1;
      if (used != p.cursor.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return invalid(fmt::format("cursor '{}' is not a stream version", p.cursor));
    }
  }
  auto rows = log.read_stream(stream, stream_version{from}, p.limit + 1);
  if (!rows) return internal::fail_with(rows.error(), storage::error_detail());
  page<envelope> out;
  out.items = std::move(rows).value();
  if (out.items.size() > p.limit) {
    out.items.resize(p.limit);
    out.next = std::to_string(out.items.back().version());
  }
  return out;
}

result<page<envelope>> queries::audit_correlation(storage::event_store& log,
                                                  std::string_view correlation,
                                                  const page_request& p) const {
  // Rows are blocks of positions (views.hpp audit_block); the cursor is the
  // hex of "c\0<correlation>\0<be64 last position returned>".
  OTA_TRYV(check_limit(p));
  OTA_TRY(sp, space("audit"));
  const std::string prefix = make_key("c", correlation) + std::string(1, '\0');
  auto be64_at = [](std::string_view b) {
    std::uint64_t v = 0;
    for (unsigned char ch : b.substr(0, 8))
      v = (v << 8) | ch;
    return v;
  };
  std::uint64_t after = 0; // positions <= after were returned by earlier pages
  if (!p.cursor.empty()) {
    OTA_TRY(k, from_hex(p.cursor));
    if (!std::string_view{k}.starts_with(prefix) || k.size() != prefix.size() + 8)
      return invalid(fmt::format("cursor '{}' belongs to another list", p.cursor));
    after = be64_at(std::string_view{k}.substr(prefix.size()));
  }
  page<envelope> out;
  std::uint64_t last = 0;
  bool full = false;
  // Takes the positions of one block row; false once the page is full.
  auto take = [&](const std::string& key, const std::string& value) -> result<bool> {
    if (value.empty())
      return internal::fail_with(
          make_error_code(storage::errc::corruption),
          fmt::format("audit view: correlation '{}' has a row of the old one-key-per-event layout "
                      "(view format 1); run 'otaledger rebuild audit'",
                      correlation));
    if (key.size() != prefix.size() + 8 || value.size() % 2 != 0)
      return internal::fail_with(
          make_error_code(storage::errc::corruption),
          fmt::format("audit view: a malformed row for correlation '{}'", correlation));
    const std::uint64_t block = be64_at(std::string_view{key}.substr(prefix.size()));
    for (std::size_t i = 0; i < value.size(); i += 2) {
      const std::uint64_t pos = block + (static_cast<unsigned char>(value[i]) << 8 |
                                         static_cast<unsigned char>(value[i + 1]));
      if (pos <= after) continue;
      if (out.items.size() == p.limit) {
        full = true;
        return false;
      }
      auto e = log.read_all(log_position{pos}, 1);
      if (!e) return internal::fail_with(e.error(), storage::error_detail());
      if (e.value().empty()) continue;
      out.items.push_back(std::move(e.value().front()));
      last = pos;
    }
    return true;
  };
  std::string from; // scan after this key ("": from the first block)
  if (after > 0) {
    // The cursor's own block first, then the blocks after it.
    from = prefix;
    for (int i = 7; i >= 0; --i)
      from.push_back(static_cast<char>(((after - after % audit_block) >> (8 * i)) & 0xFF));
    OTA_TRY(row, kv_->get(sp, from));
    if (row) {
      OTA_TRYV(take(from, *row));
    }
  }
  while (!full) {
    OTA_TRY(pg, kv_->scan(sp, storage::scan_range{prefix, from, {}}, 16));
    for (auto& [k, v] : pg.rows) {
      OTA_TRY(more, take(k, v));
      if (!more) break;
      from = k;
    }
    if (!pg.more) break;
  }
  if (full) {
    std::string k = prefix;
    for (int i = 7; i >= 0; --i)
      k.push_back(static_cast<char>((last >> (8 * i)) & 0xFF));
    out.next = to_hex(k);
  }
  return out;
}

// ---------------------------------------------------------------------------
// JSON

json to_json(const task_item& t) {
  json j = to_json_value(t.task);
  j["succeeded"] = t.succeeded;
  j["targets"] = t.targets;
  j["success_rate"] = fmt::format("{}/{}", t.succeeded, t.targets);
  return j;
}

json to_json(const task_progress& p) {
  json j = json::object();
  j["task"] = p.task;
  j["not_upgraded"] = p.not_upgraded;
  j["in_progress"] = p.in_progress;
  j["succeeded"] = p.succeeded;
  j["failed"] = p.failed;
  j["canceled"] = p.canceled;
  j["total"] = p.counters.total;
  json phases = json::object();
  auto names = enum_names(execution_phase{});
  for (std::size_t i = 0; i < names.size() && i < p.counters.in_phase.size(); ++i)
    phases[std::string{names[i]}] = p.counters.in_phase[i];
  j["phases"] = phases;
  j["wave"] = p.counters.wave;
  json waves = json::array();
  for (auto& [n, w] : p.waves) {
    json wj = json::object();
    wj["wave"] = n;
    for (std::size_t i = 0; i < names.size() && i < w.in_phase.size(); ++i)
      wj[std::string{names[i]}] = w.in_phase[i];
    waves.push_back(wj);
  }
  j["waves"] = waves;
  return j;
}

json to_json(const device_status_item& d) {
  json j = to_json_value(d.execution);
  j["name"] = d.device.name;
  j["mac"] = d.device.mac;
  j["online"] = d.device.online;
  return j;
}

json to_json(const product_summary& s) {
  json j = json::object();
  j["product"] = s.product;
  j["devices"] = s.counts.devices;
  j["online"] = s.counts.online;
  json v = json::array();
  for (auto& x : s.versions)
    v.push_back(json{
        {"kind", std::string{enum_name(x.kind)}}, {"version", x.version}, {"devices", x.devices}});
  j["versions"] = v;
  return j;
}

json to_json(const group_member& m) {
  json j = json::object();
  j["device"] = m.device;
  if (m.info) {
    j["name"] = m.info->name;
    j["imei"] = m.info->imei;
    j["fota_version"] = m.info->fota_version;
    j["sota_version"] = m.info->sota_version;
  }
  return j;
}

result<json> to_json(const envelope& e) {
  return envelope_to_json(e);
}

} // namespace otaledger::projections
