#include "delta/cli.hpp"

#include "delta/delta.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace otaledger::delta {
namespace {

constexpr const char* diff_usage =
    R"(usage: otaledger diff [options] OLD NEW DELTA

Makes a delta that turns the image OLD into the image NEW and writes it to
DELTA. The delta records the size and SHA-256 of OLD and NEW: it applies only
to exactly OLD and checks that it produced exactly NEW. After writing, the
delta is applied once in memory to check it (both appliers for codec lzr),
and the verdict compares its size with NEW compressed whole by zstd -19.

options:
  --codec=lzr|zstd|raw   payload compression (default lzr: decodes on an MCU
                         in <= 16 KiB; zstd: Linux devices; raw: debugging)
  --window-log=N         lzr window of the extra bytes, 8..16 (default 12;
                         format 2 needs more than 16 KiB on the device above
                         12, or above 13 with --lit-ctx-bits=0..1)
  --lit-ctx-bits=N       lzr literal context bits, 0..3 (default 3)
  --format=1|2           delta format (default 2; 1 for devices whose applier
                         predates format 2; raw and zstd are always 1)
  --finder=hash|sa       how matches are found (default hash: an index of the
                         old image built in linear time; sa: bsdiff's suffix
                         array, slower to build, the same format)
  --threshold=X          verdict threshold: the delta is worthwhile below
                         X times the compressed full image (default 0.8)
  --no-verify            skip the apply check
  -h, --help             this text
)";

constexpr const char* patch_usage =
    R"(usage: otaledger patch [options] OLD DELTA OUT

Applies DELTA to the image OLD and writes the new image to OUT. Refuses a
delta made for another image than OLD, and a truncated or corrupt delta;
checks the SHA-256 of the result. OUT is written only when everything checked
out (through a temporary file renamed into place).

options:
  --mcu        apply with the C99 device applier (delta/c/otaledger_patch.h)
               in its fixed work buffer, as a microcontroller would
  -h, --help   this text
)";

constexpr const char* info_usage = R"(usage: otaledger delta-info DELTA

Prints the header of DELTA: format, codec, sizes, SHA-256 of the old and new
image, and the work buffer the device applier needs.
)";

struct parsed {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags; // --key[=value]
  bool help = false;
};

parsed parse(int argc, char** argv) {
  parsed p;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help")
      p.help = true;
    else if (s.rfind("--", 0) == 0 && s.size() > 2) {
      const auto eq = s.find('=');
      p.flags.emplace_back(s.substr(2, eq == std::string::npos ? std::string::npos : eq - 2),
                           eq == std::string::npos ? "" : s.substr(eq + 1));
    } else {
      p.positional.push_back(std::move(s));
    }
  }
  return p;
}

std::optional<std::string> read_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    fmt::print(stderr, "error: {} '{}' not found\n", what, path);
    return std::nullopt;
  }
  if (std::filesystem::is_directory(path, ec)) {
    fmt::print(stderr, "error: {} '{}' is a directory\n", what, path);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "error: cannot open {} '{}': {}\n", what, path, std::strerror(errno));
    return std::nullopt;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    fmt::print(stderr, "error: cannot read {} '{}'\n", what, path);
    return std::nullopt;
  }
  return data;
}

// Writes through a temporary file renamed into place, so OUT never holds a
// partial image.
bool write_file(const std::string& path, std::string_view data, const char* what) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      fmt::print(stderr, "error: cannot create {} '{}': {}\n", what, tmp, std::strerror(errno));
      return false;
    }
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      fmt::print(stderr, "error: cannot write {} '{}'\n", what, tmp);
      std::filesystem::remove(tmp);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    fmt::print(stderr, "error: cannot rename '{}' to '{}': {}\n", tmp, path, ec.message());
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

const char* codec_name(codec c) {
  switch (c) {
  case codec::raw:
    return "raw";
  case codec::lzr:
    return "lzr";
  case codec::zstd:
    return "zstd";
  }
  return "?";
}

// Explains an apply failure, with the digests when the old image is wrong.
void explain_apply_error(std::error_code ec, std::span<const std::byte> old_image,
                         std::span<const std::byte> delta, const std::string& old_path,
                         const std::string& delta_path) {
  fmt::print(stderr, "error: cannot apply '{}' to '{}': {}\n", delta_path, old_path, ec.message());
  if (ec == errc::wrong_old_image) {
    if (auto info = inspect_delta(delta)) {
      fmt::print(stderr, "  the delta applies to: {} bytes, SHA-256 {}\n", info.value().old_size,
                 to_hex(info.value().old_sha256));
      fmt::print(stderr, "  the old image is:     {} bytes, SHA-256 {}\n", old_image.size(),
                 to_hex(sha256(old_image)));
    }
  } else if (ec == errc::truncated) {
    if (delta.size() >= header_size) {
      fmt::print(stderr, "  '{}' has {} bytes; it was probably cut short in transfer\n", delta_path,
                 delta.size());
    }
  }
}

std::optional<double> to_double(const std::string& s) {
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<int> to_int(const std::string& s) {
  try {
    std::size_t used = 0;
    int v = std::stoi(s, &used);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

int usage_error(const char* usage, const std::string& why) {
  fmt::print(stderr, "error: {}\n\n{}", why, usage);
  return 2;
}

} // namespace

int diff_main(int argc, char** argv) {
  const parsed p = parse(argc, argv);
  if (p.help) {
    fmt::print("{}", diff_usage);
    return 0;
  }
  diff_options opt;
  double threshold = 0.8;
  bool verify = true;
  for (const auto& [k, v] : p.flags) {
    if (k == "codec") {
      if (v == "lzr")
        opt.codec = codec::lzr;
      else if (v == "zstd")
        opt.codec = codec::zstd;
      else if (v == "raw")
        opt.codec = codec::raw;
      else
        return usage_error(diff_usage, fmt::format("unknown codec '{}'", v));
    } else if (k == "window-log") {
      auto n = to_int(v);
      if (!n || *n < 8 || *n > 16)
        return usage_error(diff_usage, fmt::format("--window-log must be 8..16, not '{}'", v));
      opt.window_log = static_cast<std::uint8_t>(*n);
    } else if (k == "lit-ctx-bits") {
      auto n = to_int(v);
      if (!n || *n < 0 || *n > 3)
        return usage_error(diff_usage, fmt::format("--lit-ctx-bits must be 0..3, not '{}'", v));
      opt.lit_ctx_bits = static_cast<std::uint8_t>(*n);
    } else if (k == "format") {
      auto n = to_int(v);
      if (!n || (*n != 1 && *n != 2))
        return usage_error(diff_usage, fmt::format("--format must be 1 or 2, not '{}'", v));
      opt.format_version = static_cast<std::uint16_t>(*n);
    } else if (k == "finder") {
      if (v == "hash")
        opt.finder = match_finder::hash;
      else if (v == "sa")
        opt.finder = match_finder::suffix_array;
      else
        return usage_error(diff_usage, fmt::format("--finder must be hash or sa, not '{}'", v));
    } else if (k == "threshold") {
      auto x = to_double(v);
      if (!x || *x <= 0)
        return usage_error(diff_usage, fmt::format("--threshold must be a positive number"));
      threshold = *x;
    } else if (k == "no-verify") {
      verify = false;
    } else {
      return usage_error(diff_usage, fmt::format("unknown option --{}", k));
    }
  }
  if (p.positional.size() != 3)
    return usage_error(
        diff_usage, fmt::format("expected OLD NEW DELTA, got {} argument(s)", p.positional.size()));
  const auto& [old_path, new_path, delta_path] =
      std::tie(p.positional[0], p.positional[1], p.positional[2]);
  auto old_image = read_file(old_path, "old image");
  if (!old_image) return 1;
  auto new_image = read_file(new_path, "new image");
  if (!new_image) return 1;

  const auto t0 = std::chrono::steady_clock::now();
  auto d = make_delta(as_bytes(*old_image), as_bytes(*new_image), opt);
  if (!d) {
    fmt::print(stderr, "error: cannot diff '{}' -> '{}': {}\n", old_path, new_path,
               d.error().message());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string& delta = d.value();

  if (verify) {
    auto back = apply_delta(as_bytes(*old_image), as_bytes(delta));
    if (!back || back.value() != *new_image) {
      fmt::print(stderr, "error: internal: the delta does not reproduce '{}' ({})\n", new_path,
                 back ? "different bytes" : back.error().message());
      return 1;
    }
    if (opt.codec != codec::zstd) {
      auto mcu = apply_delta_mcu(as_bytes(*old_image), as_bytes(delta));
      if (!mcu || mcu.value() != *new_image) {
        fmt::print(stderr, "error: internal: the device applier does not reproduce '{}' ({})\n",
                   new_path, mcu ? "different bytes" : mcu.error().message());
        return 1;
      }
    }
  }
  if (!write_file(delta_path, delta, "delta")) return 1;

  fmt::print("wrote {}: {} bytes (codec {}, old {} bytes, new {} bytes) in {:.2f} s{}\n",
             delta_path, delta.size(), codec_name(opt.codec), old_image->size(), new_image->size(),
             secs, verify ? ", verified" : "");
  auto full = compressed_full_size(as_bytes(*new_image), 19);
  if (full) fmt::print("{}\n", worthwhile(delta.size(), full.value(), threshold).message);
  return 0;
}

int patch_main(int argc, char** argv) {
  const parsed p = parse(argc, argv);
  if (p.help) {
    fmt::print("{}", patch_usage);
    return 0;
  }
  bool mcu = false;
  for (const auto& [k, v] : p.flags) {
    if (k == "mcu")
      mcu = true;
    else
      return usage_error(patch_usage, fmt::format("unknown option --{}", k));
  }
  if (p.positional.size() != 3)
    return usage_error(patch_usage, fmt::format("expected OLD DELTA OUT, got {} argument(s)",
                                                p.positional.size()));
  const auto& [old_path, delta_path, out_path] =
      std::tie(p.positional[0], p.positional[1], p.positional[2]);
  auto old_image = read_file(old_path, "old image");
  if (!old_image) return 1;
  auto delta = read_file(delta_path, "delta");
  if (!delta) return 1;
  auto r = mcu ? apply_delta_mcu(as_bytes(*old_image), as_bytes(*delta))
               : apply_delta(as_bytes(*old_image), as_bytes(*delta));
  if (!r) {
    explain_apply_error(r.error(), as_bytes(*old_image), as_bytes(*delta), old_path, delta_path);
    return 1;
  }
  if (!write_file(out_path, r.value(), "output")) return 1;
  fmt::print("wrote {}: {} bytes, SHA-256 {} (verified)\n", out_path, r.value().size(),
             to_hex(sha256(as_bytes(r.value()))));
  return 0;
}

int info_main(int argc, char** argv) {
  const parsed p = parse(argc, argv);
  if (p.help) {
    fmt::print("{}", info_usage);
    return 0;
  }
  if (!p.flags.empty())
    return usage_error(info_usage, fmt::format("unknown option --{}", p.flags.front().first));
  if (p.positional.size() != 1) return usage_error(info_usage, "expected DELTA");
  auto delta = read_file(p.positional[0], "delta");
  if (!delta) return 1;
  auto info = inspect_delta(as_bytes(*delta));
  if (!info) {
    fmt::print(stderr, "error: '{}': {}\n", p.positional[0], info.error().message());
    return 1;
  }
  const auto& h = info.value();
  fmt::print("format        OTADELTA v{}\n", h.format_version);
  fmt::print("codec         {} (window_log {}, lit_ctx_bits {})\n", codec_name(h.codec),
             h.window_log, h.lit_ctx_bits);
  fmt::print("old image     {} bytes, SHA-256 {}\n", h.old_size, to_hex(h.old_sha256));
  fmt::print("new image     {} bytes, SHA-256 {}\n", h.new_size, to_hex(h.new_sha256));
  if (h.format_version >= 2)
    fmt::print("payload       {} bytes ({} commands), CRC-32C {:08x}\n", h.payload_size,
               h.body_size, h.payload_crc32c);
  else
    fmt::print("payload       {} bytes (commands {} bytes), CRC-32C {:08x}\n", h.payload_size,
               h.body_size, h.payload_crc32c);
  if (h.device_work_size)
    fmt::print("device work   {} bytes\n", h.device_work_size);
  else
    fmt::print("device work   - (codec not decodable by the C99 applier)\n");
  return 0;
}

} // namespace otaledger::delta
