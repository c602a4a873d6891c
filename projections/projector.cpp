#include "projections/projector.hpp"

#include "base/errc.hpp"
#include "events/event.hpp"
#include "projections/internal/errors.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace otaledger::projections {

namespace {
thread_local std::string last_detail;
} // namespace

namespace internal {

std::error_code fail_with(std::error_code ec, std::string detail) {
  last_detail = std::move(detail);
  return ec;
}

std::error_code invalid(std::string detail) {
  return fail_with(make_error_code(base::errc::invalid_argument), std::move(detail));
}

} // namespace internal

namespace {
using internal::fail_with;
using internal::invalid;

std::string encode_generation(std::uint64_t g) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(g & 0xFF);
    g >>= 8;
  }
  return s;
}

std::uint64_t decode_generation(std::string_view s) {
  std::uint64_t g = 0;
  for (char c : s)
    g = (g << 8) | static_cast<unsigned char>(c);
  return g;
}

std::string escape_key(std::string_view k) {
  std::string out;
  for (unsigned char c : k) {
    if (c == 0)
      out += '/';
    else if (c < 0x20 || c >= 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

} // namespace

const std::string& error_detail() {
  return last_detail;
}

// ---------------------------------------------------------------------------
// view_txn

namespace {
constexpr std::size_t entry_overhead = 96; // node, hash bucket, std::string headers
} // namespace

const std::string* view_txn::get(std::string_view key) {
  auto it = overlay_.find(key);
  if (it == overlay_.end()) {
    if (fresh_ && !spilled_) {
      // An erased space nothing was written to yet: the row does not exist.
      it = overlay_.emplace(std::string{key}, entry{std::nullopt, false, false}).first;
      bytes_ += key.size() + entry_overhead;
      return nullptr;
    }
    auto r = kv_->get(space_, key);
    if (!r) {
      fail(r.error());
      return nullptr;
    }
    const bool stored = r.value().has_value();
    bytes_ += key.size() + entry_overhead + (stored ? r.value()->size() : 0);
    it = overlay_.emplace(std::string{key}, entry{std::move(r).value(), false, stored}).first;
  }
  return it->second.value ? &*it->second.value : nullptr;
}

view_txn::overlay_map::iterator view_txn::slot(std::string&& key) {
  const std::size_t n = key.size();
  auto [it, inserted] = overlay_.try_emplace(std::move(key));
  if (inserted) {
    bytes_ += n + entry_overhead;
    // Written blind: known absent only in a fresh space nothing was spilled to.
    it->second.stored = !(fresh_ && !spilled_);
  } else if (it->second.value) {
    bytes_ -= std::min(bytes_, it->second.value->size());
  }
  dirty_ = true;
  it->second.written = true;
  return it;
}

void view_txn::put(std::string key, std::string value) {
  auto it = slot(std::move(key));
  bytes_ += value.size();
  it->second.value = std::move(value);
}

void view_txn::erase(std::string key) {
  slot(std::move(key))->second.value.reset();
}

std::vector<std::pair<const std::string, view_txn::entry>*> view_txn::dirty_sorted() {
  std::vector<std::pair<const std::string, entry>*> out;
  out.reserve(overlay_.size());
  for (auto& kv : overlay_)
    if (kv.second.written && (kv.second.value || kv.second.stored)) out.push_back(&kv);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->first < b->first; });
  return out;
}

result<void> view_txn::spill() {
  // Take the nodes out of the map (keys and values move, nothing is copied).
  std::vector<overlay_map::node_type> nodes;
  nodes.reserve(overlay_.size());
  while (!overlay_.empty()) {
    auto n = overlay_.extract(overlay_.begin());
    const auto& e = n.mapped();
    if (e.written && (e.value || e.stored)) nodes.push_back(std::move(n));
  }
  clear();
  if (nodes.empty()) return outcome::success();
  std::sort(nodes.begin(), nodes.end(),
            [](const auto& a, const auto& b) { return a.key() < b.key(); });
  std::vector<storage::kv_store::ingest_row> rows;
  rows.reserve(nodes.size());
  for (auto& n : nodes)
    rows.emplace_back(std::move(n.key()), std::move(n.mapped().value));
  nodes.clear(); // frees the nodes (their keys and values moved out)
  OTA_TRYV(kv_->ingest(space_, rows));
  spilled_ = true;
  return outcome::success();
}

// ---------------------------------------------------------------------------
// names

std::string space_name(std::string_view view, std::uint64_t generation) {
  return fmt::format("{}@{}", view, generation);
}

std::string checkpoint_name(std::string_view view) {
  return fmt::format("projection.{}", view);
}

result<std::uint64_t> live_generation(storage::kv_store& kv, std::string_view view) {
  OTA_TRY(v, kv.get(meta_space, view));
  if (!v) return std::uint64_t{1};
  return decode_generation(*v);
}

result<std::string> live_space(storage::kv_store& kv, std::string_view view) {
  OTA_TRY(g, live_generation(kv, view));
  return space_name(view, g);
}

result<void> check_view_names(const std::vector<std::string>& views) {
  for (const auto& v : views) {
    if (make_view(v)) continue;
    std::string known;
    for (auto n : projections::view_names())
      known += (known.empty() ? "" : ", ") + std::string{n};
    return invalid(fmt::format("unknown view '{}' (known: {})", v, known));
  }
  return outcome::success();
}

// ---------------------------------------------------------------------------
// projector

projector::projector(storage::event_store& log, storage::kv_store& kv,
                     std::vector<std::unique_ptr<projection>> views, projector_options opts)
    : log_(&log), kv_(&kv), opts_(opts) {
  for (auto& v : views)
    slots_.push_back(slot{std::move(v), nullptr, {}, {}, {}});
}

result<void> projector::open(const std::vector<view_target>& targets) {
  if (!targets.empty() && targets.size() != slots_.size())
    return invalid("projector: one target per view is needed");
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    std::string space;
    if (targets.empty()) {
      OTA_TRY(sp, live_space(*kv_, s.fold->name()));
      space = std::move(sp);
      s.checkpoint_name = checkpoint_name(s.fold->name());
    } else {
      space = targets[i].space;
      s.checkpoint_name = targets[i].checkpoint;
    }
    OTA_TRY(cp, kv_->load_checkpoint(s.checkpoint_name));
    s.checkpoint = cp;
    s.pending = cp;
    s.tx = std::make_unique<view_txn>(*kv_, std::move(space), opts_.fresh);
  }
  return outcome::success();
}

log_position projector::position() const {
  if (slots_.empty()) return log_->head();
  log_position p{std::numeric_limits<std::uint64_t>::max()};
  for (auto& s : slots_)
    p = std::min(p, s.checkpoint);
  return p;
}

log_position projector::checkpoint(std::string_view view) const {
  for (auto& s : slots_)
    if (s.fold->name() == view) return s.checkpoint;
  return {};
}

std::string projector::space(std::string_view view) const {
  for (auto& s : slots_)
    if (s.fold->name() == view) return s.tx ? s.tx->space() : std::string{};
  return {};
}

std::vector<std::string> projector::view_names() const {
  std::vector<std::string> out;
  for (auto& s : slots_)
    out.emplace_back(s.fold->name());
  return out;
}

result<void> projector::fold(std::span<const events::envelope> page) {
  for (const auto& env : page) {
    bool any = false, decode = false;
    for (auto& s : slots_) {
      if (env.position() <= s.pending()) continue;
      if (env.position() != s.pending() + 1)
        return fail_with(make_error_code(storage::errc::corruption),
                         fmt::format("projection {}: expected position {}, got {}", s.fold->name(),
                                     s.pending() + 1, env.position()));
      if (s.fold->wants(env.type)) {
        any = true;
        decode = decode || s.fold->needs_event();
      }
    }
    std::optional<events::event> ev;
    if (decode) {
      auto d = events::decode(env);
      if (!d)
        return fail_with(d.error(), fmt::format("decoding event at position {} ({}): {}",
                                                env.position(), env.type, d.error().message()));
      ev.emplace(std::move(d).value());
    }
    for (auto& s : slots_) {
      if (env.position() <= s.pending()) continue;
      if (any && s.fold->wants(env.type)) {
        s.fold->apply(*s.tx, env, ev ? &*ev : nullptr);
        if (auto ec = s.tx->error())
          return fail_with(ec, fmt::format("projection {}: reading rows at position {}: {}",
                                           s.fold->name(), env.position(), ec.message()));
      }
      s.pending = env.position;
    }
    ++uncommitted_;
  }
  return outcome::success();
}

result<void> projector::commit() {
  storage::write_batch b;
  bool moved = false;
  for (auto& s : slots_) {
    if (opts_.fresh) {
      // Rows first (ingested: durable), then the checkpoint in the batch below.
      if (auto r = s.tx->spill(); !r)
        return fail_with(r.error(),
                         fmt::format("writing view {} up to position {}: {}", s.fold->name(),
                                     s.pending(), storage::error_detail()));
    } else {
      // In key order: RocksDB inserts neighbouring keys far more cheaply.
      for (auto* e : s.tx->dirty_sorted()) {
        if (e->second.value)
          b.put(s.tx->space(), e->first, *e->second.value);
        else
          b.erase(s.tx->space(), e->first);
      }
    }
    if (s.pending != s.checkpoint) {
      b.set_checkpoint(s.checkpoint_name, s.pending);
      moved = true;
    }
  }
  if (b.empty() && !moved) return outcome::success();
  if (auto w = kv_->write(b, opts_.mode); !w)
    return fail_with(w.error(), fmt::format("committing views up to position {}: {}", position()(),
                                            w.error().message()));
  for (auto& s : slots_) {
    s.checkpoint = s.pending;
    s.tx->clear();
  }
  uncommitted_ = 0;
  return outcome::success();
}

std::size_t projector::cached_bytes() const {
  std::size_t n = 0;
  for (auto& s : slots_)
    n += s.tx ? s.tx->bytes() : 0;
  return n;
}

result<void> projector::apply(std::span<const events::envelope> page) {
  if (auto r = fold(page); !r) {
    for (auto& s : slots_) {
      s.tx->clear();
      s.pending = s.checkpoint;
    }
    uncommitted_ = 0;
    return r;
  }
  return commit();
}

result<std::uint64_t> projector::catch_up(log_position until, const progress_fn& progress) {
  const std::uint64_t head = log_->head()();
  const std::uint64_t target = until() == 0 ? head : std::min(until(), head);
  std::uint64_t from = position()() + 1;
  const std::uint64_t start = from;
  std::uint64_t folded = 0;
  while (from <= target) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(opts_.read_page, target - from + 1));
    auto page = log_->read_all(log_position{from}, n);
    if (!page)
      return fail_with(page.error(), fmt::format("reading the log at position {}: {}", from,
                                                 storage::error_detail()));
    if (page.value().empty()) break;
    if (auto r = fold(page.value()); !r) {
      for (auto& s : slots_) {
        s.tx->clear();
        s.pending = s.checkpoint;
      }
      return r.error();
    }
    folded += page.value().size();
    from = page.value().back().position() + 1;
    if (opts_.fresh ? cached_bytes() >= opts_.fresh_cache_bytes
                    : uncommitted_ >= opts_.batch_events) {
      OTA_TRYV(commit());
    }
    if (progress) progress(from - start, target - start + 1);
  }
  OTA_TRYV(commit());
  return folded;
}

std::unique_ptr<storage::subscription> projector::run_live() {
  return log_->subscribe(position(),
                         [this](std::span<const events::envelope> page) { return apply(page); });
}

// ---------------------------------------------------------------------------
// digests

namespace {

struct fnv2 {
  std::uint64_t a = 0xcbf29ce484222325ull;
  std::uint64_t b = 0x84222325cbf29ce4ull;
  void add(std::string_view s) {
    std::uint64_t n = s.size();
    for (int i = 0; i < 8; ++i)
      byte(static_cast<unsigned char>(n >> (8 * i)));
    for (unsigned char c : s)
      byte(c);
  }
  void byte(unsigned char c) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ static_cast<unsigned char>(c + 0x5b)) * 0x100000001b3ull;
    b ^= b >> 29;
  }
};

} // namespace

result<view_digest> digest_space(storage::kv_store& kv, std::string_view space,
                                 const progress_fn& progress) {
  view_digest d;
  fnv2 h;
  std::string after;
  for (;;) {
    OTA_TRY(page, kv.scan(space, storage::scan_range{{}, after, {}}, 4096));
    for (auto& [k, v] : page.rows) {
      h.add(k);
      h.add(v);
      ++d.rows;
      d.bytes += k.size() + v.size();
    }
    if (progress) progress(d.rows, 0);
    if (!page.more || page.rows.empty()) break;
    after = page.rows.back().first;
  }
  d.hash = fmt::format("{:016x}{:016x}", h.a, h.b);
  return d;
}

result<std::string> first_difference(storage::kv_store& kv, std::string_view a,
                                     std::string_view b) {
  std::string after_a, after_b;
  storage::scan_page pa, pb;
  std::size_t ia = 0, ib = 0;
  bool more_a = true, more_b = true;
  for (;;) {
    if (ia == pa.rows.size() && more_a) {
      OTA_TRY(p, kv.scan(a, storage::scan_range{{}, after_a, {}}, 1024));
      pa = std::move(p);
      ia = 0;
      more_a = pa.more;
      if (!pa.rows.empty()) after_a = pa.rows.back().first;
    }
    if (ib == pb.rows.size() && more_b) {
      OTA_TRY(p, kv.scan(b, storage::scan_range{{}, after_b, {}}, 1024));
      pb = std::move(p);
      ib = 0;
      more_b = pb.more;
      if (!pb.rows.empty()) after_b = pb.rows.back().first;
    }
    const bool end_a = ia == pa.rows.size(), end_b = ib == pb.rows.size();
    if (end_a && end_b) return std::string{};
    if (end_a) return escape_key(pb.rows[ib].first);
    if (end_b) return escape_key(pa.rows[ia].first);
    if (pa.rows[ia] != pb.rows[ib])
      return escape_key(std::min(pa.rows[ia].first, pb.rows[ib].first));
    ++ia;
    ++ib;
  }
}

// ---------------------------------------------------------------------------
// rebuild and as-of

namespace {

std::vector<std::unique_ptr<projection>> folds_of(const std::vector<std::string>& views) {
  std::vector<std::unique_ptr<projection>> out;
  for (auto& v : views)
    out.push_back(make_view(v));
  return out;
}

/// Folds `views` from position 1 to `until` into the given spaces (erased first).
result<void> fold_fresh(storage::event_store& log, storage::kv_store& kv,
                        const std::vector<std::string>& views,
                        const std::vector<view_target>& targets, log_position until,
                        const projector_options& opts, const progress_fn& progress) {
  storage::write_batch reset;
  for (auto& t : targets) {
    reset.erase_space(t.space);
    reset.set_checkpoint(t.checkpoint, log_position{0});
  }
  OTA_TRYV(kv.write(reset, opts.mode));
  if (until() == 0) return outcome::success(); // the empty prefix: nothing to fold
  projector_options fresh = opts;
  fresh.fresh = true;
  projector p{log, kv, folds_of(views), fresh};
  OTA_TRYV(p.open(targets));
  OTA_TRY(n, p.catch_up(until, progress));
  (void)n;
  if (p.position() != until)
    return fail_with(
        make_error_code(storage::errc::corruption),
        fmt::format("the log ended at position {} before {}", p.position()(), until()));
  return outcome::success();
}

} // namespace

result<std::vector<rebuild_report>> rebuild(storage::event_store& log, storage::kv_store& kv,
                                            const std::vector<std::string>& views,
                                            const rebuild_options& opts) {
  OTA_TRYV(check_view_names(views));
  // 1. The live views, caught up to one position.
  projector live{log, kv, folds_of(views), opts.projector};
  OTA_TRYV(live.open());
  OTA_TRY(caught, live.catch_up({}, opts.progress));
  (void)caught;
  const log_position at = live.position();
  // 2. Fresh generations, folded from position 1 to the same position.
  std::vector<view_target> targets;
  std::vector<std::uint64_t> generations;
  for (auto& v : views) {
    OTA_TRY(g, live_generation(kv, v));
    generations.push_back(g + 1);
    targets.push_back({space_name(v, g + 1), checkpoint_name(v) + ".rebuild"});
  }
  OTA_TRYV(fold_fresh(log, kv, views, targets, at, opts.projector, opts.progress));
  // 3. Compare, then swap each view in one batch.
  std::vector<rebuild_report> out;
  for (std::size_t i = 0; i < views.size(); ++i) {
    rebuild_report r;
    r.view = views[i];
    r.position = at;
    OTA_TRY(ld, digest_space(kv, live.space(views[i])));
    OTA_TRY(rd, digest_space(kv, targets[i].space));
    r.live = ld;
    r.rebuilt = rd;
    r.equal = ld == rd;
    if (!r.equal) {
      OTA_TRY(diff, first_difference(kv, live.space(views[i]), targets[i].space));
      r.first_difference = diff;
    }
    storage::write_batch b;
    if (opts.verify && !r.equal) {
      b.erase_space(targets[i].space);
    } else {
      b.put(meta_space, views[i], encode_generation(generations[i]));
      b.erase_space(live.space(views[i]));
      b.set_checkpoint(checkpoint_name(views[i]), at);
      r.swapped = true;
    }
    b.set_checkpoint(targets[i].checkpoint, log_position{0});
    OTA_TRYV(kv.write(b, storage::write_mode::sync));
    out.push_back(std::move(r));
  }
  return out;
}

result<std::map<std::string, std::string>>
build_as_of(storage::event_store& log, storage::kv_store& kv, const std::vector<std::string>& views,
            log_position until, const progress_fn& progress) {
  OTA_TRYV(check_view_names(views));
  if (until() > log.head()())
    return invalid(
        fmt::format("position {} is past the end of the log (head {})", until(), log.head()()));
  std::vector<view_target> targets;
  std::map<std::string, std::string> out;
  for (auto& v : views) {
    targets.push_back({v + "@asof", checkpoint_name(v) + ".asof"});
    out[v] = v + "@asof";
  }
  OTA_TRYV(fold_fresh(log, kv, views, targets, until, projector_options{}, progress));
  return out;
}

result<log_position> position_at(storage::event_store& log, base::timestamp t) {
  std::uint64_t lo = 0,
                hi = log.head()(); // invariant: time(lo) <= t (lo 0: none), answer in [lo, hi]
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo + 1) / 2;
    OTA_TRY(page, log.read_all(log_position{mid}, 1));
    if (page.empty())
      return fail_with(make_error_code(storage::errc::corruption),
                       fmt::format("the log has no record at position {}", mid));
    if (page.front().time <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  return log_position{lo};
}

} // namespace otaledger::projections
