#include "projections/views.hpp"

#include "base/bytes.hpp"
#include "domain/device.hpp"
#include "domain/firmware.hpp"
#include "domain/package.hpp"
#include "domain/rollout.hpp"
#include "domain/task.hpp"
#include "projections/internal/convert.hpp"
#include "projections/rows.hpp"
#include "storage/kv_store.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <map>

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
  void apply(view_txn& tx, const envelope_view&, const event* ev) const override {
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

/// The execution fields of `from` into `to` (an execution_row or a
/// domain::execution_state, either way) but its strings: task, note, version.
template <class From, class To> void copy_scalars(const From& from, To& to) {
  to.phase = from.phase;
  to.attempt = from.attempt;
  to.round_start = from.round_start;
  to.percent = from.percent;
  to.held = from.held;
  to.cancel_requested = from.cancel_requested;
  to.install_released = from.install_released;
  to.deferred_for = from.deferred_for;
  to.in_progress_since = from.in_progress_since;
  to.retry_at = from.retry_at;
  to.failure = from.failure;
}

void swap_strings(execution_row& r, domain::execution_state& x) {
  x.task.swap(r.task);
  x.note.swap(r.note);
  x.version.swap(r.version);
}

/// The domain's own fold of one execution (domain::evolve_execution) on
/// `r`, through `x` (reused): the strings are swapped in and back, never
/// copied, so nothing is allocated or copied per event but the scalars.
void evolve_row(execution_row& r, domain::execution_state& x, const event& ev) {
  copy_scalars(r, x);
  swap_strings(r, x);
  domain::evolve_execution(x, ev);
  swap_strings(r, x);
  copy_scalars(x, r);
}

void from_state(const domain::execution_state& x, execution_row& r) {
  copy_scalars(x, r);
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

/// A task's progress as the columnar fold keeps it: the domain's counters
/// and the open wave, made a progress_row only when written (the live fold
/// keeps the row itself, converted per event).
struct progress_counters {
  domain::rollout_counters counters;
  std::uint32_t wave = 0;
};

std::uint64_t assigned(const progress_row& p) {
  return p.total;
}
std::uint64_t assigned(const progress_counters& p) {
  return p.counters.total;
}
/// The progress after one execution event (domain::rollout_counters::apply).
void count(progress_row& p, const event& ev) {
  auto counters = to_counters(p);
  counters.apply(ev);
  from_counters(counters, p);
}
void count(progress_counters& p, const event& ev) {
  p.counters.apply(ev);
}

// ---------------------------------------------------------------------------
// columnar folds: shared pieces

constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

using base::load64;

/// Sorts `ids` by the bytes of name(id), then by tie(id): on the 16 bytes
/// after the prefix every name shares (two big-endian words, compared as
/// integers), and only names equal there on the rest.
template <class Name, class Tie>
void sort_by_bytes(std::vector<std::uint32_t>& ids, Name&& name, Tie&& tie) {
  if (ids.empty()) return;
  const std::string_view first = name(ids[0]);
  std::size_t skip = first.size();
  for (auto id : ids) {
    const std::string_view n = name(id);
    std::size_t i = 0;
    const std::size_t m = std::min(skip, n.size());
    while (i < m && n[i] == first[i])
      ++i;
    skip = i;
  }
  struct item {
    std::uint64_t w0, w1;
    std::uint32_t id;
  };
  std::vector<item> items;
  items.reserve(ids.size());
  for (auto id : ids) {
    const std::string_view n = name(id);
    char b[16] = {};
    if (n.size() > skip)
      std::memcpy(b, n.data() + skip, std::min<std::size_t>(16, n.size() - skip));
    items.push_back({__builtin_bswap64(load64(b)), __builtin_bswap64(load64(b + 8)), id});
  }
  std::sort(items.begin(), items.end(), [&](const item& a, const item& b) {
    if (a.w0 != b.w0) return a.w0 < b.w0;
    if (a.w1 != b.w1) return a.w1 < b.w1;
    const std::string_view x = name(a.id), y = name(b.id);
    if (x != y) return x < y;
    return tie(a.id) < tie(b.id);
  });
  for (std::size_t i = 0; i < items.size(); ++i)
    ids[i] = items[i].id;
}

/// A column: a vector whose items never move. It grows by blocks of 4,096
/// items instead of doubling, so growing never copies a million rows (nor
/// holds the old and the new copy at once). A block is raw memory: each item
/// is constructed once, when added (not built empty with its block, then
/// assigned).
template <class T> class column {
public:
  column() = default;
  column(const column&) = delete;
  column& operator=(const column&) = delete;
  ~column() {
    for (std::size_t i = 0; i < size_; ++i)
      (*this)[i].~T();
  }
  T& operator[](std::size_t i) noexcept { return *std::launder(reinterpret_cast<T*>(at(i))); }
  const T& operator[](std::size_t i) const noexcept {
    return *std::launder(reinterpret_cast<const T*>(at(i)));
  }
  std::size_t size() const noexcept { return size_; }
  T& back() noexcept { return (*this)[size_ - 1]; }
  template <class... A> T& emplace_back(A&&... a) {
    if ((size_ & mask) == 0) blocks_.emplace_back(new block); // not zeroed
    T* t = ::new (static_cast<void*>(at(size_))) T{std::forward<A>(a)...};
    ++size_;
    return *t;
  }

private:
  static constexpr std::size_t shift = 12, mask = (std::size_t{1} << shift) - 1;
  struct block {
    alignas(T) std::byte bytes[(mask + 1) * sizeof(T)];
  };
  std::byte* at(std::size_t i) const noexcept {
    return blocks_[i >> shift]->bytes + (i & mask) * sizeof(T);
  }
  std::vector<std::unique_ptr<block>> blocks_;
  std::size_t size_ = 0;
};

/// Dense ids (0, 1, ...) for strings: an open-addressing table of
/// (32-bit hash tag, id + 1) words, one probe sequence per lookup; the last
/// id found is checked first (consecutive events often share an id).
class interner {
public:
  /// The id of `s`; a new id when `s` was never seen (`added` tells).
  std::uint32_t intern(std::string_view s, bool& added) {
    added = false;
    if (last_ != none && base::short_equal(names_[last_], s)) return last_;
    const std::uint64_t h = key_hash(s);
    if (!index_.empty()) {
      const std::size_t mask = index_.size() - 1;
      for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        const std::uint64_t w = index_[i];
        if (w == 0) break;
        if ((w >> 32) == (h >> 32)) {
          const auto id = static_cast<std::uint32_t>((w & 0xFFFFFFFFu) - 1);
          if (base::short_equal(names_[id], s)) return last_ = id;
        }
      }
    }
    if ((names_.size() + 1) * 2 > index_.size()) grow();
    const std::size_t mask = index_.size() - 1;
    std::size_t i = h & mask;
    while (index_[i] != 0)
      i = (i + 1) & mask;
    names_.emplace_back(s);
    hashes_.emplace_back(h);
    index_[i] = ((h >> 32) << 32) | names_.size();
    added = true;
    return last_ = static_cast<std::uint32_t>(names_.size() - 1);
  }
  std::uint32_t intern(std::string_view s) {
    bool added;
    return intern(s, added);
  }
  /// Starts loading the index word a lookup of a string hashed `h` reads first.
  void prefetch(std::uint64_t h) const noexcept {
    if (!index_.empty()) __builtin_prefetch(&index_[h & (index_.size() - 1)]);
  }
  /// The id of `s` (hashed `h`), or `none` when it was never interned.
  std::uint32_t find(std::string_view s, std::uint64_t h) const {
    if (index_.empty()) return none;
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::uint64_t w = index_[i];
      if (w == 0) return none;
      if ((w >> 32) == (h >> 32)) {
        const auto id = static_cast<std::uint32_t>((w & 0xFFFFFFFFu) - 1);
        if (base::short_equal(names_[id], s)) return id;
      }
    }
  }
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const noexcept { return names_.size(); }

  /// Every id, in bytewise order of the strings.
  std::vector<std::uint32_t> sorted() const {
    std::vector<std::uint32_t> ids(names_.size());
    for (std::uint32_t id = 0; id < ids.size(); ++id)
      ids[id] = id;
    sort_by_bytes(
        ids, [&](std::uint32_t id) -> std::string_view { return names_[id]; },
        [](std::uint32_t) { return 0u; });
    return ids;
  }
  /// rank[id] = the id's place in sorted().
  static std::vector<std::uint32_t> ranks(const std::vector<std::uint32_t>& order) {
    std::vector<std::uint32_t> r(order.size());
    for (std::uint32_t i = 0; i < order.size(); ++i)
      r[order[i]] = i;
    return r;
  }

private:
  void grow() {
    std::vector<std::uint64_t> bigger(index_.empty() ? 1024 : index_.size() * 2, 0);
    const std::size_t mask = bigger.size() - 1;
    for (std::size_t id = 0; id < names_.size(); ++id) {
      const std::uint64_t h = hashes_[id];
      std::size_t i = h & mask;
      while (bigger[i] != 0)
        i = (i + 1) & mask;
      bigger[i] = ((h >> 32) << 32) | (id + 1);
    }
    index_.swap(bigger);
  }

  // In columns: a million names never relocated (nor held twice) as they grow.
  column<std::string> names_;
  column<std::uint64_t> hashes_;
  std::vector<std::uint64_t> index_;
  std::uint32_t last_ = none;
};

/// The dense id of `key` in `names`, growing `columns` (one entry per id) when
/// the key is new.
template <class Col>
std::uint32_t column_id(interner& names, column<Col>& columns, std::string_view key) {
  bool added;
  const auto id = names.intern(key, added);
  if (added) columns.emplace_back();
  return id;
}

/// The device an event is about ("" when none).
std::string_view device_of(const event& ev) {
  return std::visit(
      [](const auto& e) -> std::string_view {
        if constexpr (requires { e.device; }) return e.device;
        return {};
      },
      ev);
}

/// Device ids of a run of events, looked up before the run is folded
/// (columnar_fold::look_ahead) in two passes: every event's index word starts
/// loading, then every id is probed (and its column entry starts loading)
/// while they arrive, so the run's cache misses overlap instead of following
/// one another. A new device is not found then; it is interned when folded.
template <class Col> class device_ids_ahead {
public:
  void look_ahead(const interner& names, const column<Col>& cols,
                  std::span<const envelope_view> page, std::span<const event* const> evs) {
    first_ = page.empty() ? 0 : page.front().position();
    ahead_.resize(page.size());
    for (std::size_t i = 0; i < page.size(); ++i) {
      const std::string_view d = evs[i] ? device_of(*evs[i]) : std::string_view{};
      ahead_[i] = {d, d.empty() ? 0 : key_hash(d), none};
      if (!d.empty()) names.prefetch(ahead_[i].hash);
    }
    for (auto& a : ahead_)
      if (!a.device.empty()) {
        a.id = names.find(a.device, a.hash);
        if (a.id != none) __builtin_prefetch(&cols[a.id]);
      }
  }
  /// Before folding `ev` (at `env`): remembers its id, if it was looked up.
  void at(const envelope_view& env, const event& ev) {
    memo_ = {};
    const std::uint64_t k = env.position() - first_;
    if (env.position() >= first_ && k < ahead_.size() && ahead_[k].id != none &&
        ahead_[k].device == device_of(ev))
      memo_ = ahead_[k];
  }
  /// The id of `device` (interned, growing `cols`, when new): the one looked
  /// up ahead when `device` is the current event's own string.
  std::uint32_t id(interner& names, column<Col>& cols, std::string_view device) const {
    if (memo_.id != none && device.data() == memo_.device.data() &&
        device.size() == memo_.device.size())
      return memo_.id;
    return column_id(names, cols, device);
  }

private:
  struct looked_up {
    std::string_view device;
    std::uint64_t hash = 0;
    std::uint32_t id = none;
  };
  std::vector<looked_up> ahead_; ///< per event of the run
  std::uint64_t first_ = 0;      ///< the run's first position
  looked_up memo_;               ///< the event being folded
};

/// Half `k` (0 or 1) of `ids`: a write part of about half the rows.
std::span<const std::uint32_t> half(const std::vector<std::uint32_t>& ids, std::size_t k) {
  const std::span<const std::uint32_t> all{ids};
  return k == 0 ? all.first(ids.size() / 2) : all.subspan(ids.size() / 2);
}

/// Items keyed (group, device), in key order without a sort of them all:
/// each group (`group_order`: groups in key order) gets a range of
/// `sizes[group]` slots, filled by walking the devices in key order;
/// `items_of(device, put)` calls put(group, item) for each of the device's
/// items (at most one per group).
template <class ItemsOf>
std::vector<std::uint32_t> by_group_then_device(const std::vector<std::uint32_t>& group_order,
                                                const std::vector<std::size_t>& sizes,
                                                const std::vector<std::uint32_t>& device_order,
                                                ItemsOf&& items_of) {
  std::vector<std::size_t> next(sizes.size());
  std::size_t at = 0;
  for (auto g : group_order) {
    next[g] = at;
    at += sizes[g];
  }
  std::vector<std::uint32_t> out(at);
  for (auto d : device_order)
    items_of(d, [&](std::uint32_t group, std::uint32_t item) { out[next[group]++] = item; });
  return out;
}

/// Returns a failed result<void> (usable as one statement anywhere).
#define ROWS_TRY(...)                                                                              \
  do {                                                                                             \
    if (auto r_ = (__VA_ARGS__); !r_) return r_;                                                   \
  } while (0)

/// Writes rows into an ingest from reused buffers.
class row_writer {
public:
  explicit row_writer(storage::ingest_writer& out) : out_(&out) {}
  /// Starts a key with its first component.
  row_writer& key(std::string_view first) {
    key_.assign(first);
    return *this;
  }
  row_writer& part(std::string_view p) {
    key_.push_back('\0');
    key_.append(p);
    return *this;
  }
  template <class Row> result<void> row(const Row& r) {
    value_.clear();
    events::detail::binary_writer w{value_};
    w.write(r);
    return out_->put(key_, value_);
  }
  result<void> empty() { return out_->put(key_, {}); }

private:
  storage::ingest_writer* out_;
  std::string key_, value_;
};

void move_wave(wave_row& w, std::optional<execution_phase> from, execution_phase to) {
  w.in_phase.resize(phase_count, 0);
  if (from) {
    auto& f = w.in_phase[static_cast<std::size_t>(*from)];
    if (f > 0) --f;
  }
  ++w.in_phase[static_cast<std::size_t>(to)];
}

// The executions fold of one event over a row access `R` (the view_txn
// overlay for live folds, columns for fresh ones): the same steps in the same
// order, so both give the same rows.
//
// R provides:
//   P& progress(task)                       the task's progress (P: progress_row or
//                                           progress_counters; new when absent)
//   execution_row& assign(task, device, execution_row)  writes the row (replaces one)
//   execution_row* find_exec(task, device)  the row to change, or nullptr
//   void x_move(task, device, from, to)     the phase index: erase `from` (if any), put `to`
//   wave_row& wave(task, wave)              the wave's row (empty when absent)
template <class R, class E>
void executions_step(R& rows, const envelope_view& env, const event& ev, const E& e) {
  if constexpr (std::is_same_v<E, task_started> || std::is_same_v<E, task_wave_advanced>) {
    auto& p = rows.progress(e.task);
    if constexpr (std::is_same_v<E, task_started>)
      p.wave = 0;
    else
      p.wave = e.wave;
  } else if constexpr (requires {
                         e.task;
                         e.device;
                       }) {
    auto* p = &rows.progress(e.task);
    execution_row* row = nullptr;
    std::optional<execution_phase> before;
    if constexpr (std::is_same_v<E, execution_assigned>) {
      execution_row fresh;
      fresh.device = e.device;
      fresh.task = e.task;
      fresh.ordinal = assigned(*p);
      row = &rows.assign(e.task, e.device, std::move(fresh));
    } else {
      row = rows.find_exec(e.task, e.device);
      if (row) before = row->phase;
    }
    count(*p, ev);
    if (!row) return;
    // The domain's own fold of one execution (a reused state: no allocation
    // once its strings are big enough).
    if constexpr (!std::is_same_v<E, execution_assigned>) {
      thread_local domain::execution_state x;
      evolve_row(*row, x, ev);
    }
    row->updated = env.time;
    const auto after = row->phase;
    if (!row->wave && after == execution_phase::notified) {
      row->wave = p->wave;
      move_wave(rows.wave(e.task, *row->wave), std::nullopt, after);
    } else if (row->wave && before && *before != after) {
      move_wave(rows.wave(e.task, *row->wave), before, after);
    }
    if (!before || *before != after) rows.x_move(e.task, e.device, before, after);
  }
}

/// executions_step's rows in a view_txn (the live fold).
struct executions_txn_rows {
  view_txn& tx;
  std::string& key; // a reused buffer

  progress_row& progress(std::string_view task) {
    build_key(key, "c", task);
    progress_row* p = tx.edit_row<progress_row>(key);
    return p ? *p : tx.put_row(key, new_progress());
  }
  execution_row& assign(std::string_view task, std::string_view device, execution_row row) {
    return tx.put_row(build_key(key, "t", task, device), std::move(row));
  }
  execution_row* find_exec(std::string_view task, std::string_view device) {
    return tx.edit_row<execution_row>(build_key(key, "t", task, device));
  }
  void x_move(std::string_view task, std::string_view device, std::optional<execution_phase> from,
              execution_phase to) {
    if (from) tx.erase(build_key(key, "x", task, phase_name(*from), device));
    tx.put(build_key(key, "x", task, phase_name(to), device), {});
  }
  wave_row& wave(std::string_view task, std::uint32_t wave) {
    const std::string w = be32(wave);
    build_key(key, "w", task, w);
    wave_row* r = tx.edit_row<wave_row>(key);
    return r ? *r : tx.put_row(key, wave_row{});
  }
};

/// The executions view in columns: tasks and devices interned, one struct
/// per task, device and (task, device) execution; the phase index kept as a
/// bit per phase on each execution.
class executions_columns final : public columnar_fold {
public:
  void look_ahead(std::span<const envelope_view> page, std::span<const event* const> evs) override {
    ids_.look_ahead(device_names_, devices_, page, evs);
  }
  void apply(const envelope_view& env, const event* ev) override {
    ids_.at(env, *ev);
    std::visit([&](const auto& e) { executions_step(*this, env, *ev, e); }, *ev);
  }

  progress_counters& progress(std::string_view task) {
    task_col& t = task_of(task);
    t.has_progress = true;
    return t.progress;
  }
  execution_row& assign(std::string_view task, std::string_view device, execution_row row) {
    const std::uint32_t t = task_id(task);
    const std::uint32_t d = device_id(device);
    exec_col* x = find(t, d);
    if (!x) {
      execs_.emplace_back(exec_col{t, d, devices_[d].first_exec, 0, {}});
      devices_[d].first_exec = static_cast<std::uint32_t>(execs_.size() - 1);
      ++tasks_[t].executions;
      x = &execs_.back();
    }
    x->row = std::move(row);
    current_ = x;
    return x->row;
  }
  execution_row* find_exec(std::string_view task, std::string_view device) {
    exec_col* x = find(task_id(task), device_id(device));
    current_ = x;
    return x ? &x->row : nullptr;
  }
  void x_move(std::string_view, std::string_view, std::optional<execution_phase> from,
              execution_phase to) {
    // Called right after assign/find_exec of the same execution.
    if (from) current_->x &= static_cast<std::uint16_t>(~(1u << static_cast<unsigned>(*from)));
    current_->x |= static_cast<std::uint16_t>(1u << static_cast<unsigned>(to));
  }
  wave_row& wave(std::string_view task, std::uint32_t wave) {
    task_col& t = task_of(task);
    for (auto& [n, row] : t.waves)
      if (n == wave) return row;
    t.waves.emplace_back(wave, wave_row{});
    return t.waves.back().second;
  }

  result<void> prepare() override {
    task_order_ = task_names_.sorted();
    // Executions in (task, device) order (a device has one per task at most).
    std::vector<std::size_t> sizes(tasks_.size());
    for (std::uint32_t t = 0; t < sizes.size(); ++t)
      sizes[t] = tasks_[t].executions;
    exec_order_ =
        by_group_then_device(task_order_, sizes, device_names_.sorted(), [&](auto d, auto put) {
          for (std::uint32_t i = devices_[d].first_exec; i != none; i = execs_[i].next_of_device)
            put(execs_[i].task, i);
        });
    return outcome::success();
  }
  /// c and the first half of t, then the rest of t and w, then x (parts of
  /// about equal weight balance the two threads that take them).
  std::size_t parts() const override { return 3; }
  storage::ingest_kind part_kind(std::size_t part) const override {
    return part == 2 ? storage::ingest_kind::index : storage::ingest_kind::rows;
  }
  result<void> write_part(std::size_t part, storage::ingest_writer& sink) override {
    row_writer out{sink};
    if (part < 2) {
      if (part == 0) {
        // c: progress per task
        progress_row row;
        for (auto t : task_order_)
          if (tasks_[t].has_progress) {
            from_counters(tasks_[t].progress.counters, row);
            row.wave = tasks_[t].progress.wave;
            ROWS_TRY(out.key("c").part(task_names_.name(t)).row(row));
          }
      }
      // t: executions by (task, device), half in each part
      for (auto i : half(exec_order_, part)) {
        const exec_col& x = execs_[i];
        ROWS_TRY(out.key("t")
                     .part(task_names_.name(x.task))
                     .part(device_names_.name(x.device))
                     .row(x.row));
      }
      if (part == 0) return outcome::success();
      // w: waves per task, in wave order
      for (auto t : task_order_) {
        auto waves = tasks_[t].waves;
        std::sort(waves.begin(), waves.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [n, row] : waves)
          ROWS_TRY(out.key("w").part(task_names_.name(t)).part(be32(n)).row(row));
      }
      return outcome::success();
    }
    // x: per task, phases in name order, devices in order
    std::vector<std::pair<std::string_view, unsigned>> phases;
    for (unsigned p = 0; p < phase_count; ++p)
      phases.emplace_back(phase_name(static_cast<execution_phase>(p)), p);
    std::sort(phases.begin(), phases.end());
    // Each task's executions read once (in key order, their phase bits and
    // devices copied out), then scanned once per phase.
    struct bits {
      std::uint32_t device;
      std::uint16_t x;
    };
    std::vector<bits> task_execs;
    const auto& execs = exec_order_;
    for (std::size_t from = 0; from < execs.size();) {
      const std::uint32_t task = execs_[execs[from]].task;
      task_execs.clear();
      std::size_t to = from;
      for (; to < execs.size() && execs_[execs[to]].task == task; ++to)
        task_execs.push_back({execs_[execs[to]].device, execs_[execs[to]].x});
      for (auto& [pname, p] : phases)
        for (const auto& b : task_execs)
          if (b.x & (1u << p))
            ROWS_TRY(out.key("x")
                         .part(task_names_.name(task))
                         .part(pname)
                         .part(device_names_.name(b.device))
                         .empty());
      from = to;
    }
    return outcome::success();
  }

private:
  struct task_col {
    bool has_progress = false;
    progress_counters progress;
    std::vector<std::pair<std::uint32_t, wave_row>> waves;
    std::size_t executions = 0;
  };
  struct device_col {
    std::uint32_t first_exec = none;
  };
  struct exec_col {
    std::uint32_t task, device;
    std::uint32_t next_of_device; ///< the device's previous execution (none: last)
    std::uint16_t x;              ///< bit per execution_phase: its "x" index key exists
    execution_row row;
  };

  std::uint32_t task_id(std::string_view task) { return column_id(task_names_, tasks_, task); }
  task_col& task_of(std::string_view task) { return tasks_[task_id(task)]; }
  std::uint32_t device_id(std::string_view device) {
    return ids_.id(device_names_, devices_, device);
  }
  exec_col* find(std::uint32_t t, std::uint32_t d) {
    for (std::uint32_t i = devices_[d].first_exec; i != none; i = execs_[i].next_of_device)
      if (execs_[i].task == t) return &execs_[i];
    return nullptr;
  }

  interner task_names_, device_names_;
  column<task_col> tasks_;
  column<device_col> devices_;
  column<exec_col> execs_;
  exec_col* current_ = nullptr;
  device_ids_ahead<device_col> ids_;
  // prepare(): tasks in key order, and executions in (task, device) order.
  std::vector<std::uint32_t> task_order_, exec_order_;
};

class executions_view final : public projection {
public:
  std::string_view name() const override { return "executions"; }
  bool wants(std::string_view type) const override {
    return type.starts_with("execution.") || type == "task.started" || type == "task.wave_advanced";
  }
  void apply(view_txn& tx, const envelope_view& env, const event* ev) const override {
    thread_local std::string key; // reused: no allocation per event
    executions_txn_rows rows{tx, key};
    std::visit([&](const auto& e) { executions_step(rows, env, *ev, e); }, *ev);
  }
  std::unique_ptr<columnar_fold> columnar() const override {
    return std::make_unique<executions_columns>();
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

/// The device's fleet row.
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

/// to_row(d, last_seen) as the binary codec sees it: the same fields in the
/// same order and of the same types, borrowed from the state instead of
/// copied, so a row is encoded to the same bytes straight from the state
/// (the live_equals_rebuilt tests compare the live fold's rows with them).
struct fleet_row_of {
  const domain::device_state& d;
  base::timestamp last_seen;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("device", s.d.id);
    f("product", s.d.product);
    f("name", s.d.name);
    f("imei", s.d.imei);
    f("mac", s.d.mac);
    f("region", s.d.region);
    f("fota_version", s.d.fota_version);
    f("sota_version", s.d.sota_version);
    f("online", s.d.online);
    f("signal", s.d.signal);
    f("battery", s.d.battery);
    f("registered_at", s.d.registered_at);
    f("last_seen", s.last_seen);
  }
};

// The fleet fold's counts and index keys for one device event, from what the
// device was before (`was`) and is now (`now`, registered), over a row
// access `R`:
//   product_counts_row& counts(product)          (empty when absent; written)
//   void version_add(product, kind, version, by) the "v" count row, erased at 0
//   void p_put(product, device)
//   void m_move(old_mac, new_mac, device)        the MAC index: erase the old key (if
//                                                any), put the new one (if any)
struct fleet_before {
  bool registered = false, online = false;
  std::string product, mac, fota_version, sota_version;
  void assign(const domain::device_state& d) {
    registered = d.registered;
    online = d.online;
    product = d.product; // reused buffers: no allocation once big enough
    mac = d.mac;
    fota_version = d.fota_version;
    sota_version = d.sota_version;
  }
};
template <class R>
void fleet_counts(R& rows, const fleet_before& was, const domain::device_state& now) {
  product_counts_row& counts = rows.counts(now.product);
  if (!was.registered) {
    ++counts.devices;
    rows.p_put(now.product, now.id);
  }
  if (!was.registered || was.mac != now.mac)
    rows.m_move(was.registered ? std::string_view{was.mac} : std::string_view{}, now.mac, now.id);
  if (now.online != (was.registered && was.online)) {
    if (now.online)
      ++counts.online;
    else if (counts.online > 0)
      --counts.online;
  }
  for (auto k : {firmware_kind::fota, firmware_kind::sota}) {
    const auto& v = k == firmware_kind::fota ? now.fota_version : now.sota_version;
    if (was.registered) {
      const auto& then = k == firmware_kind::fota ? was.fota_version : was.sota_version;
      if (then == v) continue;
      if (!then.empty()) rows.version_add(was.product, k, then, -1);
    }
    if (!v.empty()) rows.version_add(now.product, k, v, 1);
  }
}

/// The live fleet fold of one device event: the device's row read into a
/// domain::device_state, evolved, and written back.
template <class R> void fleet_step(R& rows, const envelope_view& env, const event& ev) {
  const std::string_view id = device_of(ev);
  const fleet_row* old = rows.find(id);
  domain::device_state d = old ? to_state(*old) : domain::device_state{};
  thread_local fleet_before was;
  was.assign(d);
  domain::evolve_device(d, ev);
  if (!d.registered) return;
  fleet_counts(rows, was, d);
  rows.put(id, to_row(d, env.time));
}

/// fleet_step's rows in a view_txn (the live fold).
struct fleet_txn_rows {
  view_txn& tx;
  std::string key;

  const fleet_row* find(std::string_view device) {
    return tx.get_row_ptr<fleet_row>(build_key(key, "d", device));
  }
  void put(std::string_view device, fleet_row row) {
    tx.put_row(build_key(key, "d", device), std::move(row));
  }
  product_counts_row& counts(std::string_view product) {
    build_key(key, "c", product);
    auto* c = tx.edit_row<product_counts_row>(key);
    return c ? *c : tx.put_row(key, product_counts_row{});
  }
  void version_add(std::string_view product, firmware_kind k, std::string_view version,
                   std::int64_t by) {
    build_key(key, "v", product, enum_name(k), version);
    auto c = tx.get_row<count_row>(key).value_or(count_row{});
    c.count = by < 0 && c.count == 0 ? 0 : c.count + static_cast<std::uint64_t>(by);
    if (c.count == 0)
      tx.erase(key);
    else
      tx.put_row(key, c);
  }
  void p_put(std::string_view product, std::string_view device) {
    tx.put(build_key(key, "p", product, device), {});
  }
  void m_move(std::string_view from, std::string_view to, std::string_view device) {
    if (!from.empty()) tx.erase(build_key(key, "m", from, device));
    if (!to.empty()) tx.put(build_key(key, "m", to, device), {});
  }
};

/// The fleet view in columns: devices and products interned, each device's
/// domain::device_state evolved in place (its row is made when written).
class fleet_columns final : public columnar_fold {
public:
  void look_ahead(std::span<const envelope_view> page, std::span<const event* const> evs) override {
    ids_.look_ahead(device_names_, devices_, page, evs);
  }
  void apply(const envelope_view& env, const event* ev) override {
    // fleet_step's rules, on the device's state in place (no row read,
    // converted and written back per event).
    ids_.at(env, *ev);
    current_ = ids_.id(device_names_, devices_, device_of(*ev));
    device_col& c = devices_[current_];
    was_.assign(c.state);
    domain::evolve_device(c.state, *ev);
    if (!c.state.registered) return;
    c.last_seen = env.time;
    fleet_counts(*this, was_, c.state);
  }

  product_counts_row& counts(std::string_view product) {
    product_col& p = products_[product_id(product)];
    p.has = true;
    return p.counts;
  }
  void version_add(std::string_view product, firmware_kind k, std::string_view version,
                   std::int64_t by) {
    key_.clear();
    key_.append(product);
    key_.push_back('\0');
    key_.append(enum_name(k));
    key_.push_back('\0');
    key_.append(version);
    auto it = versions_.find(std::string_view{key_});
    if (it == versions_.end()) it = versions_.emplace(key_, 0).first;
    auto& c = it->second;
    c = by < 0 && c == 0 ? 0 : c + static_cast<std::uint64_t>(by);
  }
  void p_put(std::string_view product, std::string_view) {
    // The device being folded; put once, when it first registers.
    const auto p = product_id(product);
    devices_[current_].p_product = p;
    ++products_[p].p_keys;
  }
  // The "m" keys are each registered device's current MAC: written from the
  // final states.
  void m_move(std::string_view, std::string_view, std::string_view) {}

  result<void> prepare() override {
    product_order_ = product_names_.sorted();
    device_order_ = device_names_.sorted();
    device_rank_ = interner::ranks(device_order_);
    return outcome::success();
  }
  /// m (a sort and a key per device: the heaviest part, taken first), then c
  /// and the first half of d, then the rest of d, then p, then v.
  std::size_t parts() const override { return 5; }
  storage::ingest_kind part_kind(std::size_t part) const override {
    return part == 0 || part == 3 ? storage::ingest_kind::index : storage::ingest_kind::rows;
  }
  result<void> write_part(std::size_t part, storage::ingest_writer& sink) override {
    row_writer out{sink};
    if (part == 0) {
      // m: (mac, device), from each registered device's current MAC. The
      // MACs are copied out once, side by side, and sorted there: sorting
      // through the states read each one's string again at every pass.
      struct mac_of {
        std::size_t at;
        std::uint32_t size, device;
      };
      std::string macs;
      std::vector<mac_of> keys;
      for (std::uint32_t d = 0; d < devices_.size(); ++d)
        if (const auto& st = devices_[d].state; st.registered && !st.mac.empty()) {
          keys.push_back({macs.size(), static_cast<std::uint32_t>(st.mac.size()), d});
          macs.append(st.mac);
        }
      auto mac = [&](std::uint32_t i) {
        return std::string_view{macs}.substr(keys[i].at, keys[i].size);
      };
      std::vector<std::uint32_t> order(keys.size());
      for (std::uint32_t i = 0; i < order.size(); ++i)
        order[i] = i;
      sort_by_bytes(order, mac, [&](std::uint32_t i) { return device_rank_[keys[i].device]; });
      for (auto i : order)
        ROWS_TRY(out.key("m").part(mac(i)).part(device_names_.name(keys[i].device)).empty());
      return outcome::success();
    }
    if (part < 3) {
      if (part == 1)
        for (auto p : product_order_)
          if (products_[p].has)
            ROWS_TRY(out.key("c").part(product_names_.name(p)).row(products_[p].counts));
      for (auto d : half(device_order_, part - 1))
        if (devices_[d].state.registered)
          ROWS_TRY(out.key("d")
                       .part(device_names_.name(d))
                       .row(fleet_row_of{devices_[d].state, devices_[d].last_seen}));
      return outcome::success();
    }
    if (part == 4) {
      // v: devices per (product, kind, version)
      for (const auto& [k, n] : versions_)
        if (n != 0) ROWS_TRY(out.key("v").part(k).row(count_row{n}));
      return outcome::success();
    }
    // p: (product, device)
    std::vector<std::size_t> sizes(products_.size());
    for (std::uint32_t p = 0; p < sizes.size(); ++p)
      sizes[p] = products_[p].p_keys;
    const auto p_keys =
        by_group_then_device(product_order_, sizes, device_order_, [&](auto d, auto put) {
          if (devices_[d].p_product != none) put(devices_[d].p_product, d);
        });
    for (auto d : p_keys)
      ROWS_TRY(out.key("p")
                   .part(product_names_.name(devices_[d].p_product))
                   .part(device_names_.name(d))
                   .empty());
    return outcome::success();
  }

private:
  struct device_col {
    domain::device_state state;
    base::timestamp last_seen;
    std::uint32_t p_product = none; ///< the product of its "p" key (none: no key)
  };
  struct product_col {
    bool has = false;
    product_counts_row counts;
    std::size_t p_keys = 0;
  };
  std::uint32_t product_id(std::string_view product) {
    return column_id(product_names_, products_, product);
  }

  interner device_names_, product_names_;
  column<device_col> devices_;
  column<product_col> products_;
  std::map<std::string, std::uint64_t, std::less<>> versions_; ///< "product\0kind\0version"
  std::string key_;
  fleet_before was_;
  device_ids_ahead<device_col> ids_;
  std::uint32_t current_ = none; ///< the device being folded
  // prepare(): ids in key order, and each device's place in it
  std::vector<std::uint32_t> product_order_, device_order_, device_rank_;
};

class fleet_view final : public projection {
public:
  std::string_view name() const override { return "fleet"; }
  bool wants(std::string_view type) const override { return type.starts_with("device."); }
  void apply(view_txn& tx, const envelope_view& env, const event* ev) const override {
    fleet_txn_rows rows{tx, {}};
    fleet_step(rows, env, *ev);
  }
  std::unique_ptr<columnar_fold> columnar() const override {
    return std::make_unique<fleet_columns>();
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
  void apply(view_txn& tx, const envelope_view&, const event* ev) const override {
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
  void apply(view_txn& tx, const envelope_view&, const event* ev) const override {
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

/// The audit view's key of a block of positions:
/// "c\0<correlation>\0<be64 first position of the block>".
void audit_key(std::string& key, std::string_view correlation, std::uint64_t block_start) {
  key.clear();
  key.append("c");
  key.push_back('\0');
  key.append(correlation);
  key.push_back('\0');
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(block_start & 0xFF);
    block_start >>= 8;
  }
  key.append(b, 8);
}

/// Appends a position's offset in its block (big-endian 16 bits).
void audit_offset(std::string& value, std::uint64_t position) {
  const auto off = static_cast<unsigned>(position % audit_block);
  value.push_back(static_cast<char>(off >> 8));
  value.push_back(static_cast<char>(off & 0xFF));
}

/// The audit view in columns: each correlation's rows as they will be
/// written (its positions come in order, so each block's row is appended to
/// until the next position falls in a later block): 2 bytes per event, and
/// no vector of a million positions regrown and copied.
class audit_columns final : public columnar_fold {
public:
  void apply(const envelope_view& env, const event*) override {
    if (env.meta.correlation.empty()) return;
    bool added;
    const auto id = names_.intern(env.meta.correlation, added);
    if (added) blocks_.emplace_back();
    auto& rows = blocks_[id];
    const std::uint64_t p = env.position();
    const std::uint64_t block = p - p % audit_block;
    if (rows.empty() || rows.back().first != block) rows.emplace_back(block, std::string{});
    audit_offset(rows.back().second, p);
  }
  result<void> write_part(std::size_t, storage::ingest_writer& out) override {
    std::string key;
    for (auto id : names_.sorted())
      for (const auto& [block, value] : blocks_[id]) {
        audit_key(key, names_.name(id), block);
        ROWS_TRY(out.put(key, value));
      }
    return outcome::success();
  }

private:
  interner names_;
  /// Per correlation: (block start, the block's row) in block order.
  std::vector<std::vector<std::pair<std::uint64_t, std::string>>> blocks_;
};

class audit_view final : public projection {
public:
  std::string_view name() const override { return "audit"; }
  bool wants(std::string_view) const override { return true; }
  bool needs_event() const override { return false; }
  void apply(view_txn& tx, const envelope_view& env, const event*) const override {
    if (env.meta.correlation.empty()) return;
    const std::uint64_t p = env.position();
    thread_local std::string key;
    audit_key(key, env.meta.correlation, p - p % audit_block);
    std::string value;
    if (const std::string* v = tx.get(key)) value = *v;
    audit_offset(value, p);
    tx.put(key, std::move(value));
  }
  std::unique_ptr<columnar_fold> columnar() const override {
    return std::make_unique<audit_columns>();
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
