// The differ's core (docs/delta.md, "Algorithm"): a bsdiff-style cover of the
// new image by approximate matches in the old one, found through a suffix
// array of the old image (libdivsufsort). Produces the uncompressed command
// stream. Internal to delta/.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace otaledger::delta::internal {

struct command_stats {
  std::uint64_t commands = 0;
  std::uint64_t diff_bytes = 0;  ///< bytes coded as a difference against the old image
  std::uint64_t extra_bytes = 0; ///< bytes coded literally
};

/// The command stream turning `old_image` into `new_image`. Both must be
/// smaller than 2 GiB (the caller checks).
std::string make_commands(std::span<const std::uint8_t> old_image,
                          std::span<const std::uint8_t> new_image, command_stats* stats = nullptr);

} // namespace otaledger::delta::internal
