// lzr: the MCU-profile codec of the command stream (docs/delta.md, "Codec
// lzr"). LZ77 with a 2^window_log-byte window, tokens coded with an adaptive
// binary range coder (11-bit probabilities, LZMA-style arithmetic), literals
// modelled by the high bits of the previous byte, one repeat-distance slot.
// The decoder's memory is the window plus (512 << lit_ctx_bits) bytes of
// probabilities plus ~140 bytes: that is what lets a microcontroller decode it
// in a fixed 16 KiB buffer. Internal to delta/.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::delta::internal {

struct lzr_params {
  std::uint8_t window_log = 13;
  std::uint8_t lit_ctx_bits = 3;
  std::uint32_t max_chain = 64;
};

/// Compresses `body`. Deterministic: the same input and params give the same bytes.
std::string lzr_compress(std::string_view body, const lzr_params& params);

/// Format 2 (docs/delta.md, "Codec lzr, format 2"): codes the format-1
/// command stream `body` (as make_commands writes it) for the old image `old`
/// in one range-coded stream with separate models for the command integers,
/// the difference bytes (keyed on the old byte and the previous difference)
/// and the extra bytes (LZ77 over the extra bytes alone). Stores the number of
/// commands (the header's body_size in format 2) in `commands`.
std::string lzr2_compress(std::string_view body, std::span<const std::uint8_t> old,
                          const lzr_params& params, std::uint64_t& commands);

/// Decodes a format-2 lzr payload against `old` into `out` (exactly
/// `new_size` bytes from exactly `commands` commands); errc::corrupt_payload
/// for anything out of bounds or a payload not consumed exactly.
result<void> lzr2_apply(std::span<const std::byte> payload, std::span<const std::uint8_t> old,
                        std::uint64_t new_size, std::uint64_t commands, std::uint8_t window_log,
                        std::uint8_t lit_ctx_bits, std::string& out);

/// Streaming decoder over a payload held in memory: produces exactly
/// `body_size` bytes, refuses (errc::corrupt_payload) any token that points
/// before the start or outside the window, that overruns body_size, or that
/// needs more payload than there is.
class lzr_decoder {
public:
  lzr_decoder(std::span<const std::byte> payload, std::uint64_t body_size, std::uint8_t window_log,
              std::uint8_t lit_ctx_bits);

  /// Decodes up to `n` bytes into `out`; returns how many (less than n only
  /// at the end of the body).
  result<std::size_t> read(std::uint8_t* out, std::size_t n);

  /// After the whole body was read: checks the payload was consumed exactly.
  result<void> finish() const;

private:
  std::uint8_t in_byte();
  unsigned bit(std::uint16_t& p);
  std::uint32_t direct(unsigned nbits);
  std::uint32_t tree(std::uint16_t* probs, unsigned nbits);

  std::span<const std::byte> in_;
  std::size_t in_pos_ = 0;
  bool overrun_ = false;
  std::uint64_t body_size_;
  std::uint64_t pos_ = 0;
  std::uint32_t range_ = 0xFFFFFFFFu, code_ = 0;
  std::uint32_t rep_ = 1, match_left_ = 0;
  unsigned prev_match_ = 0;
  std::uint8_t prev_byte_ = 0;
  unsigned lc_;
  std::vector<std::uint8_t> window_;
  std::uint32_t mask_;
  std::uint16_t is_match_[2], is_rep_[2], len_[2][32], slot_[32];
  std::vector<std::uint16_t> lit_;
  bool bad_start_ = false;
};

} // namespace otaledger::delta::internal
