#include "delta/internal/bsdiff.hpp"

#include "delta/internal/format.hpp"

#include <divsufsort.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace otaledger::delta::internal {
namespace {

using u8 = std::uint8_t;

std::int64_t common_prefix(const u8* a, std::int64_t an, const u8* b, std::int64_t bn) {
  const std::int64_t n = std::min(an, bn);
  std::int64_t i = 0;
  while (i < n && a[i] == b[i])
    ++i;
  return i;
}

// Longest prefix of `p` occurring in `old`, by binary search of its suffix
// array: the longest common prefix is with one of the two suffixes that
// bracket p's place in sorted order. Sets `pos` to where it starts in old.
std::int64_t longest_match(const std::vector<saidx_t>& sa, const u8* old, std::int64_t old_size,
                           const u8* p, std::int64_t p_size, std::int64_t& pos) {
  if (old_size == 0 || p_size == 0) {
    pos = 0;
    return 0;
  }
  std::int64_t lo = 0, hi = old_size - 1;
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    const std::int64_t s = sa[static_cast<std::size_t>(mid)];
    const std::int64_t n = std::min(old_size - s, p_size);
    const int c = std::memcmp(old + s, p, static_cast<std::size_t>(n));
    if (c < 0 || (c == 0 && old_size - s < p_size))
      lo = mid;
    else
      hi = mid;
  }
  const std::int64_t s_lo = sa[static_cast<std::size_t>(lo)];
  const std::int64_t s_hi = sa[static_cast<std::size_t>(hi)];
  const std::int64_t l_lo = common_prefix(old + s_lo, old_size - s_lo, p, p_size);
  const std::int64_t l_hi = common_prefix(old + s_hi, old_size - s_hi, p, p_size);
  if (l_lo >= l_hi) {
    pos = s_lo;
    return l_lo;
  }
  pos = s_hi;
  return l_hi;
}

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

} // namespace

std::string make_commands(std::span<const std::uint8_t> old_image,
                          std::span<const std::uint8_t> new_image, command_stats* stats) {
  const u8* old = old_image.data();
  const u8* nw = new_image.data();
  const auto old_size = static_cast<std::int64_t>(old_image.size());
  const auto new_size = static_cast<std::int64_t>(new_image.size());

  std::vector<saidx_t> sa;
  if (old_size > 0) {
    sa.resize(static_cast<std::size_t>(old_size));
    divsufsort(old, sa.data(), static_cast<saidx_t>(old_size));
  }

  command_writer w(old, nw, stats);
  auto same = [&](std::int64_t o, std::int64_t n) {
    return o >= 0 && o < old_size && old[o] == nw[n];
  };

  // The scan (after Percival's bsdiff): `scan` walks the new image; a match
  // found at `pos` is taken when it is exact and not just the continuation of
  // the previous alignment (`old_score` counts how many bytes the previous
  // alignment, `last_offset`, already gets right), or beats it by more than 8.
  std::int64_t scan = 0, len = 0, pos = 0;
  std::int64_t last_scan = 0, last_pos = 0, last_offset = 0;
  while (scan < new_size) {
    std::int64_t old_score = 0;
    std::int64_t scsc = scan += len;
    for (; scan < new_size; ++scan) {
      len = longest_match(sa, old, old_size, nw + scan, new_size - scan, pos);
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
        if (old[last_pos + i] == nw[last_scan + i]) ++s;
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
        if (old[pos - i] == nw[scan - i]) ++s;
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
        if (nw[last_scan + lenf - overlap + i] == old[last_pos + lenf - overlap + i]) ++s;
        if (nw[scan - lenb + i] == old[pos - lenb + i]) --s;
        if (s > best) {
          best = s;
          lens = i + 1;
        }
      }
      lenf += lens - overlap;
      lenb -= lens;
    }

    w.emit(last_pos, last_scan, lenf, (scan - lenb) - (last_scan + lenf));
    last_scan = scan - lenb;
    last_pos = pos - lenb;
    last_offset = pos - scan;
  }
  return w.take();
}

} // namespace otaledger::delta::internal
