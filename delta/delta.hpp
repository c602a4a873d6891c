// Binary deltas between firmware images: the server-side differ, the
// applier, and the "is a delta worth it" verdict.
//
// make_delta() is a bsdiff-family differ: it indexes the old image (a hash
// index of its 8-byte grams, or bsdiff's suffix array from libdivsufsort:
// diff_options::finder), covers the new image with approximate matches, and writes
// one sequential command stream (seek, byte-wise difference, literal extra
// bytes) that is compressed with one of three codecs. The delta carries a
// 120-byte header with the sizes and the SHA-256 of the exact old image it
// applies to and of the new image it produces; docs/delta.md has the format
// byte by byte.
//
// Two appliers read it:
//  - apply_delta(): C++, whole images in memory, every codec (the server,
//    the `otaledger patch` command, Linux devices);
//  - delta/c/otaledger_patch.h: portable C99 for microcontrollers, streaming,
//    no malloc, at most 16 KiB of work memory for codec lzr with
//    window_log <= 13 (the default). apply_delta_mcu() runs that applier from
//    C++ over in-memory images, so a server or an integrator can check off-line
//    that a delta applies on the device.
// Both refuse a delta made for another old image (errc::wrong_old_image),
// refuse corrupt or truncated deltas with their own codes, and check the
// SHA-256 of what they produce. The tests check that both produce the same
// bytes.
//
// Thread safety: every function is pure over its arguments and may be called
// from any thread. make_delta() is CPU- and memory-heavy (about 5 x old +
// 2 x new bytes of memory, seconds for multi-megabyte images): call it off
// any event loop (a detached actor).
#pragma once

#include "base/result.hpp"
#include "delta/errc.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace otaledger::delta {

/// How the command stream is compressed (header offset 10).
enum class codec : std::uint8_t {
  raw = 0,  ///< not compressed (tests, debugging)
  lzr = 1,  ///< LZ77 + adaptive binary range coder with a small window: the MCU profile
  zstd = 2, ///< one zstd frame: the Linux profile (C++ applier only)
};

/// How the differ finds where a piece of the new image occurs in the old one
/// (docs/delta.md, "The differ"). Either way the delta has the same format.
enum class match_finder : std::uint8_t {
  /// A hash of each old position's first 8 bytes, built in linear time; each
  /// search looks near where the current alignment expects the match. The
  /// default: much faster to build than a suffix array, deltas within a few
  /// percent of it.
  hash = 0,
  /// bsdiff's suffix array (libdivsufsort): the longest match anywhere in the
  /// old image, at the cost of a suffix sort of the old image.
  suffix_array = 1,
};

struct diff_options {
  /// Compression of the command stream. lzr decodes in bounded RAM on a
  /// microcontroller; zstd compresses a little better and decodes faster but
  /// needs its window (8 MiB at level 19) and libzstd on the device.
  /// Default: codec::lzr.
  delta::codec codec = codec::lzr;
  /// lzr: log2 of the extra bytes' match window in bytes, 8..16. The device
  /// applier needs the window in RAM: 12 (4 KiB) keeps its whole work buffer
  /// for format 2 at 14.8 KiB, under 16 KiB (format 1: 13 fits too); larger
  /// windows compress slightly better and need 2^window_log + ~11 KiB.
  /// Default: 12.
  std::uint8_t window_log = 12;
  /// lzr: how many high bits of the previous byte select the literal model,
  /// 0..3. Each bit doubles the literal probabilities' RAM (512 B << bits).
  /// Default: 3.
  std::uint8_t lit_ctx_bits = 3;
  /// lzr: how many earlier positions the match finder tries per byte. Higher
  /// is slower and at best slightly smaller. Default: 64.
  std::uint32_t lzr_max_chain = 64;
  /// Delta format version, 1 or 2. Format 2 (the default) codes codec lzr
  /// with separate models for the command integers, the difference bytes and
  /// the extra bytes (docs/delta.md): 10-20 % smaller than format 1. Format 1
  /// is for devices whose applier predates format 2; codecs raw and zstd are
  /// always written as format 1. Default: 2.
  std::uint16_t format_version = 2;
  /// zstd: compression level, 1..22. Default: 19.
  int zstd_level = 19;
  /// How matches are found. Default: match_finder::hash.
  match_finder finder = match_finder::hash;
  /// Keep the index of the last old image (its suffix array, about 4 x its
  /// size + 512 KiB, or its hash index, about 5 x its size; one image at a
  /// time) in memory and reuse it when the next make_delta() has the same old
  /// image (same size and SHA-256) and finder: the server diffs several new
  /// images against one old image. The output is the same either way.
  /// Default: true.
  bool reuse_suffix_array = true;
  /// Largest old or new image accepted, in bytes (the suffix array is
  /// 32-bit: the hard limit is 2 GiB - 1). Default: 1 GiB.
  std::uint64_t max_image_size = std::uint64_t{1} << 30;
};

struct apply_options {
  /// Largest new image the header may announce; a larger one is refused with
  /// errc::too_large before any memory is reserved. Default: 1 GiB.
  std::uint64_t max_new_size = std::uint64_t{1} << 30;
};

using sha256_digest = std::array<std::uint8_t, 32>;

/// What a delta's header says (inspect_delta).
struct delta_info {
  std::uint16_t format_version = 0;
  delta::codec codec = codec::raw;
  std::uint8_t window_log = 0;
  std::uint8_t lit_ctx_bits = 0;
  std::uint64_t old_size = 0;
  std::uint64_t new_size = 0;
  std::uint64_t body_size = 0;    ///< format 1: uncompressed command stream; 2: commands
  std::uint64_t payload_size = 0; ///< compressed command stream (delta size - header)
  sha256_digest old_sha256{};
  sha256_digest new_sha256{};
  std::uint32_t payload_crc32c = 0;
  /// Work buffer the C99 device applier needs for this delta, or 0 when it
  /// cannot apply it (codec zstd).
  std::uint64_t device_work_size = 0;
  bool operator==(const delta_info&) const = default;
};

/// Size of the fixed header at the start of every delta.
inline constexpr std::size_t header_size = 120;

/// Makes a delta that turns exactly `old_image` into exactly `new_image`.
/// Fails with errc::too_large or errc::invalid_argument (options).
result<std::string> make_delta(std::span<const std::byte> old_image,
                               std::span<const std::byte> new_image,
                               const diff_options& options = {});

/// Frees the index kept by diff_options::reuse_suffix_array.
void drop_suffix_array_cache();

/// Applies `delta` to `old_image` and returns the new image. Refuses a delta
/// for another old image (errc::wrong_old_image) and a damaged one
/// (errc::truncated, corrupt_header, corrupt_payload, trailing_data,
/// new_image_mismatch...), never reads or writes out of bounds.
result<std::string> apply_delta(std::span<const std::byte> old_image,
                                std::span<const std::byte> delta,
                                const apply_options& options = {});

/// The same, through the C99 device applier (delta/c/otaledger_patch.h) with
/// a work buffer of exactly the size it asks for. Codec zstd is refused with
/// errc::unsupported_codec.
result<std::string> apply_delta_mcu(std::span<const std::byte> old_image,
                                    std::span<const std::byte> delta,
                                    const apply_options& options = {});

/// Parses and checks the header (magic, version, CRC, field ranges) and that
/// the delta is exactly header + payload long. Does not decode the payload.
result<delta_info> inspect_delta(std::span<const std::byte> delta);

/// SHA-256 of `bytes`.
sha256_digest sha256(std::span<const std::byte> bytes);
/// Lower-case hex of a digest.
std::string to_hex(const sha256_digest& d);

/// Size of `image` compressed whole with zstd at `level` (the baseline a
/// delta must beat).
result<std::uint64_t> compressed_full_size(std::span<const std::byte> image, int level = 19);

/// Is shipping the delta clearly better than shipping the compressed full
/// image?
struct verdict {
  bool worthwhile = false; ///< delta_size < threshold x compressed_full_size
  double ratio = 0;        ///< delta_size / compressed_full_size (0 when that is 0)
  std::string message;     ///< one line for the operator, e.g. "delta is 4.1% of ..."
};

/// The delta is worthwhile when it is smaller than `threshold` (default 0.8)
/// times the compressed full image; otherwise the message recommends the full
/// image.
verdict worthwhile(std::uint64_t delta_size, std::uint64_t compressed_full_size,
                   double threshold = 0.8);

/// Views a string's bytes as a byte span.
inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

} // namespace otaledger::delta
