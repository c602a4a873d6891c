#include "projections/projector.hpp"

#include "base/bytes.hpp"
#include "base/errc.hpp"
#include "events/event.hpp"
#include "projections/internal/errors.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <limits>
#include <mutex>

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

} // namespace

const std::string& error_detail() {
  return last_detail;
}

// ---------------------------------------------------------------------------
// view_txn

namespace {
constexpr std::size_t entry_overhead = 96; // deque node, index words, string headers

using base::load64;

std::uint64_t mix64(std::uint64_t x) noexcept { // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/// 24 bytes of a key from `skip` (the prefix every sorted key shares) as three
/// big-endian words (zero padded): keys compare as (w0, w1, w2, then the rest
/// of the key), which is bytewise order.
struct sort_key {
  std::uint64_t w0, w1, w2;
  const char* data;
  std::uint32_t size;
  void* node;
};

sort_key make_sort_key(const std::string& k, std::size_t skip, void* n) noexcept {
  char b[24] = {};
  if (k.size() > skip) std::memcpy(b, k.data() + skip, std::min<std::size_t>(24, k.size() - skip));
  return {__builtin_bswap64(load64(b)),         __builtin_bswap64(load64(b + 8)),
          __builtin_bswap64(load64(b + 16)),    k.data(),
          static_cast<std::uint32_t>(k.size()), n};
}

struct sort_less {
  std::size_t from; // skip + 24: where the words end
  bool operator()(const sort_key& a, const sort_key& b) const noexcept {
    if (a.w0 != b.w0) return a.w0 < b.w0;
    if (a.w1 != b.w1) return a.w1 < b.w1;
    if (a.w2 != b.w2) return a.w2 < b.w2;
    // Equal words: equal bytes up to `from` (zero padding only where a key
    // ended, and a shorter key sorts first).
    const std::size_t an = a.size > from ? a.size - from : 0;
    const std::size_t bn = b.size > from ? b.size - from : 0;
    if (an == 0 || bn == 0) return a.size < b.size;
    const int c = std::memcmp(a.data + from, b.data + from, std::min(an, bn));
    return c != 0 ? c < 0 : an < bn;
  }
};

} // namespace

std::uint64_t key_hash(std::string_view key) noexcept {
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    h = (h ^ load64(p)) * 0x9fb21c651e98df25ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    char b[8] = {};
    std::memcpy(b, p, n);
    h = (h ^ load64(b)) * 0x9fb21c651e98df25ull;
  }
  return mix64(h);
}

std::uint64_t view_txn::hash(std::string_view key) noexcept {
  return key_hash(key);
}

view_txn::node* view_txn::find(std::string_view key, std::uint64_t h) noexcept {
  if (index_.empty()) return nullptr;
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t tag = h >> 32;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const std::uint64_t w = index_[i];
    if (w == 0) return nullptr;
    if ((w >> 32) == tag) {
      node& n = nodes_[(w & 0xFFFFFFFFu) - 1];
      if (n.hash == h && n.key == key) return &n;
    }
  }
}

void view_txn::grow() {
  std::vector<std::uint64_t> bigger(index_.empty() ? 1024 : index_.size() * 2, 0);
  const std::size_t mask = bigger.size() - 1;
  for (std::size_t idx = 0; idx < nodes_.size(); ++idx) {
    const std::uint64_t h = nodes_[idx].hash;
    std::size_t i = h & mask;
    while (bigger[i] != 0)
      i = (i + 1) & mask;
    bigger[i] = ((h >> 32) << 32) | (idx + 1);
  }
  index_.swap(bigger);
}

view_txn::node& view_txn::add(std::string_view key, std::uint64_t h, entry e) {
  if ((nodes_.size() + 1) * 2 > index_.size()) grow();
  const std::size_t mask = index_.size() - 1;
  std::size_t i = h & mask;
  while (index_[i] != 0)
    i = (i + 1) & mask;
  bytes_ += key.size() + entry_overhead;
  nodes_.push_back(node{std::string{key}, h, std::move(e)});
  index_[i] = ((h >> 32) << 32) | nodes_.size();
  return nodes_.back();
}

void view_txn::clear() {
  nodes_.clear();
  nodes_.shrink_to_fit();
  appended_.clear();
  appended_.shrink_to_fit();
  if (index_.size() > (std::size_t{1} << 16))
    std::vector<std::uint64_t>{}.swap(index_);
  else
    std::fill(index_.begin(), index_.end(), 0);
  bytes_ = 0;
  dirty_ = false;
}

view_txn::node* view_txn::lookup(std::string_view key) {
  const std::uint64_t h = hash(key);
  if (node* n = find(key, h)) return n;
  if (fresh_ && !maybe_spilled(h)) {
    // An erased space this key was never written to: the row does not exist.
    return &add(key, h, entry{std::nullopt, nullptr, false, false, false});
  }
  auto r = kv_->get(space_, key);
  if (!r) {
    fail(r.error());
    return nullptr;
  }
  const bool stored = r.value().has_value();
  if (stored) bytes_ += r.value()->size();
  return &add(key, h, entry{std::move(r).value(), nullptr, false, false, stored});
}

const std::string* view_txn::get(std::string_view key) {
  node* n = lookup(key);
  if (!n || !n->e.value) return nullptr;
  if (n->e.stale) {
    n->e.box->encode(*n->e.value);
    n->e.stale = false;
  }
  return &*n->e.value;
}

view_txn::node& view_txn::slot(std::string_view key) {
  const std::uint64_t h = hash(key);
  node* n = find(key, h);
  if (!n) {
    // Written blind: known absent only in a fresh space it was never spilled to.
    n = &add(key, h, entry{std::nullopt, nullptr, false, false, !(fresh_ && !maybe_spilled(h))});
  } else if (n->e.value && !n->e.box) {
    bytes_ -= std::min(bytes_, n->e.value->size());
  }
  dirty_ = true;
  n->e.written = true;
  return *n;
}

void view_txn::put(std::string_view key, std::string value) {
  node& n = slot(key);
  drop_box(n.e);
  n.e.stale = false;
  bytes_ += value.size();
  n.e.value = std::move(value);
}

void view_txn::erase(std::string_view key) {
  node& n = slot(key);
  drop_box(n.e);
  n.e.stale = false;
  n.e.value.reset();
}

void view_txn::append(std::string key) {
  dirty_ = true;
  bytes_ += key.size() + entry_overhead / 2;
  appended_.push_back(node{std::move(key), 0, entry{std::string{}, nullptr, false, true, false}});
}

std::vector<view_txn::node*> view_txn::flush_order() {
  // The prefix every key to flush shares: the sort compares the bytes after it.
  const std::string* first = nullptr;
  std::size_t skip = std::numeric_limits<std::size_t>::max();
  std::size_t count = 0;
  auto consider = [&](node& n) {
    if (!(n.e.written && (n.e.value || n.e.stored))) return false;
    ++count;
    if (!first) {
      first = &n.key;
      skip = n.key.size();
    } else if (skip > 0) {
      std::size_t i = 0;
      const std::size_t m = std::min(skip, n.key.size());
      while (i < m && n.key[i] == (*first)[i])
        ++i;
      skip = i;
    }
    return true;
  };
  for (auto& n : nodes_)
    consider(n);
  for (auto& n : appended_)
    consider(n);
  std::vector<node*> out;
  if (count == 0) return out;
  std::vector<sort_key> keys;
  keys.reserve(count);
  for (auto* d : {&nodes_, &appended_})
    for (auto& n : *d)
      if (n.e.written && (n.e.value || n.e.stored)) {
        if (n.e.stale) {
          n.e.box->encode(*n.e.value);
          n.e.stale = false;
        }
        keys.push_back(make_sort_key(n.key, skip, &n));
      }
  std::sort(keys.begin(), keys.end(), sort_less{skip + 24});
  out.reserve(keys.size());
  for (auto& k : keys)
    out.push_back(static_cast<node*>(k.node));
  return out;
}

std::vector<std::pair<const std::string*, view_txn::entry*>> view_txn::dirty_sorted() {
  std::vector<std::pair<const std::string*, entry*>> out;
  auto order = flush_order();
  out.reserve(order.size());
  for (node* n : order)
    out.emplace_back(&n->key, &n->e);
  return out;
}

result<void> view_txn::spill() {
  auto order = flush_order();
  if (order.empty()) {
    clear();
    return outcome::success();
  }
  std::vector<storage::kv_store::ingest_row> rows;
  std::vector<std::uint64_t> hashes;
  rows.reserve(order.size());
  hashes.reserve(order.size());
  for (node* n : order) {
    hashes.push_back(n->hash != 0 ? n->hash : hash(n->key));
    rows.emplace_back(std::move(n->key), std::move(n->e.value));
  }
  order.clear();
  clear();
  // Remembered before the ingest: if it fails, misses read the store.
  remember_spilled(hashes);
  OTA_TRYV(kv_->ingest(space_, rows));
  return outcome::success();
}

namespace {
constexpr int bloom_probes = 6;
std::uint64_t bloom_hash(std::uint64_t h) noexcept {
  return mix64(h ^ 0x5851f42d4c957f2dull);
}
} // namespace

bool view_txn::maybe_spilled(std::uint64_t h) const noexcept {
  const std::uint64_t g = bloom_hash(h);
  for (const auto& f : spilled_filters_) {
    const std::size_t blocks = f.size() / 8;
    const std::uint64_t* b =
        f.data() + 8 * static_cast<std::size_t>((static_cast<unsigned __int128>(g) * blocks) >> 64);
    bool all = true;
    for (int i = 0; i < bloom_probes && all; ++i) {
      const unsigned bit = static_cast<unsigned>((h >> (9 * i)) & 511);
      all = (b[bit >> 6] >> (bit & 63)) & 1;
    }
    if (all) return true;
  }
  return false;
}

void view_txn::remember_spilled(const std::vector<std::uint64_t>& hashes) {
  // About 12 bits per key: a false "maybe" (a needless read) about 1 in 100.
  const std::size_t blocks = std::max<std::size_t>(1, (hashes.size() * 12 + 511) / 512);
  std::vector<std::uint64_t> f(blocks * 8, 0);
  for (std::uint64_t h : hashes) {
    const std::uint64_t g = bloom_hash(h);
    std::uint64_t* b =
        f.data() + 8 * static_cast<std::size_t>((static_cast<unsigned __int128>(g) * blocks) >> 64);
    for (int i = 0; i < bloom_probes; ++i) {
      const unsigned bit = static_cast<unsigned>((h >> (9 * i)) & 511);
      b[bit >> 6] |= std::uint64_t{1} << (bit & 63);
    }
  }
  spilled_filters_.push_back(std::move(f));
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
    slots_.push_back(slot{std::move(v), nullptr, nullptr, {}, {}, {}});
}

result<void> projector::open(const std::vector<view_target>& targets) {
  if (!targets.empty() && targets.size() != slots_.size())
    return invalid("projector: one target per view is needed");
  if (slots_.size() > 31) // a bit per view in a run's plan
    return invalid(fmt::format("projector: at most 31 views, not {}", slots_.size()));
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

base::worker& projector::helper() {
  if (!helper_) helper_ = std::make_unique<base::worker>();
  return *helper_;
}

base::worker& projector::reader() {
  if (!reader_) reader_ = std::make_unique<base::worker>();
  return *reader_;
}

namespace {

/// An error found on a worker thread (error details are thread-local).
struct fold_error {
  std::error_code ec;
  std::string detail;
};

/// Events a group of views plans, decodes and folds at a time.
constexpr std::size_t run = projector_run_buffer::size;

/// One view as a group fold sees it.
struct fold_target {
  projection* fold;
  view_txn* tx;
  columnar_fold* columns; ///< fresh catch_up: the view in columns
  log_position* pending;
};

/// Folds `page` into a group of at most 31 views (the serial fold's rules,
/// per view). Per run: which views want each event (`wants` asked once per
/// run of one type, and only views that have not folded it yet), the payload
/// decoded once for the group with events::decode_payload_into when one of
/// them needs it, then the run folded into each view in turn.
fold_error fold_group(std::span<const fold_target> views,
                      std::span<const events::envelope_view> page, projector_run_buffer& buf) {
  constexpr std::uint32_t decoded_bit = projector_run_buffer::decoded_bit;
  std::string_view type;
  std::uint32_t wants = 0, needs = 0;
  bool known = false;
  for (std::size_t from = 0; from < page.size(); from += run) {
    const auto events = page.subspan(from, std::min(run, page.size() - from));
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& env = events[i];
      if (!known || !base::short_equal(env.type, type)) { // runs of one type are common
        wants = needs = 0;
        for (std::size_t k = 0; k < views.size(); ++k)
          if (views[k].fold->wants(env.type)) {
            wants |= std::uint32_t{1} << k;
            if (views[k].fold->needs_event()) needs |= std::uint32_t{1} << k;
          }
        type = env.type;
        known = true;
      }
      std::uint32_t m = wants;
      for (std::size_t k = 0; k < views.size(); ++k)
        if (env.position() <= (*views[k].pending)()) m &= ~(std::uint32_t{1} << k);
      if (m & needs) {
        if (auto d = events::decode_payload_into(env.type, env.schema, env.data, buf.evs[i]); !d)
          return {d.error(), fmt::format("decoding event at position {} ({}): {}", env.position(),
                                         env.type, d.error().message())};
        m |= decoded_bit;
      }
      buf.plan[i] = m;
    }
    for (std::size_t k = 0; k < views.size(); ++k) {
      const fold_target& v = views[k];
      const std::uint32_t bit = std::uint32_t{1} << k;
      auto event_of = [&](std::size_t i) -> const events::event* {
        return (buf.plan[i] & bit) && (buf.plan[i] & decoded_bit) ? &buf.evs[i] : nullptr;
      };
      if (v.columns) {
        for (std::size_t i = 0; i < events.size(); ++i)
          buf.ahead[i] = event_of(i);
        v.columns->look_ahead(events, std::span{buf.ahead.data(), events.size()});
      }
      log_position& pending = *v.pending;
      for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& env = events[i];
        if (env.position() <= pending()) continue;
        if (env.position() != pending() + 1)
          return {make_error_code(storage::errc::corruption),
                  fmt::format("projection {}: expected position {}, got {}", v.fold->name(),
                              pending() + 1, env.position())};
        if (buf.plan[i] & bit) {
          if (v.columns) {
            v.columns->apply(env, event_of(i));
            if (auto ec = v.columns->error())
              return {ec, fmt::format("projection {}: folding position {}: {}", v.fold->name(),
                                      env.position(), ec.message())};
          } else {
            v.fold->apply(*v.tx, env, event_of(i));
            if (auto ec = v.tx->error())
              return {ec, fmt::format("projection {}: reading rows at position {}: {}",
                                      v.fold->name(), env.position(), ec.message())};
          }
        }
        pending = env.position;
      }
    }
  }
  return {};
}

/// Every slot's view but `except`'s, as fold_group sees them.
template <class Slots> std::vector<fold_target> targets_of(Slots& slots, std::size_t except) {
  std::vector<fold_target> out;
  for (std::size_t k = 0; k < slots.size(); ++k)
    if (k != except)
      out.push_back(
          {slots[k].fold.get(), slots[k].tx.get(), slots[k].columns.get(), &slots[k].pending});
  return out;
}

} // namespace

result<void> projector::fold(std::span<const events::envelope_view> page) {
  const auto all = targets_of(slots_, slots_.size());
  if (auto e = fold_group(all, page, buffer_); e.ec) return fail_with(e.ec, std::move(e.detail));
  uncommitted_ += page.size();
  return outcome::success();
}

void projector::reset_pending() {
  for (auto& s : slots_) {
    s.tx->clear();
    s.columns.reset();
    s.pending = s.checkpoint;
  }
  uncommitted_ = 0;
}

result<void> projector::commit(bool last) {
  storage::write_batch b;
  bool moved = false;
  std::vector<bool> written(slots_.size()); // columnar views written out now
  if (opts_.fresh) {
    // Rows first (ingested: durable), then the checkpoints in the batch below.
    // Units of work, heaviest first, taken in turn by this thread and the
    // helper: first every overlay's spill and every columnar fold's prepare
    // (at the end only), then every part of every columnar fold.
    struct unit {
      std::size_t slot;
      std::size_t part; // none: spill or prepare
    };
    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    auto weight = [&](std::size_t i) {
      const auto& s = slots_[i];
      if (s.columns)
        return s.fold->name() == "executions" ? std::size_t{2} << 60 : std::size_t{1} << 60;
      return s.tx->bytes();
    };
    std::vector<std::size_t> order(slots_.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return weight(x) > weight(y); });
    std::vector<unit> first, second;
    const auto parts_left = std::make_unique<std::atomic<std::size_t>[]>(slots_.size());
    for (auto i : order) {
      if (slots_[i].columns && !last) continue; // written at the end only
      first.push_back({i, none});
      if (slots_[i].columns) {
        written[i] = true;
        parts_left[i] = slots_[i].columns->parts();
        for (std::size_t k = 0; k < slots_[i].columns->parts(); ++k)
          second.push_back({i, k});
      }
    }
    auto run = [&](const unit& u) -> fold_error {
      slot& s = slots_[u.slot];
      auto failed = [&](std::error_code ec) -> fold_error {
        return {ec,
                fmt::format("writing view {} up to position {}: {}", s.fold->name(), s.pending(),
                            error_detail().empty() ? storage::error_detail() : error_detail())};
      };
      if (!s.columns) {
        if (auto r = s.tx->spill(); !r) return failed(r.error());
        return {};
      }
      if (u.part == none) {
        if (auto r = s.columns->prepare(); !r) return failed(r.error());
        return {};
      }
      auto w = kv_->start_ingest(s.tx->space(), s.columns->part_kind(u.part));
      if (!w) return failed(w.error());
      auto r = s.columns->write_part(u.part, *w.value());
      if (r) r = w.value()->finish();
      if (!r) return failed(r.error());
      // The view's last part is written (ingested): its columns are freed
      // here, beside the other thread's parts, not after them all.
      if (parts_left[u.slot].fetch_sub(1) == 1) s.columns.reset();
      return {};
    };
    for (const auto* units : {&first, &second}) {
      std::atomic<std::size_t> next{0};
      auto drain = [&]() -> fold_error {
        for (std::size_t i; (i = next.fetch_add(1)) < units->size();)
          if (auto e = run((*units)[i]); e.ec) {
            next = units->size(); // the other thread stops too
            return e;
          }
        return {};
      };
      std::future<fold_error> other;
      if (opts_.fresh_threads && !helper_busy_ && units->size() > 1) other = helper().submit(drain);
      fold_error mine = drain();
      fold_error theirs = other.valid() ? other.get() : fold_error{};
      if (theirs.ec) return fail_with(theirs.ec, std::move(theirs.detail));
      if (mine.ec) return fail_with(mine.ec, std::move(mine.detail));
    }
  }
  for (auto& s : slots_) {
    if (!opts_.fresh) {
      // In key order: RocksDB inserts neighbouring keys far more cheaply.
      for (auto [key, e] : s.tx->dirty_sorted()) {
        if (e->value)
          b.put(s.tx->space(), *key, *e->value);
        else
          b.erase(s.tx->space(), *key);
      }
    }
    if (s.columns && !last) continue; // not written yet: its checkpoint stays
    if (s.pending != s.checkpoint) {
      b.set_checkpoint(s.checkpoint_name, s.pending);
      moved = true;
    }
  }
  if (!b.empty() || moved) {
    if (auto w = kv_->write(b, opts_.mode); !w)
      return fail_with(w.error(), fmt::format("committing views up to position {}: {}",
                                              position()(), w.error().message()));
  }
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    if (s.columns && !last) continue;
    s.checkpoint = s.pending;
    s.tx->clear();
    if (written[i]) {
      // Written out: later folds of this view read and write the store.
      s.columns.reset();
      s.tx = std::make_unique<view_txn>(*kv_, s.tx->space(), false);
    }
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
  thread_local std::vector<events::envelope_view> views;
  views.assign(page.begin(), page.end());
  if (auto r = fold(views); !r) {
    reset_pending();
    return r;
  }
  return commit();
}

namespace {

/// A page of a pipelined catch-up: read on the reader thread, then folded
/// by each group of views, then reused for a later page.
struct read_ahead_page {
  storage::log_page page;
  fold_error error;          ///< reading failed: the run ends here
  std::uint64_t ready = 0;   ///< n + 1 once it holds page n (its records read)
  std::uint64_t decoded = 0; ///< n + 1 once page n's records are decoded
  int folded = 0;            ///< groups of views done with it
};

} // namespace

result<std::uint64_t> projector::catch_up_pipelined(std::uint64_t from, std::uint64_t target,
                                                    const progress_fn& progress) {
  // Pages in flight: the reader thread reads page n while the groups of
  // views fold pages n - 1, n - 2, ... Each group plans and decodes its own
  // events (fold_group), and no group waits for the other at every page, so
  // the three threads share the two cores without idling.
  const std::size_t depth = std::max<std::size_t>(1, opts_.read_ahead_pages);
  // In fresh mode with threads, the executions view (the heaviest) folds on
  // the helper when it is columnar: nothing else touches its columns, its
  // rows or its pending position until the end, so this thread can commit
  // the others meanwhile. Otherwise this thread folds every view.
  std::size_t heavy = slots_.size();
  if (opts_.fresh && opts_.fresh_threads)
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].fold->name() == "executions" && slots_[i].columns) heavy = i;
  const int groups = heavy < slots_.size() ? 2 : 1;
  std::vector<read_ahead_page> ring(depth);
  std::mutex m;
  std::condition_variable cv;
  bool stop = false; // a group failed, or this thread is leaving: everyone stops
  const auto pages_of = log_->read_forward(log_position{from}, log_position{target});

  auto produce = [&] {
    for (std::uint64_t n = 0;; ++n) {
      auto& b = ring[n % depth];
      {
        std::unique_lock l{m};
        cv.wait(l, [&] { return stop || n < depth || b.folded == groups; });
        if (stop) return;
      }
      b.folded = 0;
      // Records only: this thread's CPU is the pipeline's head, so the
      // caller's thread decodes them (log_page::decode) before folding.
      if (auto r = pages_of->next(opts_.read_page, b.page, /*decode=*/false); !r)
        b.error = {r.error(), fmt::format("reading the log at position {}: {}",
                                          from + n * opts_.read_page, storage::error_detail())};
      const bool last = b.error.ec || b.page.size() == 0;
      {
        std::lock_guard l{m};
        b.ready = n + 1;
      }
      cv.notify_all();
      if (last) return;
    }
  };
  // Folds every page into one group of views, in order, until the end, an
  // error (returned; the others stop) or another group's error. The group
  // that `decodes` (the caller's) decodes each page first; the other waits
  // for that.
  auto consume = [&](bool decodes, auto&& fold_page) -> fold_error {
    for (std::uint64_t n = 0;; ++n) {
      auto& b = ring[n % depth];
      {
        std::unique_lock l{m};
        cv.wait(l, [&] { return stop || (decodes ? b.ready : b.decoded) == n + 1; });
        if (stop) return {};
      }
      if (decodes) {
        fold_error e;
        if (!b.error.ec && b.page.size() > 0)
          if (auto d = b.page.decode(); !d)
            e = {d.error(), fmt::format("reading the log at position {}: {}", b.page.first,
                                        storage::error_detail())};
        {
          std::lock_guard l{m};
          b.decoded = n + 1;
          stop = stop || e.ec;
        }
        cv.notify_all();
        if (e.ec) return e;
      }
      if (b.error.ec || b.page.size() == 0) return {}; // a read error is reported below
      fold_error e = fold_page(b.page.events);
      {
        std::lock_guard l{m};
        stop = stop || e.ec;
        ++b.folded;
      }
      cv.notify_all();
      if (e.ec) return e;
    }
  };

  std::future<void> producer = reader().submit(produce);
  std::future<fold_error> helped;
  log_position heavy_pending = heavy < slots_.size() ? slots_[heavy].pending : log_position{};
  if (heavy < slots_.size())
    helped = helper().submit([&] {
      auto& s = slots_[heavy];
      const fold_target mine[] = {{s.fold.get(), s.tx.get(), s.columns.get(), &heavy_pending}};
      projector_run_buffer buf;
      return consume(false, [&](std::span<const events::envelope_view> page) {
        return fold_group(mine, page, buf);
      });
    });
  struct join { // on every way out: stop the threads that use this frame
    std::future<void>& p;
    std::future<fold_error>& h;
    std::mutex& m;
    std::condition_variable& cv;
    bool& stop;
    ~join() {
      {
        std::lock_guard l{m};
        stop = true;
      }
      cv.notify_all();
      if (p.valid()) p.wait();
      if (h.valid()) h.wait();
    }
  };
  const auto others = targets_of(slots_, heavy);
  std::uint64_t folded = 0;
  fold_error mine;
  {
    join joined{producer, helped, m, cv, stop};
    helper_busy_ = heavy < slots_.size();
    mine = consume(true, [&](std::span<const events::envelope_view> page) -> fold_error {
      if (auto e = fold_group(others, page, buffer_); e.ec) return e;
      folded += page.size();
      uncommitted_ += page.size();
      if (opts_.fresh ? cached_bytes() >= opts_.fresh_cache_bytes
                      : uncommitted_ >= opts_.batch_events)
        if (auto c = commit(false); !c) return {c.error(), error_detail()};
      if (progress) progress(folded, target - from + 1);
      return {};
    });
    producer.get();
    if (helped.valid()) {
      // It ends with the last page (or a stop); then its pending is ours again.
      fold_error theirs = helped.get();
      if (!mine.ec) mine = std::move(theirs);
    }
    helper_busy_ = false;
  }
  if (heavy < slots_.size()) slots_[heavy].pending = heavy_pending;
  for (auto& b : ring) // the reader's error, if it had one
    if (b.error.ec && !mine.ec) mine = b.error;
  if (mine.ec) {
    reset_pending();
    return fail_with(mine.ec, std::move(mine.detail));
  }
  if (auto r = commit(true); !r) {
    reset_pending();
    return r.error();
  }
  return folded;
}

result<std::uint64_t> projector::catch_up(log_position until, const progress_fn& progress) {
  const std::uint64_t head = log_->head()();
  const std::uint64_t target = until() == 0 ? head : std::min(until(), head);
  const std::uint64_t from = position()() + 1;
  if (from > target) {
    if (auto r = commit(true); !r) return r.error();
    return std::uint64_t{0};
  }
  if (opts_.fresh && opts_.fresh_columnar)
    for (auto& s : slots_)
      if (s.checkpoint() == 0 && s.pending() == 0) s.columns = s.fold->columnar();
  return catch_up_pipelined(from, target, progress);
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
    if (end_a) return storage::escape_key(pb.rows[ib].first);
    if (end_b) return storage::escape_key(pa.rows[ia].first);
    if (pa.rows[ia] != pb.rows[ib])
      return storage::escape_key(std::min(pa.rows[ia].first, pb.rows[ib].first));
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
    // Only a space with rows is erased: a range tombstone over an empty space
    // would make every ingest of the fold land in L0 (above the tombstone) and
    // the whole views family be compacted again, competing with the fold.
    OTA_TRY(any, kv.scan(t.space, {}, 1));
    if (!any.rows.empty()) reset.erase_space(t.space);
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

result<std::uint32_t> stored_view_format(storage::kv_store& kv) {
  OTA_TRY(v, kv.get(meta_space, "@format"));
  if (!v) return std::uint32_t{1};
  if (v->size() != 8) return invalid(fmt::format("the stored view format has {} bytes", v->size()));
  return static_cast<std::uint32_t>(decode_generation(*v));
}

result<bool> reset_views_for_format(storage::kv_store& kv) {
  OTA_TRY(stored, stored_view_format(kv));
  if (stored == view_format) return false;
  storage::write_batch b;
  bool reset = false;
  for (auto name : view_names()) {
    std::string v{name};
    OTA_TRY(cp, kv.load_checkpoint(checkpoint_name(v)));
    if (cp() == 0) continue; // never folded: nothing in the old layout
    reset = true;
    OTA_TRY(g, live_generation(kv, v));
    b.put(meta_space, v, encode_generation(g + 1));
    b.erase_space(space_name(v, g));
    b.set_checkpoint(checkpoint_name(v), log_position{0});
  }
  b.put(meta_space, "@format", encode_generation(view_format)); // be64, like generations
  OTA_TRYV(kv.write(b, storage::write_mode::sync));
  return reset;
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
