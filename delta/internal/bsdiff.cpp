#include "delta/internal/bsdiff.hpp"

#include "base/bytes.hpp"
#include "delta/internal/format.hpp"

#include <divsufsort.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace otaledger::delta::internal {
namespace {

using u8 = std::uint8_t;

using base::load64;

/// base::common_prefix of [a, a + an) and [b, b + bn) (a length below 0: none).
std::int64_t common_prefix(const u8* a, std::int64_t an, const u8* b, std::int64_t bn) {
  const auto bytes = [](const u8* p, std::int64_t n) {
    return std::string_view{reinterpret_cast<const char*>(p),
                            static_cast<std::size_t>(std::max<std::int64_t>(n, 0))};
  };
  return static_cast<std::int64_t>(base::common_prefix(bytes(a, an), bytes(b, bn)));
}

// Longest prefix of a position of the new image occurring in the old image,
// by binary search of the old image's suffix array: the longest common prefix
// is with one of the two suffixes that bracket the position's place in sorted
// order (the lower one on a tie), as in bsdiff.
//
// Two things make it fast without changing any result (docs/delta.md, "The
// differ"): (1) a table of where each 2-byte prefix's suffixes lie narrows the
// search to that bucket (about 70 suffixes on average instead of the whole
// image), a bucket of more than sub_bucket_min suffixes further to those with
// the pattern's third byte, and every comparison starts past the prefix that
// the two current bounds already share with the pattern; (2) the scan asks
// for consecutive positions in runs, so searches are run in batches of
// interleaved lanes whose memory loads overlap (each step of a lone search
// waits on two cache misses: the suffix array and the old image).
class suffix_searcher {
public:
  struct match {
    std::int64_t len = 0, pos = 0;
  };

  suffix_searcher(const u8* old, std::int64_t old_size, const suffix_index& index)
      : old_(old), n_(old_size), sa_(index.sa.data()), count_(index.count.data()),
        start_(index.start.data()), sub_(index.sub.empty() ? nullptr : index.sub.data()),
        sub_start_(index.sub_start.data()) {}

  /// The longest matches of `count` patterns (at most `max_lanes`). (The
  /// expected positions matter to hash_searcher only.)
  void search(const u8* const* p, const std::int64_t* p_size, match* out, int count,
              std::int64_t /*expect*/ = 0) const {
    lane ln[max_lanes];
    for (int i = 0; i < count; ++i) {
      lane& l = ln[i];
      l.p = p[i];
      l.p_size = p_size[i];
      if (n_ == 0 || l.p_size == 0) {
        l.L = l.R = 0;
        l.trivial = true;
        continue;
      }
      if (n_ >= 2 && l.p_size >= 2) {
        const unsigned v = key(l.p);
        if (l.p_size >= 3 && sub_ && sub_[v] >= 0) {
          const std::uint32_t* t = sub_start_ + 257 * static_cast<std::size_t>(sub_[v]) + l.p[2];
          l.L = t[0];
          l.R = t[1];
          l.l_left = l.l_right = 3;
        } else {
          l.L = start_[v];
          l.R = l.L + count_[v];
          l.l_left = l.l_right = 2;
        }
      } else {
        l.L = 0;
        l.R = n_;
        l.l_left = l.l_right = 0;
      }
    }
    // k = the first index whose suffix is not below the pattern, in [L, R].
    for (;;) {
      bool active = false;
      for (int i = 0; i < count; ++i) {
        lane& l = ln[i];
        if (l.trivial || l.L >= l.R) continue;
        active = true;
        l.mid = l.L + (l.R - l.L) / 2;
        __builtin_prefetch(&sa_[static_cast<std::size_t>(l.mid)]);
      }
      if (!active) break;
      for (int i = 0; i < count; ++i) {
        lane& l = ln[i];
        if (l.trivial || l.L >= l.R) continue;
        l.s = sa_[static_cast<std::size_t>(l.mid)];
        __builtin_prefetch(old_ + l.s + std::min(l.l_left, l.l_right));
      }
      for (int i = 0; i < count; ++i) {
        lane& l = ln[i];
        if (l.trivial || l.L >= l.R) continue;
        const std::int64_t lcp = lcp_at(l, l.s, std::min(l.l_left, l.l_right));
        const std::int64_t n = std::min(n_ - l.s, l.p_size);
        // As memcmp(old + s, p, n) < 0, or equal with the suffix shorter than p.
        const bool below = lcp < n ? old_[l.s + lcp] < l.p[lcp] : n_ - l.s < l.p_size;
        if (below) {
          l.L = l.mid + 1;
          l.l_left = lcp;
        } else {
          l.R = l.mid;
          l.l_right = lcp;
        }
      }
    }
    // The bracketing pair as the whole-array search [0, n-1] ends with it.
    for (int i = 0; i < count; ++i) {
      lane& l = ln[i];
      if (l.trivial) continue;
      const std::int64_t k = l.L;
      if (n_ == 1)
        l.lo = l.hi = 0;
      else if (k == 0)
        l.lo = 0, l.hi = 1;
      else if (k == n_)
        l.lo = n_ - 2, l.hi = n_ - 1;
      else
        l.lo = k - 1, l.hi = k;
      l.s_lo = sa_[static_cast<std::size_t>(l.lo)];
      l.s_hi = sa_[static_cast<std::size_t>(l.hi)];
      __builtin_prefetch(old_ + l.s_lo);
      __builtin_prefetch(old_ + l.s_hi);
    }
    for (int i = 0; i < count; ++i) {
      lane& l = ln[i];
      if (l.trivial) {
        out[i] = {};
        continue;
      }
      const std::int64_t l_lo = lcp_at(l, l.s_lo, 0);
      const std::int64_t l_hi = l.hi == l.lo ? l_lo : lcp_at(l, l.s_hi, 0);
      out[i] = l_lo >= l_hi ? match{l_lo, l.s_lo} : match{l_hi, l.s_hi};
    }
  }

  static constexpr int max_lanes = 32;

private:
  struct lane {
    const u8* p;
    std::int64_t p_size, L, R, l_left, l_right, mid, s, lo, hi, s_lo, s_hi;
    bool trivial = false;
  };

public:
  static unsigned key(const u8* p) { return (unsigned{p[0]} << 8) | p[1]; }

private:
  std::int64_t lcp_at(const lane& l, std::int64_t s, std::int64_t from) const {
    return from + common_prefix(old_ + s + from, n_ - s - from, l.p + from, l.p_size - from);
  }

  const u8* old_;
  std::int64_t n_;
  const std::int32_t* sa_;
  const std::uint32_t *count_, *start_;
  const std::int32_t* sub_;
  const std::uint32_t* sub_start_;
};

// Matches through the hash index (hash_index in bsdiff.hpp): for each
// pattern, the positions of its bucket nearest to the expected one (lane i
// expects `expect + i`: where the current alignment puts it), and the expected
// position itself; the longest match wins, the nearest on a tie. Lanes are
// interleaved as in suffix_searcher so that their cache misses overlap.
class hash_searcher {
public:
  using match = suffix_searcher::match;
  static constexpr int max_lanes = suffix_searcher::max_lanes;

  hash_searcher(const u8* old, std::int64_t old_size, const hash_index& index)
      : old_(old), n_(old_size), bits_(index.bits), start_(index.start.data()),
        pos_(index.pos.data()) {}

  static std::uint32_t bucket(std::uint64_t gram, int bits) {
    return static_cast<std::uint32_t>((gram * 0x9E3779B97F4A7C15ull) >> (64 - bits));
  }

  void search(const u8* const* p, const std::int64_t* p_size, match* out, int count,
              std::int64_t expect) const {
    static_assert(hash_gram == 8);
    struct lane {
      std::uint64_t gram;
      std::int64_t e;
      std::uint32_t b, from, to;
      bool hashed;
    } ln[max_lanes];
    for (int i = 0; i < count; ++i) {
      lane& l = ln[i];
      l.e = std::clamp<std::int64_t>(expect + i, 0, std::max<std::int64_t>(0, n_ - 1));
      l.hashed = bits_ > 0 && p_size[i] >= hash_gram;
      if (l.hashed) {
        l.gram = load64(p[i]);
        l.b = bucket(l.gram, bits_);
        __builtin_prefetch(start_ + l.b);
      }
      if (l.e < n_) __builtin_prefetch(old_ + l.e);
    }
    for (int i = 0; i < count; ++i) {
      lane& l = ln[i];
      if (!l.hashed) continue;
      l.from = start_[l.b];
      l.to = start_[l.b + 1];
      if (l.to - l.from > static_cast<std::uint32_t>(hash_candidates)) {
        const std::uint32_t k = static_cast<std::uint32_t>(
            std::lower_bound(pos_ + l.from, pos_ + l.to, static_cast<std::uint32_t>(l.e)) - pos_);
        l.from = std::clamp<std::uint32_t>(k - std::min<std::uint32_t>(k, hash_candidates / 2),
                                           l.from, l.to - hash_candidates);
        l.to = l.from + hash_candidates;
      }
      __builtin_prefetch(pos_ + l.from);
    }
    for (int i = 0; i < count; ++i) {
      const lane& l = ln[i];
      if (!l.hashed) continue;
      for (std::uint32_t c = l.from; c < l.to; ++c)
        __builtin_prefetch(old_ + pos_[c]);
    }
    for (int i = 0; i < count; ++i) {
      const lane& l = ln[i];
      match best{};
      std::int64_t best_dist = 0; // the expected position's
      if (l.e < n_) best = {common_prefix(old_ + l.e, n_ - l.e, p[i], p_size[i]), l.e};
      if (l.hashed) {
        for (std::uint32_t c = l.from; c < l.to; ++c) {
          const std::int64_t q = pos_[c];
          if (q == l.e || load64(old_ + q) != l.gram) continue;
          const std::int64_t len =
              hash_gram + common_prefix(old_ + q + hash_gram, n_ - q - hash_gram, p[i] + hash_gram,
                                        p_size[i] - hash_gram);
          const std::int64_t dist = q > l.e ? q - l.e : l.e - q;
          if (len > best.len || (len == best.len && dist < best_dist)) {
            best = {len, q};
            best_dist = dist;
          }
        }
      }
      out[i] = best;
    }
  }

private:
  const u8* old_;
  std::int64_t n_;
  int bits_;
  const std::uint32_t* start_;
  const std::uint32_t* pos_;
};

// The scan asks for positions in increasing order, mostly one after another:
// answers them from batches that grow while the requests stay consecutive
// (1, 2, 4, ... lanes), so a scan that jumps ahead wastes little.
template <class Searcher> class match_cache {
public:
  match_cache(const Searcher& s, const u8* nw, std::int64_t new_size)
      : s_(s), nw_(nw), new_size_(new_size) {}

  /// The match at `scan`; `expect`: the old position the current alignment
  /// puts it at.
  suffix_searcher::match at(std::int64_t scan, std::int64_t expect) {
    if (scan >= from_ && scan < from_ + n_) return m_[scan - from_];
    batch_ = scan == from_ + n_ ? std::min(batch_ * 2, suffix_searcher::max_lanes) : 1;
    n_ = static_cast<int>(std::min<std::int64_t>(batch_, new_size_ - scan));
    from_ = scan;
    const u8* p[suffix_searcher::max_lanes];
    std::int64_t ps[suffix_searcher::max_lanes];
    for (int i = 0; i < n_; ++i) {
      p[i] = nw_ + scan + i;
      ps[i] = new_size_ - scan - i;
    }
    s_.search(p, ps, m_, n_, expect);
    return m_[0];
  }

private:
  const Searcher& s_;
  const u8* nw_;
  std::int64_t new_size_;
  std::int64_t from_ = 0;
  int n_ = 0, batch_ = 1;
  suffix_searcher::match m_[suffix_searcher::max_lanes];
};

class command_writer {
public:
  command_writer(const u8* old, const u8* nw, command_stats* stats)
      : old_(old), new_(nw), stats_(stats) {}

  // new[new_from, +diff_len) = old[old_from, +diff_len) + body bytes, then
  // new[new_from + diff_len, +extra_len) literally.
  void emit(std::int64_t old_from, std::int64_t new_from, std::int64_t diff_len,
            std::int64_t extra_len) {
    if (diff_len + extra_len == 0) return; // commands always yield bytes
    std::int64_t seek = 0;
    if (diff_len > 0) {
      seek = old_from - cursor_;
      cursor_ = old_from + diff_len;
    }
    put_varint(out_, zigzag(seek));
    put_varint(out_, static_cast<std::uint64_t>(diff_len));
    put_varint(out_, static_cast<std::uint64_t>(extra_len));
    for (std::int64_t i = 0; i < diff_len; ++i)
      out_.push_back(static_cast<char>(static_cast<u8>(new_[new_from + i] - old_[old_from + i])));
    out_.append(reinterpret_cast<const char*>(new_ + new_from + diff_len),
                static_cast<std::size_t>(extra_len));
    if (stats_) {
      ++stats_->commands;
      stats_->diff_bytes += static_cast<std::uint64_t>(diff_len);
      stats_->extra_bytes += static_cast<std::uint64_t>(extra_len);
    }
  }

  std::string take() { return std::move(out_); }

private:
  const u8* old_;
  const u8* new_;
  command_stats* stats_;
  std::int64_t cursor_ = 0;
  std::string out_;
};

// One command of the cover, before it is written.
struct cover_cmd {
  std::int64_t old_from, new_from, diff_len, extra_len;
};

// The scan (after Percival's bsdiff) over new[seg_from, seg_to): `scan` walks
// the segment; a match found at `pos` is taken when it is exact and not just
// the continuation of the previous alignment (`old_score` counts how many
// bytes the previous alignment, `last_offset`, already gets right), or beats
// it by more than 8. Matches do not reach past the segment's end, so a
// segment's commands cover exactly the segment.
//
// A segment after the first starts with the alignment (old - new offset)
// that agrees best with the bytes before it (seed_offset): a scan started
// cold takes whatever exact match comes first and, in code where a fifth of
// the bytes changed (relocations), can keep a poor alignment for hundreds of
// kilobytes where a single scan would have kept the right one.
template <class Searcher>
std::optional<std::int64_t> seed_offset(const Searcher& searcher, const u8* old,
                                        std::int64_t old_size, const u8* nw, std::int64_t new_size,
                                        std::int64_t seam) {
  constexpr std::int64_t window = 4096, probes = 32;
  const std::int64_t from = std::max<std::int64_t>(0, seam - window);
  if (seam - from < 64) return std::nullopt;
  std::vector<std::int64_t> candidates;
  for (std::int64_t k = 0; k < probes; ++k) {
    const std::int64_t p = from + (seam - from) * k / probes;
    const u8* pat = nw + p;
    const std::int64_t pat_size = new_size - p;
    suffix_searcher::match m;
    searcher.search(&pat, &pat_size, &m, 1, p);
    if (m.len >= 8) candidates.push_back(m.pos - p);
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::optional<std::int64_t> best;
  std::int64_t best_score = (seam - from) / 4; // at least a quarter of the bytes agree
  for (const std::int64_t off : candidates) {
    std::int64_t score = 0;
    for (std::int64_t q = from; q < seam; ++q)
      score += q + off >= 0 && q + off < old_size && old[q + off] == nw[q];
    if (score > best_score) {
      best_score = score;
      best = off;
    }
  }
  return best;
}

template <class Searcher>
void scan_segment(const Searcher& searcher, const u8* old, std::int64_t old_size, const u8* nw,
                  std::int64_t nw_size, std::int64_t seg_from, std::int64_t seg_to,
                  std::vector<cover_cmd>& out) {
  const u8* seg = nw + seg_from;
  const std::int64_t new_size = seg_to - seg_from;
  match_cache<Searcher> matches(searcher, seg, new_size);
  auto emit = [&](std::int64_t old_from, std::int64_t new_from, std::int64_t diff_len,
                  std::int64_t extra_len) {
    if (diff_len + extra_len > 0)
      out.push_back({old_from, seg_from + new_from, diff_len, extra_len});
  };
  auto same = [&](std::int64_t o, std::int64_t n) {
    return o >= 0 && o < old_size && old[o] == seg[n];
  };

  std::int64_t scan = 0, len = 0, pos = 0;
  std::int64_t last_scan = 0, last_pos = 0, last_offset = 0;
  if (seg_from > 0) {
    if (const auto off = seed_offset(searcher, old, old_size, nw, nw_size, seg_from)) {
      last_pos = std::clamp<std::int64_t>(seg_from + *off, 0, old_size);
      last_offset = seg_from + *off;
    }
  }
  while (scan < new_size) {
    std::int64_t old_score = 0;
    std::int64_t scsc = scan += len;
    for (; scan < new_size; ++scan) {
      const auto m = matches.at(scan, scan + last_offset);
      len = m.len;
      pos = m.pos;
      for (; scsc < scan + len; ++scsc)
        if (same(scsc + last_offset, scsc)) ++old_score;
      if ((len == old_score && len != 0) || len > old_score + 8) break;
      if (same(scan + last_offset, scan)) --old_score;
    }
    if (len == old_score && scan != new_size) continue;

    // Extend the previous alignment forward from last_scan while it is right
    // more than half of the time...
    std::int64_t lenf = 0;
    {
      std::int64_t s = 0, best = 0;
      for (std::int64_t i = 0; last_scan + i < scan && last_pos + i < old_size;) {
        if (old[last_pos + i] == seg[last_scan + i]) ++s;
        ++i;
        if (s * 2 - i > best * 2 - lenf) {
          best = s;
          lenf = i;
        }
      }
    }
    // ...and the new match backward from scan the same way.
    std::int64_t lenb = 0;
    if (scan < new_size) {
      std::int64_t s = 0, best = 0;
      for (std::int64_t i = 1; scan >= last_scan + i && pos >= i; ++i) {
        if (old[pos - i] == seg[scan - i]) ++s;
        if (s * 2 - i > best * 2 - lenb) {
          best = s;
          lenb = i;
        }
      }
    }
    // Where the two extensions overlap, split at the point that keeps most
    // matching bytes.
    if (last_scan + lenf > scan - lenb) {
      const std::int64_t overlap = (last_scan + lenf) - (scan - lenb);
      std::int64_t s = 0, best = 0, lens = 0;
      for (std::int64_t i = 0; i < overlap; ++i) {
        if (seg[last_scan + lenf - overlap + i] == old[last_pos + lenf - overlap + i]) ++s;
        if (seg[scan - lenb + i] == old[pos - lenb + i]) --s;
        if (s > best) {
          best = s;
          lens = i + 1;
        }
      }
      lenf += lens - overlap;
      lenb -= lens;
    }

    emit(last_pos, last_scan, lenf, (scan - lenb) - (last_scan + lenf));
    last_scan = scan - lenb;
    last_pos = pos - lenb;
    last_offset = pos - scan;
  }
}

// The command stream of the whole new image: scanned in segments on up to
// scan_threads threads, joined in order.
template <class Searcher>
std::string scan_all(const Searcher& searcher, std::span<const std::uint8_t> old_image,
                     std::span<const std::uint8_t> new_image, command_stats* stats) {
  const u8* old = old_image.data();
  const u8* nw = new_image.data();
  const auto old_size = static_cast<std::int64_t>(old_image.size());
  const auto new_size = static_cast<std::int64_t>(new_image.size());

  // A large new image is scanned in segments of scan_segment_bytes, taken in
  // turn by up to scan_threads threads (changes cluster, so equal halves
  // would leave one thread idle). The segments depend on the size only and
  // are joined in order, so the output does not depend on the machine or on
  // the scheduling.
  const std::int64_t segments =
      new_size >= parallel_min_bytes
          ? std::max<std::int64_t>(2, (new_size + scan_segment_bytes - 1) / scan_segment_bytes)
          : 1;
  const std::int64_t seg_len = (new_size + segments - 1) / std::max<std::int64_t>(1, segments);
  std::vector<std::vector<cover_cmd>> parts(static_cast<std::size_t>(segments));
  std::atomic<std::int64_t> next{0};
  auto worker = [&] {
    for (std::int64_t i; (i = next.fetch_add(1)) < segments;)
      scan_segment(searcher, old, old_size, nw, new_size, i * seg_len,
                   std::min(new_size, (i + 1) * seg_len), parts[static_cast<std::size_t>(i)]);
  };
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const auto helpers =
      static_cast<unsigned>(std::min<std::int64_t>(segments - 1, std::min(hw, scan_threads) - 1));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < helpers; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto& t : pool)
    t.join();

  command_writer w(old, nw, stats);
  for (const auto& part : parts)
    for (const cover_cmd& c : part)
      w.emit(c.old_from, c.new_from, c.diff_len, c.extra_len);
  return w.take();
}

} // namespace

std::shared_ptr<const suffix_index> build_suffix_index(std::span<const std::uint8_t> old_image) {
  static_assert(std::is_same_v<saidx_t, std::int32_t>);
  auto index = std::make_shared<suffix_index>();
  const u8* old = old_image.data();
  const auto n = static_cast<std::int64_t>(old_image.size());
  if (n == 0) return index;
  index->sa.resize(static_cast<std::size_t>(n));
  // Suffixes of 2+ bytes by their first two bytes; the 1-byte suffix (the
  // last byte x) sorts just before all suffixes starting with x. Counted on
  // a second thread while libdivsufsort sorts (large images only).
  auto buckets = [&] {
    if (n < 2) return;
    index->count.assign(65536, 0);
    index->start.assign(65536, 0);
    for (std::int64_t i = 0; i + 1 < n; ++i)
      ++index->count[suffix_searcher::key(old + i)];
    const unsigned last = old[n - 1];
    std::int64_t sum = 0;
    for (unsigned v = 0; v < 65536; ++v) {
      index->start[v] = static_cast<std::uint32_t>(sum + ((v >> 8) >= last ? 1 : 0));
      sum += index->count[v];
    }
    // The large buckets by their third byte. Within bucket v the 2-byte
    // suffix (the last two bytes, if they are v) comes first, then the
    // suffixes by third byte.
    std::int32_t big = 0;
    index->sub.assign(65536, -1);
    for (unsigned v = 0; v < 65536; ++v)
      if (index->count[v] > sub_bucket_min) index->sub[v] = big++;
    if (big == 0) {
      index->sub.clear();
      return;
    }
    index->sub_start.assign(257 * static_cast<std::size_t>(big), 0);
    for (std::int64_t i = 0; i + 2 < n; ++i)
      if (const std::int32_t j = index->sub[suffix_searcher::key(old + i)]; j >= 0)
        ++index->sub_start[257 * static_cast<std::size_t>(j) + old[i + 2]];
    const unsigned last2 = suffix_searcher::key(old + n - 2);
    for (unsigned v = 0; v < 65536; ++v) {
      const std::int32_t j = index->sub[v];
      if (j < 0) continue;
      std::uint32_t* t = index->sub_start.data() + 257 * static_cast<std::size_t>(j);
      std::uint32_t at = index->start[v] + (v == last2 ? 1 : 0);
      for (unsigned c = 0; c < 257; ++c) {
        const std::uint32_t k = c < 256 ? t[c] : 0;
        t[c] = at;
        at += k;
      }
    }
  };
  if (n >= parallel_min_bytes) {
    std::thread t(buckets);
    divsufsort(old, index->sa.data(), static_cast<saidx_t>(n));
    t.join();
  } else {
    divsufsort(old, index->sa.data(), static_cast<saidx_t>(n));
    buckets();
  }
  return index;
}

std::shared_ptr<const hash_index> build_hash_index(std::span<const std::uint8_t> old_image) {
  auto index = std::make_shared<hash_index>();
  const u8* old = old_image.data();
  const auto n = static_cast<std::int64_t>(old_image.size());
  if (n < hash_gram) return index;
  // About two positions per bucket (4 bytes per old byte for the positions,
  // at most 2 for the bucket starts).
  index->bits =
      std::clamp(static_cast<int>(std::bit_width(static_cast<std::uint64_t>(n))) - 2, 8, 28);
  const std::size_t buckets = std::size_t{1} << index->bits;
  const std::int64_t last = n - hash_gram; // the last position with a whole gram
  // Inside a run of one byte value only the run's first and last grams are
  // kept: the first matches the longest run, the last what follows the run.
  auto kept = [&](std::int64_t i) {
    if (i == 0 || i == last) return true;
    const std::uint64_t g = load64(old + i);
    return g != load64(old + i - 1) || g != load64(old + i + 1);
  };
  // A counting sort by bucket, the old image split in `parts` ranges each
  // counted and scattered by its own thread into its own slice of every
  // bucket (range t's positions after range t - 1's: the order, hence the
  // output, does not depend on the threads).
  const int parts = n >= parallel_min_bytes ? 2 : 1;
  std::vector<std::vector<std::uint32_t>> at(static_cast<std::size_t>(parts));
  auto range = [&](int t) {
    return std::pair{(last + 1) * t / parts, (last + 1) * (t + 1) / parts};
  };
  auto run = [&](auto&& job) {
    std::vector<std::thread> pool;
    for (int t = 1; t < parts; ++t)
      pool.emplace_back(job, t);
    job(0);
    for (auto& th : pool)
      th.join();
  };
  const int bits = index->bits;
  run([&](int t) {
    auto& count = at[static_cast<std::size_t>(t)];
    count.assign(buckets, 0);
    const auto [from, to] = range(t);
    for (std::int64_t i = from; i < to; ++i)
      if (kept(i)) ++count[hash_searcher::bucket(load64(old + i), bits)];
  });
  auto& start = index->start;
  start.resize(buckets + 1);
  std::uint32_t total = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    start[b] = total;
    for (auto& count : at) {
      const std::uint32_t c = count[b];
      count[b] = total;
      total += c;
    }
  }
  start[buckets] = total;
  index->pos.resize(total);
  run([&](int t) {
    auto& next = at[static_cast<std::size_t>(t)];
    const auto [from, to] = range(t);
    for (std::int64_t i = from; i < to; ++i)
      if (kept(i))
        index->pos[next[hash_searcher::bucket(load64(old + i), bits)]++] =
            static_cast<std::uint32_t>(i);
  });
  return index;
}

std::string make_commands(std::span<const std::uint8_t> old_image,
                          std::span<const std::uint8_t> new_image, command_stats* stats,
                          const suffix_index* index, const hash_index* hashed) {
  const u8* old = old_image.data();
  const auto old_size = static_cast<std::int64_t>(old_image.size());
  if (hashed) return scan_all(hash_searcher(old, old_size, *hashed), old_image, new_image, stats);
  std::shared_ptr<const suffix_index> own;
  if (!index) {
    own = build_suffix_index(old_image);
    index = own.get();
  }
  return scan_all(suffix_searcher(old, old_size, *index), old_image, new_image, stats);
}

} // namespace otaledger::delta::internal
