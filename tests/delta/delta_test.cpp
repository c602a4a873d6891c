#define BOOST_TEST_MODULE delta
#include <boost/test/unit_test.hpp>

#include "base/crc32c.hpp"
#include "delta/c/otaledger_patch.h"
#include "delta/delta.hpp"
#include "delta/internal/bsdiff.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace otaledger;
using delta::as_bytes;
using delta::errc;

namespace {

using bytes = std::string;

bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  bytes b(n, '\0');
  for (auto& c : b)
    c = static_cast<char>(rng() & 0xFF);
  return b;
}

// Something shaped like a firmware image: a vector table and code-like words
// with pointers into the image, string tables, and erased-flash padding.
bytes firmware_like(std::mt19937_64& rng, std::size_t n) {
  bytes b;
  b.reserve(n);
  auto put32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      b.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  for (int i = 0; i < 48 && b.size() + 4 <= n; ++i)
    put32(0x08000000u + (rng() % n & ~1u) + 1);
  const char* words[] = {"error", "flash", "sensor", "battery", "update", "device", "signal"};
  while (b.size() < n) {
    switch (rng() % 8) {
    case 0: // string
      b += words[rng() % 7];
      b.push_back('\0');
      break;
    case 1: // padding
      b.append(std::min<std::size_t>(n - b.size(), rng() % 64), static_cast<char>(0xFF));
      break;
    default: // instructions: a few opcodes, pointer-ish operands
      put32(static_cast<std::uint32_t>(0xF000F800u | (rng() % 16)));
      put32(0x08000000u + static_cast<std::uint32_t>(rng() % n));
      put32(static_cast<std::uint32_t>(rng() % 256));
    }
  }
  b.resize(n);
  return b;
}

// Edits as a new firmware release makes them.
bytes insert_at(bytes b, std::size_t at, const bytes& what) {
  b.insert(std::min(at, b.size()), what);
  return b;
}
bytes erase_at(bytes b, std::size_t at, std::size_t n) {
  if (at < b.size()) b.erase(at, n);
  return b;
}
bytes move_block(bytes b, std::size_t from, std::size_t n, std::size_t to) {
  if (from >= b.size()) return b;
  const bytes block = b.substr(from, n);
  b.erase(from, block.size());
  b.insert(std::min(to, b.size()), block);
  return b;
}
// Relocation: every 32-bit little-endian word that looks like a pointer moves.
bytes relocate(bytes b, std::uint32_t delta_addr) {
  for (std::size_t i = 0; i + 4 <= b.size(); i += 4) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + i, 4);
    if ((v & 0xFF000000u) == 0x08000000u) {
      v += delta_addr;
      std::memcpy(b.data() + i, &v, 4);
    }
  }
  return b;
}

bytes random_edit(std::mt19937_64& rng, const bytes& old) {
  bytes b = old;
  const int edits = 1 + static_cast<int>(rng() % 6);
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = b.empty() ? 0 : rng() % b.size();
    switch (rng() % 5) {
    case 0:
      b = insert_at(b, at, random_bytes(rng, rng() % 300));
      break;
    case 1:
      b = erase_at(b, at, rng() % 300);
      break;
    case 2:
      b = move_block(b, at, rng() % 2000, b.empty() ? 0 : rng() % b.size());
      break;
    case 3:
      for (int i = 0; i < 20 && !b.empty(); ++i)
        b[rng() % b.size()] = static_cast<char>(rng());
      break;
    default:
      b = relocate(b, 0x40 * static_cast<std::uint32_t>(rng() % 8));
    }
  }
  return b;
}

// ---- the C99 applier over in-memory buffers, with checks on its I/O -------

struct c_harness {
  c_harness(std::string_view o, std::string_view d) : old(o), delta(d) {}
  std::string_view old, delta;
  std::size_t delta_pos = 0;
  std::size_t read_chunk = SIZE_MAX; // largest count read_delta hands out per call
  bytes out;
  bool out_of_bounds_read = false;
  std::size_t largest_old_read = 0;

  static int read_delta(void* u, std::uint8_t* buf, std::size_t cap, std::size_t* got) {
    auto* h = static_cast<c_harness*>(u);
    const std::size_t n = std::min({cap, h->read_chunk, h->delta.size() - h->delta_pos});
    std::memcpy(buf, h->delta.data() + h->delta_pos, n);
    h->delta_pos += n;
    *got = n;
    return 0;
  }
  static int read_old(void* u, std::uint64_t off, std::uint8_t* buf, std::size_t len) {
    auto* h = static_cast<c_harness*>(u);
    h->largest_old_read = std::max(h->largest_old_read, len);
    if (off > h->old.size() || len > h->old.size() - off) {
      h->out_of_bounds_read = true;
      return -1;
    }
    std::memcpy(buf, h->old.data() + off, len);
    return 0;
  }
  static int write_new(void* u, const std::uint8_t* buf, std::size_t len) {
    static_cast<c_harness*>(u)->out.append(reinterpret_cast<const char*>(buf), len);
    return 0;
  }

  otaledger_patch_io io() {
    otaledger_patch_io io{};
    io.user = this;
    io.old_available = old.size();
    io.read_delta = &read_delta;
    io.read_old = &read_old;
    io.write_new = &write_new;
    return io;
  }
};

// Applies with the C applier in a buffer of exactly `work_size` bytes followed
// by guard bytes that must stay untouched.
int c_apply(const bytes& old, const bytes& delta, bytes& out, std::size_t work_size,
            std::size_t read_chunk = SIZE_MAX, std::size_t misalign = 0) {
  c_harness h{old, delta};
  h.read_chunk = read_chunk;
  std::vector<std::uint8_t> mem(misalign + work_size + 64, 0xA5);
  auto io = h.io();
  const int rc = otaledger_patch_apply(&io, mem.data() + misalign, work_size, nullptr);
  for (std::size_t i = 0; i < misalign; ++i)
    BOOST_REQUIRE_EQUAL(mem[i], 0xA5);
  for (std::size_t i = misalign + work_size; i < mem.size(); ++i)
    BOOST_REQUIRE_MESSAGE(mem[i] == 0xA5, "the C applier wrote past its work buffer");
  BOOST_REQUIRE(!h.out_of_bounds_read);
  out = std::move(h.out);
  return rc;
}

// ------------------------------------------------- reference differ (bsdiff)

// The differ as first written: a plain binary search over the whole suffix
// array per position (suffix array by a naive sort here). The real differ
// (delta/internal/bsdiff.cpp) narrows the search with a 2-byte bucket table
// and runs searches in interleaved batches; it must produce exactly the same
// command stream.
namespace reference {

using u8 = std::uint8_t;

std::int64_t common_prefix(const u8* a, std::int64_t an, const u8* b, std::int64_t bn) {
  std::int64_t i = 0;
  while (i < std::min(an, bn) && a[i] == b[i])
    ++i;
  return i;
}

std::int64_t longest_match(const std::vector<std::int64_t>& sa, const u8* old,
                           std::int64_t old_size, const u8* p, std::int64_t p_size,
                           std::int64_t& pos) {
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
  pos = l_lo >= l_hi ? s_lo : s_hi;
  return std::max(l_lo, l_hi);
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::string make_commands(const bytes& old_s, const bytes& new_s) {
  const auto* old = reinterpret_cast<const u8*>(old_s.data());
  const auto* nw = reinterpret_cast<const u8*>(new_s.data());
  const auto old_size = static_cast<std::int64_t>(old_s.size());
  const auto new_size = static_cast<std::int64_t>(new_s.size());
  std::vector<std::int64_t> sa(old_s.size());
  for (std::size_t i = 0; i < sa.size(); ++i)
    sa[i] = static_cast<std::int64_t>(i);
  std::sort(sa.begin(), sa.end(), [&](std::int64_t a, std::int64_t b) {
    return std::lexicographical_compare(old + a, old + old_size, old + b, old + old_size);
  });
  std::string out;
  std::int64_t cursor = 0;
  auto emit = [&](std::int64_t old_from, std::int64_t new_from, std::int64_t dl, std::int64_t el) {
    if (dl + el == 0) return;
    std::int64_t seek = 0;
    if (dl > 0) {
      seek = old_from - cursor;
      cursor = old_from + dl;
    }
    put_varint(out, seek >= 0 ? static_cast<std::uint64_t>(seek) << 1
                              : ((static_cast<std::uint64_t>(-(seek + 1))) << 1) | 1);
    put_varint(out, static_cast<std::uint64_t>(dl));
    put_varint(out, static_cast<std::uint64_t>(el));
    for (std::int64_t i = 0; i < dl; ++i)
      out.push_back(static_cast<char>(static_cast<u8>(nw[new_from + i] - old[old_from + i])));
    out.append(reinterpret_cast<const char*>(nw + new_from + dl), static_cast<std::size_t>(el));
  };
  auto same = [&](std::int64_t o, std::int64_t n) {
    return o >= 0 && o < old_size && old[o] == nw[n];
  };
  std::int64_t scan = 0, len = 0, pos = 0, last_scan = 0, last_pos = 0, last_offset = 0;
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
    std::int64_t lenf = 0;
    {
      std::int64_t sc = 0, best = 0;
      for (std::int64_t i = 0; last_scan + i < scan && last_pos + i < old_size;) {
        if (old[last_pos + i] == nw[last_scan + i]) ++sc;
        ++i;
        if (sc * 2 - i > best * 2 - lenf) {
          best = sc;
          lenf = i;
        }
      }
    }
    std::int64_t lenb = 0;
    if (scan < new_size) {
      std::int64_t sc = 0, best = 0;
      for (std::int64_t i = 1; scan >= last_scan + i && pos >= i; ++i) {
        if (old[pos - i] == nw[scan - i]) ++sc;
        if (sc * 2 - i > best * 2 - lenb) {
          best = sc;
          lenb = i;
        }
      }
    }
    if (last_scan + lenf > scan - lenb) {
      const std::int64_t overlap = (last_scan + lenf) - (scan - lenb);
      std::int64_t sc = 0, best = 0, lens = 0;
      for (std::int64_t i = 0; i < overlap; ++i) {
        if (nw[last_scan + lenf - overlap + i] == old[last_pos + lenf - overlap + i]) ++sc;
        if (nw[scan - lenb + i] == old[pos - lenb + i]) --sc;
        if (sc > best) {
          best = sc;
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
  return out;
}

} // namespace reference

std::string commands_of(const bytes& old, const bytes& nw) {
  return delta::internal::make_commands(
      {reinterpret_cast<const std::uint8_t*>(old.data()), old.size()},
      {reinterpret_cast<const std::uint8_t*>(nw.data()), nw.size()});
}

std::size_t work_size_of(const bytes& delta) {
  otaledger_patch_header h{};
  BOOST_REQUIRE_EQUAL(
      otaledger_patch_parse_header(reinterpret_cast<const std::uint8_t*>(delta.data()), &h), 0);
  return otaledger_patch_work_size(&h);
}

bytes make(const bytes& old, const bytes& nw, const delta::diff_options& o = {}) {
  auto d = delta::make_delta(as_bytes(old), as_bytes(nw), o);
  BOOST_REQUIRE_MESSAGE(d, "make_delta failed: " << (d ? "" : d.error().message()));
  return d.value();
}

// Checks that both appliers turn old into nw with `d`.
void check_applies(const bytes& old, const bytes& nw, const bytes& d) {
  auto cpp = delta::apply_delta(as_bytes(old), as_bytes(d));
  BOOST_REQUIRE_MESSAGE(cpp, "apply_delta failed: " << (cpp ? "" : cpp.error().message()));
  BOOST_REQUIRE(cpp.value() == nw);
  auto info = delta::inspect_delta(as_bytes(d));
  BOOST_REQUIRE(info);
  if (info.value().codec == delta::codec::zstd) return;
  bytes c_out;
  const int rc = c_apply(old, d, c_out, work_size_of(d));
  BOOST_REQUIRE_MESSAGE(rc == 0, "C applier: " << otaledger_patch_strerror(rc));
  BOOST_REQUIRE(c_out == cpp.value());
}

// Every codec, and codec lzr in both formats (2 is the default).
void round_trip(const bytes& old, const bytes& nw) {
  for (auto c : {delta::codec::lzr, delta::codec::zstd, delta::codec::raw}) {
    delta::diff_options o;
    o.codec = c;
    check_applies(old, nw, make(old, nw, o));
  }
  delta::diff_options v1;
  v1.format_version = 1;
  check_applies(old, nw, make(old, nw, v1));
  delta::diff_options sa;
  sa.finder = delta::match_finder::suffix_array;
  check_applies(old, nw, make(old, nw, sa));
}

std::uint16_t version_of(const bytes& d) {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(d[8]) |
                                    static_cast<std::uint8_t>(d[9]) << 8);
}

// Recomputes the payload CRC and the header CRC after a deliberate edit, so
// the edit reaches the decoder instead of being caught by a checksum.
void reseal(bytes& d, bool payload_crc = true) {
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      d[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  if (payload_crc) put32(112, base::crc32c(std::string_view(d).substr(120)));
  put32(116, base::crc32c(std::string_view(d).substr(0, 116)));
}

void put64(bytes& d, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    d[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Both appliers must refuse `d` (any error, never a crash or a wrong image).
void check_refused(const bytes& old, const bytes& d) {
  auto cpp = delta::apply_delta(as_bytes(old), as_bytes(d));
  BOOST_REQUIRE(!cpp);
  bytes out;
  const int rc = c_apply(old, d, out, OTALEDGER_PATCH_WORK_SIZE_MAX * 8);
  BOOST_REQUIRE_NE(rc, 0);
}

} // namespace

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_errc)

BOOST_AUTO_TEST_CASE(every_delta_error_code_has_its_own_message) {
  std::set<std::string> seen;
  for (auto e : delta::all_errc) {
    std::error_code ec = e;
    BOOST_TEST(ec.message().find("unknown") == std::string::npos);
    BOOST_TEST(seen.insert(ec.message()).second, "duplicate message " << ec.message());
  }
  for (int c = 0; c >= -12; --c)
    BOOST_TEST(std::string(otaledger_patch_strerror(c)) != "unknown error", c);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_round_trips)

BOOST_AUTO_TEST_CASE(random_data_round_trips_with_every_codec) {
  std::mt19937_64 rng(1);
  const bytes old = random_bytes(rng, 50'000);
  round_trip(old, random_bytes(rng, 40'000));
  round_trip(old, random_edit(rng, old));
}

BOOST_AUTO_TEST_CASE(insertions_deletions_and_shifted_blocks_round_trip) {
  std::mt19937_64 rng(2);
  const bytes old = firmware_like(rng, 120'000);
  round_trip(old, insert_at(old, 500, random_bytes(rng, 1000)));
  round_trip(old, insert_at(old, old.size(), "appended tail"));
  round_trip(old, insert_at(old, 0, "prepended head"));
  round_trip(old, erase_at(old, 7000, 3000));
  round_trip(old, erase_at(old, 0, 100));
  round_trip(old, move_block(old, 10'000, 20'000, 90'000));
  round_trip(old, relocate(insert_at(old, 4000, bytes(256, '\x11')), 0x100));
}

BOOST_AUTO_TEST_CASE(empty_old_empty_new_and_identical_images_round_trip) {
  std::mt19937_64 rng(3);
  const bytes img = firmware_like(rng, 30'000);
  round_trip("", img);
  round_trip(img, "");
  round_trip("", "");
  round_trip(img, img);
  round_trip("x", "y");
  round_trip("a", "");
}

BOOST_AUTO_TEST_CASE(an_identical_image_gives_a_delta_of_a_few_bytes) {
  std::mt19937_64 rng(4);
  const bytes img = firmware_like(rng, 200'000);
  const bytes d = make(img, img);
  BOOST_TEST(d.size() < delta::header_size + 64, "delta of " << d.size() << " bytes");
}

BOOST_AUTO_TEST_CASE(a_small_edit_of_firmware_gives_a_small_delta) {
  std::mt19937_64 rng(5);
  const bytes old = firmware_like(rng, 200'000);
  const bytes nw = relocate(insert_at(old, 50'000, random_bytes(rng, 512)), 0x200);
  const bytes d = make(old, nw);
  auto full = delta::compressed_full_size(as_bytes(nw));
  BOOST_REQUIRE(full);
  BOOST_TEST(d.size() * 10 < full.value(), "delta " << d.size() << " vs full " << full.value());
  BOOST_TEST(delta::worthwhile(d.size(), full.value()).worthwhile);
}

BOOST_AUTO_TEST_CASE(every_lzr_window_and_literal_context_round_trips) {
  std::mt19937_64 rng(6);
  const bytes old = firmware_like(rng, 60'000);
  const bytes nw = random_edit(rng, old);
  for (std::uint8_t w = 8; w <= 16; ++w)
    for (std::uint8_t lc = 0; lc <= 3; ++lc) {
      delta::diff_options o;
      o.window_log = w;
      o.lit_ctx_bits = lc;
      o.lzr_max_chain = 8;
      check_applies(old, nw, make(old, nw, o));
    }
}

BOOST_AUTO_TEST_CASE(long_runs_and_matches_longer_than_the_maximum_token_round_trip) {
  std::mt19937_64 rng(7);
  bytes old = bytes(100'000, '\0') + random_bytes(rng, 5000) + bytes(50'000, '\xFF');
  bytes nw = bytes(3, 'a') + old + bytes(70'000, '\0');
  round_trip(old, nw);
}

BOOST_AUTO_TEST_CASE(format_2_round_trips_every_image_shape_in_both_appliers) {
  std::mt19937_64 rng(9);
  const bytes fw = firmware_like(rng, 80'000);
  const bytes shapes[][2] = {
      {fw, relocate(fw, 0x40)}, // relinked: pointers moved
      {fw, relocate(insert_at(fw, 30'000, random_bytes(rng, 700)), 0x2C0)},
      {fw, move_block(erase_at(fw, 100, 5000), 2000, 9000, 60'000)},
      {fw, random_edit(rng, fw)},
      {fw, random_bytes(rng, 20'000)},                             // nothing in common: extras
      {bytes(70'000, '\0'), bytes(70'000, '\0') + bytes(9, '\1')}, // zero runs
      {random_bytes(rng, 3), fw},
      {fw, fw.substr(0, 1)},
  };
  for (const auto& [old, nw] : shapes) {
    const bytes d = make(old, nw);
    BOOST_TEST(version_of(d) == 2);
    check_applies(old, nw, d);
  }
}

BOOST_AUTO_TEST_CASE(format_1_deltas_are_still_made_on_request_and_applied) {
  std::mt19937_64 rng(10);
  const bytes old = firmware_like(rng, 50'000);
  const bytes nw = relocate(insert_at(old, 9000, random_bytes(rng, 300)), 0x100);
  delta::diff_options o;
  o.format_version = 1;
  const bytes d1 = make(old, nw, o);
  BOOST_TEST(version_of(d1) == 1);
  check_applies(old, nw, d1);
  auto info = delta::inspect_delta(as_bytes(d1));
  BOOST_REQUIRE(info);
  BOOST_TEST(info.value().format_version == 1);
  BOOST_TEST(info.value().device_work_size == work_size_of(d1));
  // raw and zstd are format 1 whatever is asked.
  o.format_version = 2;
  o.codec = delta::codec::zstd;
  BOOST_TEST(version_of(make(old, nw, o)) == 1);
  o.codec = delta::codec::raw;
  BOOST_TEST(version_of(make(old, nw, o)) == 1);
}

// A format-1 delta as the previous release (format 1 only) made it, byte
// for byte: both appliers must still apply it, and format 1 must still be
// made the same way.
BOOST_AUTO_TEST_CASE(a_format_1_delta_made_by_the_previous_release_still_applies) {
  bytes old, nw;
  for (int i = 0; i < 40; ++i)
    old += "firmware block " + std::to_string(i * 7) + " | ";
  nw = old;
  nw.replace(100, 5, "PATCH");
  nw.insert(300, "new feature ");
  nw[500] ^= 1;
  const std::string hex = "4f544144454c54410100010d0300000037030000000000004303000000000000"
                          "4b030000000000002b000000000000005a2fef321404b86fc1da38b015fa0ff7"
                          "9dbfcd446be0175e5294fd8775c87be092e0467cce7eb9b3b01c2f27b8c15056"
                          "e026b14c88c9f9f4245168986dcdecff6f543beaa5f06c3600002d04d0b1dfcf"
                          "ab84ab0f5888775b7284ecd6443be1c7f9bf10656c3dae6398e8e8698add996e"
                          "b59600";
  bytes golden;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    golden.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  BOOST_REQUIRE_EQUAL(golden.size(), 163u);
  BOOST_TEST(version_of(golden) == 1);
  check_applies(old, nw, golden);
  delta::diff_options o;
  o.format_version = 1;
  o.window_log = 13;
  o.lit_ctx_bits = 3;
  BOOST_TEST((make(old, nw, o) == golden));
}

BOOST_AUTO_TEST_CASE(format_2_is_smaller_than_format_1_on_a_relinked_firmware_image) {
  std::mt19937_64 rng(11);
  const bytes old = firmware_like(rng, 200'000);
  const bytes nw = relocate(insert_at(old, 50'000, random_bytes(rng, 512)), 0x200);
  delta::diff_options v1;
  v1.format_version = 1;
  const bytes d1 = make(old, nw, v1), d2 = make(old, nw);
  BOOST_TEST(d2.size() < d1.size(), "format 2: " << d2.size() << ", format 1: " << d1.size());
}

BOOST_AUTO_TEST_CASE(an_image_large_enough_for_two_scan_threads_round_trips) {
  std::mt19937_64 rng(12);
  const bytes old = firmware_like(rng, 700'000);
  // Edits on both sides of the middle, where the two halves meet.
  bytes nw = relocate(insert_at(old, 349'990, random_bytes(rng, 40)), 0x40);
  nw = erase_at(insert_at(nw, 100'000, "new code here"), 600'000, 2000);
  BOOST_REQUIRE_GE(nw.size(), std::size_t{2 * 256 * 1024});
  const bytes d = make(old, nw);
  check_applies(old, nw, d);
  delta::diff_options v1;
  v1.format_version = 1;
  check_applies(old, nw, make(old, nw, v1));
  BOOST_TEST(d.size() * 20 < nw.size(), "delta " << d.size());
}

BOOST_AUTO_TEST_CASE(a_reused_index_gives_the_same_delta_and_never_a_stale_one) {
  std::mt19937_64 rng(13);
  const bytes old = firmware_like(rng, 300'000);
  bytes other = old; // same size, other content: must not hit the cache
  other[150'000] ^= 0x5A;
  const bytes nw = relocate(random_edit(rng, old), 0x20);
  for (const auto finder : {delta::match_finder::hash, delta::match_finder::suffix_array}) {
    BOOST_TEST_CONTEXT("finder " << static_cast<int>(finder)) {
      delta::diff_options kept;
      kept.finder = finder;
      delta::diff_options fresh = kept;
      fresh.reuse_suffix_array = false;
      delta::drop_suffix_array_cache();
      const bytes cold = make(old, nw, fresh);
      const bytes first = make(old, nw, kept);  // builds and keeps the index
      const bytes second = make(old, nw, kept); // reuses it
      BOOST_TEST((first == cold));
      BOOST_TEST((second == cold));
      const bytes d_other = make(other, nw, kept);
      BOOST_TEST((d_other == make(other, nw, fresh)));
      check_applies(other, nw, d_other);
      delta::drop_suffix_array_cache();
      BOOST_TEST((make(old, nw, kept) == cold));
    }
  }
  // The same old image with the other finder: the kept index of one kind is
  // never used for the other.
  delta::diff_options sa;
  sa.finder = delta::match_finder::suffix_array;
  delta::diff_options sa_fresh = sa;
  sa_fresh.reuse_suffix_array = false;
  delta::drop_suffix_array_cache();
  const bytes by_hash = make(old, nw);
  BOOST_TEST((make(old, nw, sa) == make(old, nw, sa_fresh)));
  BOOST_TEST((make(old, nw) == by_hash));
  delta::drop_suffix_array_cache();
}

BOOST_AUTO_TEST_CASE(the_hash_finder_finds_blocks_moved_far_from_where_the_alignment_expects) {
  std::mt19937_64 rng(14);
  const bytes old = random_bytes(rng, 400'000);
  // Random bytes: every 8-byte gram is unique, so only a search outside the
  // current alignment finds where each block went.
  bytes nw = move_block(old, 20'000, 60'000, 390'000);
  nw = move_block(nw, 300'000, 330'000, 1'000);
  nw = insert_at(nw, 200'000, random_bytes(rng, 100));
  const bytes d = make(old, nw);
  check_applies(old, nw, d);
  BOOST_TEST_MESSAGE("moved blocks: delta of " << d.size() << " bytes");
  BOOST_TEST(d.size() < std::size_t{1'000}, "delta of " << d.size() << " bytes");
}

BOOST_AUTO_TEST_CASE(hash_finder_deltas_stay_within_3_percent_of_suffix_array_deltas) {
  std::mt19937_64 rng(15);
  const bytes fw = firmware_like(rng, 300'000);
  const bytes zeros_and_code = bytes(40'000, '\0') + fw + bytes(20'000, '\xFF') + fw;
  const bytes shapes[][2] = {
      {fw, relocate(fw, 0x40)},
      {fw, relocate(insert_at(fw, 30'000, random_bytes(rng, 700)), 0x2C0)},
      {fw, move_block(erase_at(fw, 100, 5000), 2000, 9000, 200'000)},
      {fw, random_edit(rng, fw)},
      {zeros_and_code, relocate(insert_at(zeros_and_code, 45'000, bytes(3000, '\0')), 0x10)},
  };
  delta::diff_options sa;
  sa.finder = delta::match_finder::suffix_array;
  std::size_t by_hash = 0, by_sa = 0;
  for (const auto& s : shapes) {
    const bytes h = make(s[0], s[1]);
    check_applies(s[0], s[1], h);
    by_hash += h.size();
    by_sa += make(s[0], s[1], sa).size();
  }
  BOOST_TEST_MESSAGE("hash finder " << by_hash << " bytes, suffix array " << by_sa);
  BOOST_TEST(by_hash * 100 <= by_sa * 103, "hash " << by_hash << " vs suffix array " << by_sa);
}

BOOST_AUTO_TEST_CASE(inspect_reports_the_header) {
  std::mt19937_64 rng(8);
  const bytes old = random_bytes(rng, 1000), nw = random_bytes(rng, 1500);
  const bytes d = make(old, nw);
  auto info = delta::inspect_delta(as_bytes(d));
  BOOST_REQUIRE(info);
  BOOST_TEST(info.value().format_version == 2);
  BOOST_TEST((info.value().codec == delta::codec::lzr));
  BOOST_TEST(info.value().old_size == 1000u);
  BOOST_TEST(info.value().new_size == 1500u);
  BOOST_TEST(info.value().payload_size + delta::header_size == d.size());
  BOOST_TEST((info.value().old_sha256 == delta::sha256(as_bytes(old))));
  BOOST_TEST((info.value().new_sha256 == delta::sha256(as_bytes(nw))));
  BOOST_TEST(delta::to_hex(delta::sha256(as_bytes(std::string_view("abc")))) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(making_a_delta_is_deterministic) {
  std::mt19937_64 rng(9);
  const bytes old = firmware_like(rng, 50'000);
  const bytes nw = random_edit(rng, old);
  BOOST_TEST(make(old, nw) == make(old, nw));
}

BOOST_AUTO_TEST_CASE(bad_options_and_oversized_images_are_refused) {
  delta::diff_options o;
  o.window_log = 17;
  BOOST_TEST((delta::make_delta({}, {}, o).error() == errc::invalid_argument));
  o = {};
  o.lit_ctx_bits = 4;
  BOOST_TEST((delta::make_delta({}, {}, o).error() == errc::invalid_argument));
  o = {};
  o.max_image_size = 10;
  const bytes eleven(11, 'x');
  BOOST_TEST((delta::make_delta(as_bytes(eleven), {}, o).error() == errc::too_large));
  const bytes d = make("", eleven);
  delta::apply_options ao;
  ao.max_new_size = 10;
  BOOST_TEST((delta::apply_delta({}, as_bytes(d), ao).error() == errc::too_large));
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_random_edits)

BOOST_AUTO_TEST_CASE(any_sequence_of_random_edits_round_trips_in_both_appliers) {
  std::mt19937_64 rng(20240611);
  for (int round = 0; round < 60; ++round) {
    const std::size_t n = rng() % 3 == 0 ? rng() % 64 : rng() % 40'000;
    const bytes old = rng() % 2 ? firmware_like(rng, n) : random_bytes(rng, n);
    const bytes nw = random_edit(rng, old);
    BOOST_TEST_CONTEXT("round " << round << " old " << old.size() << " new " << nw.size()) {
      delta::diff_options o;
      o.codec = round % 5 == 4 ? delta::codec::raw : delta::codec::lzr;
      o.window_log = static_cast<std::uint8_t>(8 + round % 6);
      o.lit_ctx_bits = static_cast<std::uint8_t>(round % 4);
      o.finder = round % 2 ? delta::match_finder::suffix_array : delta::match_finder::hash;
      check_applies(old, nw, make(old, nw, o));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_refusals)

BOOST_AUTO_TEST_CASE(applying_to_the_wrong_image_is_refused) {
  std::mt19937_64 rng(30);
  const bytes old = firmware_like(rng, 20'000);
  const bytes nw = random_edit(rng, old);
  const bytes d = make(old, nw);
  bytes other = old;
  other[123] ^= 1; // same size, one bit different
  BOOST_TEST((delta::apply_delta(as_bytes(other), as_bytes(d)).error() == errc::wrong_old_image));
  BOOST_TEST((delta::apply_delta(as_bytes(nw), as_bytes(d)).error() == errc::wrong_old_image));
  BOOST_TEST(
      (delta::apply_delta_mcu(as_bytes(other), as_bytes(d)).error() == errc::wrong_old_image));
  bytes out;
  BOOST_TEST(c_apply(other, d, out, work_size_of(d)) == OTALEDGER_PATCH_E_WRONG_OLD);
  BOOST_TEST(out.empty(), "nothing is written before the old image is checked");
  BOOST_TEST(c_apply(old.substr(1), d, out, work_size_of(d)) == OTALEDGER_PATCH_E_WRONG_OLD);
}

BOOST_AUTO_TEST_CASE(a_truncated_delta_is_refused_at_every_length) {
  std::mt19937_64 rng(31);
  const bytes old = firmware_like(rng, 8000);
  const bytes nw = random_edit(rng, old);
  const bytes d = make(old, nw);
  for (std::size_t len = 0; len < d.size(); ++len) {
    const bytes cut = d.substr(0, len);
    BOOST_TEST_CONTEXT("length " << len) {
      auto r = delta::apply_delta(as_bytes(old), as_bytes(cut));
      BOOST_REQUIRE(!r);
      if (len >= 8) BOOST_TEST((r.error() == errc::truncated));
      bytes out;
      const int rc = c_apply(old, cut, out, work_size_of(d));
      if (len >= 8)
        BOOST_TEST(rc == OTALEDGER_PATCH_E_TRUNCATED);
      else
        BOOST_TEST(rc != 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(trailing_bytes_and_foreign_files_are_refused) {
  const bytes d = make("old", "new");
  BOOST_TEST((delta::apply_delta(as_bytes(std::string_view("old")), as_bytes(d + "x")).error() ==
              errc::trailing_data));
  bytes out;
  BOOST_TEST(c_apply("old", d + "x", out, work_size_of(d)) == OTALEDGER_PATCH_E_TRAILING);
  const bytes elf = "\x7f"
                    "ELF" +
                    bytes(200, '\0');
  BOOST_TEST((delta::inspect_delta(as_bytes(elf)).error() == errc::not_a_delta));
  BOOST_TEST(c_apply("old", elf, out, 16384) == OTALEDGER_PATCH_E_NOT_A_DELTA);
}

BOOST_AUTO_TEST_CASE(every_flipped_header_bit_is_refused) {
  const bytes old = "the old image, version 1.0";
  const bytes nw = "the new image, version 1.1";
  const bytes d = make(old, nw);
  for (std::size_t bit = 0; bit < delta::header_size * 8; ++bit) {
    bytes bad = d;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    BOOST_TEST_CONTEXT("bit " << bit) {
      check_refused(old, bad);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_corrupted_payload_is_refused_with_a_clear_error) {
  std::mt19937_64 rng(32);
  const bytes old = firmware_like(rng, 20'000);
  const bytes d = make(old, random_edit(rng, old));
  bytes bad = d;
  bad[d.size() / 2] ^= 0x40;
  BOOST_TEST((delta::apply_delta(as_bytes(old), as_bytes(bad)).error() == errc::corrupt_payload));
  bytes out;
  BOOST_TEST(c_apply(old, bad, out, work_size_of(d)) == OTALEDGER_PATCH_E_CORRUPT);
}

// The payload CRC is recomputed after each corruption, so garbage reaches the
// decoders and command interpreters: they must refuse it without reading or
// writing out of bounds (the C harness checks every old read and the guard
// bytes after the work buffer).
BOOST_AUTO_TEST_CASE(garbage_that_passes_the_checksums_never_crashes_either_applier) {
  std::mt19937_64 rng(33);
  const bytes old = firmware_like(rng, 6000);
  const bytes nw = random_edit(rng, old);
  for (int variant = 0; variant < 4; ++variant) {
    const auto c = variant == 1   ? delta::codec::raw
                   : variant == 2 ? delta::codec::zstd
                                  : delta::codec::lzr;
    delta::diff_options o;
    o.codec = c;
    o.format_version = variant == 3 ? 1 : 2; // lzr in format 2 (0) and format 1 (3)
    const bytes d = make(old, nw, o);
    for (int i = 0; i < 400; ++i) {
      bytes bad = d;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const std::size_t at = delta::header_size + rng() % (d.size() - delta::header_size);
        bad[at] = static_cast<char>(rng());
      }
      reseal(bad);
      if (bad == d) continue;
      auto r = delta::apply_delta(as_bytes(old), as_bytes(bad));
      // A changed payload can still decode to the right image only if it
      // changed bits the decoder never looks at; never to a wrong image.
      if (r) BOOST_REQUIRE(r.value() == nw);
      if (c == delta::codec::zstd) continue;
      bytes out;
      const int rc = c_apply(old, bad, out, work_size_of(d));
      BOOST_REQUIRE_EQUAL(rc == 0, static_cast<bool>(r));
      if (rc == 0) BOOST_REQUIRE(out == nw);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_corrupt_format_2_delta_is_refused_with_a_clear_error) {
  std::mt19937_64 rng(35);
  const bytes old = firmware_like(rng, 20'000);
  const bytes nw = relocate(random_edit(rng, old), 0x80);
  const bytes d = make(old, nw);
  BOOST_REQUIRE(version_of(d) == 2);
  auto expect_corrupt = [&](const bytes& bad, const char* what) {
    BOOST_TEST_CONTEXT(what) {
      auto r = delta::apply_delta(as_bytes(old), as_bytes(bad));
      BOOST_REQUIRE(!r);
      BOOST_TEST((r.error() == errc::corrupt_payload));
      BOOST_TEST(std::error_code(r.error()).message().find("corrupt") != std::string::npos);
      bytes out;
      BOOST_TEST(c_apply(old, bad, out, work_size_of(d)) == OTALEDGER_PATCH_E_CORRUPT);
    }
  };
  // The payload's CRC catches a flipped byte first...
  bytes bad = d;
  bad[delta::header_size + 10] ^= 0x10;
  expect_corrupt(bad, "flipped payload byte");
  // ...and past the CRC the decoder catches it: resealed flips (a bad first
  // byte, damage in the middle), one command more or fewer than coded, a cut
  // payload whose header says so.
  bad = d;
  bad[delta::header_size] = 1;
  reseal(bad);
  expect_corrupt(bad, "range coder start byte");
  for (std::uint64_t commands : {std::uint64_t{0}, std::uint64_t{1}}) {
    bad = d;
    std::uint64_t real = 0;
    for (int i = 0; i < 8; ++i)
      real |= std::uint64_t{static_cast<std::uint8_t>(d[32 + i])} << (8 * i);
    put64(bad, 32, commands == 0 ? real - 1 : real + 1);
    reseal(bad, false);
    expect_corrupt(bad, commands == 0 ? "one command fewer" : "one command more");
  }
  bad = d.substr(0, d.size() - 3);
  put64(bad, 40, bad.size() - delta::header_size);
  reseal(bad);
  expect_corrupt(bad, "payload cut short, header adjusted");
  // Format 2 defines codec lzr only.
  bad = d;
  bad[10] = 2;
  bad[11] = 0;
  bad[12] = 0;
  reseal(bad, false);
  BOOST_TEST((delta::apply_delta(as_bytes(old), as_bytes(bad)).error() == errc::unsupported_codec));
  bytes out;
  BOOST_TEST(c_apply(old, bad, out, 1 << 20) == OTALEDGER_PATCH_E_UNSUPPORTED);
  // And a version this code does not know.
  bad = d;
  bad[8] = 3;
  reseal(bad, false);
  BOOST_TEST(
      (delta::apply_delta(as_bytes(old), as_bytes(bad)).error() == errc::unsupported_version));
  BOOST_TEST(c_apply(old, bad, out, 1 << 20) == OTALEDGER_PATCH_E_VERSION);
}

BOOST_AUTO_TEST_CASE(header_fields_that_lie_are_refused_without_large_allocations) {
  std::mt19937_64 rng(34);
  const bytes old = firmware_like(rng, 5000);
  const bytes nw = random_edit(rng, old);
  const bytes d = make(old, nw);
  struct lie {
    std::size_t at;
    std::uint64_t value;
  };
  for (lie l : {lie{24, 1ull << 40}, lie{24, nw.size() + 1}, lie{24, nw.size() - 1}, lie{24, 0},
                lie{32, 1ull << 47}, lie{32, 0}, lie{32, 3}, lie{40, 1ull << 40},
                lie{40, d.size() - 121}, lie{16, 0}, lie{16, 1ull << 50}}) {
    bytes bad = d;
    put64(bad, l.at, l.value);
    reseal(bad, false);
    BOOST_TEST_CONTEXT("offset " << l.at << " value " << l.value) {
      check_refused(old, bad);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_device_applier)

BOOST_AUTO_TEST_CASE(the_device_applier_needs_at_most_16_kib_for_the_mcu_profile) {
  for (std::uint8_t w = 8; w <= 13; ++w)
    for (std::uint8_t lc = 0; lc <= 3; ++lc) {
      otaledger_patch_header h{};
      h.codec = OTALEDGER_PATCH_CODEC_LZR;
      h.window_log = w;
      h.lit_ctx_bits = lc;
      BOOST_TEST(otaledger_patch_work_size(&h) <= OTALEDGER_PATCH_WORK_SIZE_MAX);
      BOOST_TEST(otaledger_patch_work_size(&h) >= (std::size_t{1} << w));
    }
  // Format 2 adds 5,380 bytes of models: window_log <= 12 with any literal
  // context, or 13 with lit_ctx_bits <= 1, fit in 16 KiB.
  for (std::uint8_t w = 8; w <= 13; ++w)
    for (std::uint8_t lc = 0; lc <= (w <= 12 ? 3 : 1); ++lc) {
      otaledger_patch_header h{};
      h.version = 2;
      h.codec = OTALEDGER_PATCH_CODEC_LZR;
      h.window_log = w;
      h.lit_ctx_bits = lc;
      BOOST_TEST(otaledger_patch_work_size(&h) <= OTALEDGER_PATCH_WORK_SIZE_MAX, w << "/" << +lc);
    }
  BOOST_TEST(OTALEDGER_PATCH_WORK_SIZE_MAX == 16384u);
  const bytes d = make("abc", "abd"); // default options: the MCU profile
  BOOST_TEST(work_size_of(d) <= 16384u);
  auto info = delta::inspect_delta(as_bytes(d));
  BOOST_REQUIRE(info);
  BOOST_TEST(info.value().device_work_size == work_size_of(d));
}

BOOST_AUTO_TEST_CASE(the_device_applier_runs_in_exactly_the_buffer_it_asks_for) {
  std::mt19937_64 rng(40);
  const bytes old = firmware_like(rng, 100'000);
  const bytes nw = random_edit(rng, old);
  const bytes d = make(old, nw);
  const std::size_t need = work_size_of(d);
  BOOST_REQUIRE_LE(need, 16384u);
  for (std::size_t misalign : {0, 1, 3, 7}) {
    bytes out;
    BOOST_TEST(c_apply(old, d, out, need, SIZE_MAX, misalign) == 0);
    BOOST_TEST((out == nw));
    BOOST_TEST(c_apply(old, d, out, need - 1, SIZE_MAX, misalign) ==
               OTALEDGER_PATCH_E_WORK_TOO_SMALL);
  }
  // A window above the MCU profile asks for more and is refused in 16 KiB.
  delta::diff_options big;
  big.window_log = 16;
  const bytes d16 = make(old, nw, big);
  BOOST_TEST(work_size_of(d16) > 16384u);
  bytes out;
  BOOST_TEST(c_apply(old, d16, out, 16384) == OTALEDGER_PATCH_E_WORK_TOO_SMALL);
  BOOST_TEST(c_apply(old, d16, out, work_size_of(d16)) == 0);
  BOOST_TEST((out == nw));
}

BOOST_AUTO_TEST_CASE(the_device_applier_reads_the_delta_in_any_chunk_size) {
  std::mt19937_64 rng(41);
  const bytes old = firmware_like(rng, 30'000);
  const bytes nw = random_edit(rng, old);
  const bytes d = make(old, nw);
  for (std::size_t chunk : {1, 2, 7, 100, 4096}) {
    bytes out;
    BOOST_TEST(c_apply(old, d, out, work_size_of(d), chunk) == 0, "chunk " << chunk);
    BOOST_TEST((out == nw));
  }
}

BOOST_AUTO_TEST_CASE(the_device_applier_reads_old_in_small_chunks_and_writes_in_order) {
  std::mt19937_64 rng(42);
  const bytes old = firmware_like(rng, 30'000);
  const bytes nw = random_edit(rng, old);
  const bytes d = make(old, nw);
  c_harness h{old, d};
  auto io = h.io();
  std::vector<std::uint8_t> work(work_size_of(d));
  otaledger_patch_header hdr{};
  BOOST_TEST(otaledger_patch_apply(&io, work.data(), work.size(), &hdr) == 0);
  BOOST_TEST(h.largest_old_read <= 256u);
  BOOST_TEST((h.out == nw));
  BOOST_TEST(hdr.new_size == nw.size());
}

BOOST_AUTO_TEST_CASE(the_cpp_and_c_appliers_agree_on_every_codec_they_share) {
  std::mt19937_64 rng(43);
  for (int i = 0; i < 10; ++i) {
    const bytes old = firmware_like(rng, 1000 + rng() % 50'000);
    const bytes nw = random_edit(rng, old);
    for (auto c : {delta::codec::lzr, delta::codec::raw}) {
      delta::diff_options o;
      o.codec = c;
      const bytes d = make(old, nw, o);
      auto a = delta::apply_delta(as_bytes(old), as_bytes(d));
      auto b = delta::apply_delta_mcu(as_bytes(old), as_bytes(d));
      BOOST_REQUIRE(a);
      BOOST_REQUIRE(b);
      BOOST_TEST((a.value() == b.value()));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_device_applier_refuses_zstd_deltas_and_null_arguments) {
  delta::diff_options o;
  o.codec = delta::codec::zstd;
  const bytes d = make("old", "new", o);
  bytes out;
  BOOST_TEST(c_apply("old", d, out, 16384) == OTALEDGER_PATCH_E_UNSUPPORTED);
  BOOST_TEST((delta::apply_delta_mcu(as_bytes(std::string_view("old")), as_bytes(d)).error() ==
              errc::unsupported_codec));
  std::uint8_t work[16];
  BOOST_TEST(otaledger_patch_apply(nullptr, work, sizeof work, nullptr) ==
             OTALEDGER_PATCH_E_ARGUMENT);
  c_harness h{"", d};
  auto io = h.io();
  BOOST_TEST(otaledger_patch_apply(&io, work, sizeof work, nullptr) ==
             OTALEDGER_PATCH_E_WORK_TOO_SMALL);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_verdict)

BOOST_AUTO_TEST_CASE(a_delta_under_80_percent_of_the_compressed_image_is_worthwhile) {
  auto v = delta::worthwhile(100, 1000);
  BOOST_TEST(v.worthwhile);
  BOOST_TEST(v.ratio == 0.1);
  BOOST_TEST(v.message.find("worthwhile") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_delta_near_the_compressed_image_size_says_to_ship_the_full_image) {
  auto v = delta::worthwhile(800, 1000);
  BOOST_TEST(!v.worthwhile);
  BOOST_TEST(v.message.find("NOT worthwhile") != std::string::npos);
  BOOST_TEST(v.message.find("ship the full image") != std::string::npos);
  BOOST_TEST(!delta::worthwhile(5, 0).worthwhile);
  BOOST_TEST(delta::worthwhile(500, 1000, 0.6).worthwhile);
  BOOST_TEST(!delta::worthwhile(700, 1000, 0.6).worthwhile);
}

BOOST_AUTO_TEST_CASE(unrelated_images_get_a_not_worthwhile_verdict) {
  std::mt19937_64 rng(50);
  const bytes old = random_bytes(rng, 20'000), nw = random_bytes(rng, 20'000);
  const bytes d = make(old, nw);
  auto full = delta::compressed_full_size(as_bytes(nw));
  BOOST_REQUIRE(full);
  BOOST_TEST(!delta::worthwhile(d.size(), full.value()).worthwhile);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================
BOOST_AUTO_TEST_SUITE(delta_cli)

namespace {

struct tool_run {
  int status;
  std::string out, err;
};

struct scratch {
  std::filesystem::path dir;
  scratch() {
    dir = std::filesystem::temp_directory_path() /
          ("otaledger-delta-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  void write(const std::string& name, const bytes& data) const {
    std::ofstream(path(name), std::ios::binary) << data;
  }
  bytes read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  tool_run run(const std::string& args) const {
    const std::string cmd = std::string("'") + OTALEDGER_DELTA_TOOL + "' " + args + " >'" +
                            path("stdout") + "' 2>'" + path("stderr") + "'";
    const int raw = std::system(cmd.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read("stdout"), read("stderr")};
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(the_tool_diffs_and_patches_files) {
  scratch s;
  std::mt19937_64 rng(60);
  const bytes old = firmware_like(rng, 50'000);
  const bytes nw = random_edit(rng, old);
  s.write("old.bin", old);
  s.write("new.bin", nw);
  auto r = s.run("diff " + s.path("old.bin") + " " + s.path("new.bin") + " " + s.path("d.otad"));
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out.find("verified") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("worthwhile") != std::string::npos, r.out);
  r = s.run("patch " + s.path("old.bin") + " " + s.path("d.otad") + " " + s.path("out.bin"));
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST((s.read("out.bin") == nw));
  r = s.run("patch --mcu " + s.path("old.bin") + " " + s.path("d.otad") + " " + s.path("o2.bin"));
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST((s.read("o2.bin") == nw));
  r = s.run("info " + s.path("d.otad"));
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out.find("OTADELTA v2") != std::string::npos, r.out);
  r = s.run("diff --format=1 " + s.path("old.bin") + " " + s.path("new.bin") + " " +
            s.path("d1.otad"));
  BOOST_TEST(r.status == 0, r.err);
  r = s.run("info " + s.path("d1.otad"));
  BOOST_TEST(r.out.find("OTADELTA v1") != std::string::npos, r.out);
  r = s.run("diff --format=3 " + s.path("old.bin") + " " + s.path("new.bin") + " " +
            s.path("d3.otad"));
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.err.find("--format must be 1 or 2") != std::string::npos, r.err);
  // --finder=sa: bsdiff's suffix array; the delta applies like the default one.
  r = s.run("diff --finder=sa " + s.path("old.bin") + " " + s.path("new.bin") + " " +
            s.path("dsa.otad"));
  BOOST_TEST(r.status == 0, r.err);
  r = s.run("patch " + s.path("old.bin") + " " + s.path("dsa.otad") + " " + s.path("o3.bin"));
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST((s.read("o3.bin") == nw));
  r = s.run("diff --finder=lcp " + s.path("old.bin") + " " + s.path("new.bin") + " " +
            s.path("dx.otad"));
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("--finder must be hash or sa, not 'lcp'") != std::string::npos, r.err);
  BOOST_TEST(!std::filesystem::exists(s.path("dx.otad")));
}

BOOST_AUTO_TEST_CASE(the_tool_explains_a_wrong_old_image_and_writes_nothing) {
  scratch s;
  s.write("old.bin", "old firmware 1.0");
  s.write("new.bin", "new firmware 1.1");
  s.write("other.bin", "other firmware 0.9");
  BOOST_REQUIRE(
      s.run("diff " + s.path("old.bin") + " " + s.path("new.bin") + " " + s.path("d")).status == 0);
  auto r = s.run("patch " + s.path("other.bin") + " " + s.path("d") + " " + s.path("out"));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("does not apply to this old image") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("SHA-256") != std::string::npos, r.err);
  BOOST_TEST(!std::filesystem::exists(s.path("out")));
}

BOOST_AUTO_TEST_CASE(the_tool_reports_missing_files_truncated_deltas_and_bad_usage) {
  scratch s;
  s.write("old.bin", "old firmware 1.0");
  s.write("new.bin", "new firmware 1.1");
  auto r = s.run("diff " + s.path("nope.bin") + " " + s.path("new.bin") + " " + s.path("d"));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("not found") != std::string::npos, r.err);
  BOOST_REQUIRE(
      s.run("diff " + s.path("old.bin") + " " + s.path("new.bin") + " " + s.path("d")).status == 0);
  const bytes d = s.read("d");
  s.write("cut", d.substr(0, d.size() - 3));
  r = s.run("patch " + s.path("old.bin") + " " + s.path("cut") + " " + s.path("out"));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("truncated") != std::string::npos, r.err);
  r = s.run("patch " + s.path("old.bin") + " " + s.path("missing") + " " + s.path("out"));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("not found") != std::string::npos, r.err);
  r = s.run("patch " + s.path("old.bin"));
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("usage") != std::string::npos, r.err);
  r = s.run("diff --help");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.out.find("usage: otaledger diff") != std::string::npos, r.out);
  r = s.run("patch --help");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.out.find("usage: otaledger patch") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- differ

BOOST_AUTO_TEST_SUITE(delta_differ)

BOOST_AUTO_TEST_CASE(the_fast_match_search_gives_the_same_commands_as_a_whole_array_search) {
  std::mt19937_64 rng(11);
  int cases = 0;
  auto check = [&](const bytes& old, const bytes& nw) {
    ++cases;
    const std::string want = reference::make_commands(old, nw);
    const std::string got = commands_of(old, nw);
    BOOST_TEST_REQUIRE(got == want, "old " << old.size() << " bytes, new " << nw.size()
                                           << " bytes: " << got.size() << " vs " << want.size()
                                           << " command bytes");
  };
  // Every image of up to 3 bytes over a 2-letter alphabet (1- and 2-byte
  // suffixes, empty buckets, patterns shorter than the bucket key).
  std::vector<bytes> tiny = {""};
  for (std::size_t len = 1; len <= 3; ++len)
    for (unsigned bits = 0; bits < (1u << len); ++bits) {
      bytes b;
      for (std::size_t i = 0; i < len; ++i)
        b.push_back((bits >> i) & 1u ? 'b' : 'a');
      tiny.push_back(b);
    }
  for (const auto& o : tiny)
    for (const auto& n : tiny)
      check(o, n);
  // Extreme byte values next to the bucket edges, runs, and small alphabets.
  check(bytes(300, '\0'), bytes(301, '\0'));
  check(bytes(300, '\xFF'), bytes(299, '\xFF') + '\0');
  check(bytes(1, '\xFF'), "\xFF\xFF");
  for (int i = 0; i < 40; ++i) {
    const std::size_t on = rng() % 600, nn = rng() % 600;
    bytes o(on, 'a'), n(nn, 'a');
    const unsigned letters = 1 + static_cast<unsigned>(rng() % 4);
    for (auto& c : o)
      c = static_cast<char>('a' + rng() % letters);
    for (auto& c : n)
      c = static_cast<char>('a' + rng() % letters);
    check(o, n);
  }
  // Firmware-like images with edits, relocations and moved blocks (the
  // searches then come in long runs of consecutive positions: batches).
  for (int i = 0; i < 12; ++i) {
    const bytes old = i % 3 == 0 ? random_bytes(rng, 20000) : firmware_like(rng, 30000);
    bytes nw = old;
    for (int e = 0; e < 1 + i; ++e)
      nw = random_edit(rng, nw);
    check(old, nw);
  }
  // Buckets of more than sub_bucket_min suffixes, split by their third byte:
  // small alphabets (the last two bytes in a split bucket or not), and a run
  // of zeros inside firmware-like code.
  for (int i = 0; i < 6; ++i) {
    const unsigned letters = 2 + static_cast<unsigned>(i % 3);
    bytes o(static_cast<std::size_t>(20000 + rng() % 40000), 'a');
    for (auto& c : o)
      c = static_cast<char>('a' + rng() % letters);
    bytes n = o;
    for (int e = 0; e < 3; ++e)
      n = random_edit(rng, n);
    check(o, n);
  }
  {
    bytes o = firmware_like(rng, 20000);
    o.insert(o.begin() + 7000, 4000, '\0');
    bytes n = insert_at(o, 9000, "\x01\x02");
    n.insert(n.end(), 3000, '\0');
    check(o, n);
    check(n, o);
  }
  BOOST_TEST(cases > 100);
}

BOOST_AUTO_TEST_SUITE_END()
