// The differ's core (docs/delta.md, "Algorithm"): a bsdiff-style cover of the
// new image by approximate matches in the old one, found through a suffix
// array of the old image (libdivsufsort). Produces the uncompressed command
// stream. Internal to delta/.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace otaledger::delta::internal {

struct command_stats {
  std::uint64_t commands = 0;
  std::uint64_t diff_bytes = 0;  ///< bytes coded as a difference against the old image
  std::uint64_t extra_bytes = 0; ///< bytes coded literally
};

/// Images of at least this many bytes are worked on by several threads: the
/// suffix sort beside the bucket count, and the scan in segments of about
/// scan_segment_bytes on up to scan_threads threads.
inline constexpr std::int64_t parallel_min_bytes = 128 * 1024;
inline constexpr std::int64_t scan_segment_bytes = 1024 * 1024;
inline constexpr unsigned scan_threads = 4;

/// What the scan searches: the old image's suffix array (libdivsufsort) and
/// where the suffixes starting with each 2-byte value lie. About 4 x old
/// bytes + 512 KiB; immutable once built, so it can be shared between
/// threads and reused for several new images (delta.cpp caches one).
struct suffix_index {
  std::vector<std::int32_t> sa;
  std::vector<std::uint32_t> count, start;
  /// Buckets of more than sub_bucket_min suffixes are split once more by
  /// the third byte: sub[v] is -1 or the index j of bucket v's table, whose
  /// suffixes with third byte c lie at [sub_start[257 j + c], sub_start[257
  /// j + c + 1]). At most 1,028 bytes per sub_bucket_min old bytes.
  std::vector<std::int32_t> sub;
  std::vector<std::uint32_t> sub_start;
};

inline constexpr std::uint32_t sub_bucket_min = 2048;

std::shared_ptr<const suffix_index> build_suffix_index(std::span<const std::uint8_t> old_image);

/// The command stream turning `old_image` into `new_image`. Both must be
/// smaller than 2 GiB (the caller checks). `index` (of exactly `old_image`)
/// saves the suffix sort; without it one is built. A new image of at least
/// parallel_min_bytes is scanned in segments on several threads (about one
/// more command per seam than a single scan would make); the output depends
/// on the images only.
std::string make_commands(std::span<const std::uint8_t> old_image,
                          std::span<const std::uint8_t> new_image, command_stats* stats = nullptr,
                          const suffix_index* index = nullptr);

} // namespace otaledger::delta::internal
