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

/// The other way to find matches (diff_options::finder, the default): every
/// position of the old image by a hash of its first hash_gram bytes, grouped
/// by bucket (a counting sort: linear time, no suffix sort). Inside a constant
/// run only the first and last positions are kept. A search looks at the
/// bucket's hash_candidates positions nearest to where the current alignment
/// expects the match, plus that expected position itself, and takes the
/// longest (the nearest on a tie): not always the longest match in the whole
/// image, as the suffix array finds, but found without sorting.
struct hash_index {
  int bits = 0;                     ///< 2^bits buckets
  std::vector<std::uint32_t> start; ///< bucket b's positions: pos[start[b], start[b + 1])
  std::vector<std::uint32_t> pos;   ///< increasing within each bucket
};

inline constexpr int hash_gram = 8;
inline constexpr int hash_candidates = 8;

std::shared_ptr<const hash_index> build_hash_index(std::span<const std::uint8_t> old_image);

/// The command stream turning `old_image` into `new_image`. Both must be
/// smaller than 2 GiB (the caller checks). With `hashed` (of exactly
/// `old_image`) matches are found through it; else through `index` (of
/// exactly `old_image`), and without that a suffix array is built. A new image of at least
/// parallel_min_bytes is scanned in segments on several threads (about one
/// more command per seam than a single scan would make); the output depends
/// on the images only.
std::string make_commands(std::span<const std::uint8_t> old_image,
                          std::span<const std::uint8_t> new_image, command_stats* stats = nullptr,
                          const suffix_index* index = nullptr, const hash_index* hashed = nullptr);

} // namespace otaledger::delta::internal
