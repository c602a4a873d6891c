#include "domain/validation.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace otaledger::domain {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::int64_t micros_per_hour = 3600ll * 1'000'000;
constexpr std::int64_t micros_per_day = 24 * micros_per_hour;

// Floor division that also works for times before 1970.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

} // namespace

bool is_valid_version(std::string_view v) {
  if (v.empty() || v.size() > 50) return false;
  for (char c : v)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

bool is_valid_id(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.' && c != ':') return false;
  return true;
}

std::optional<std::size_t> utf8_length(std::string_view v) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < v.size();) {
    auto c = static_cast<unsigned char>(v[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + len > v.size()) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(v[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range code points are malformed.
    static constexpr std::array<std::uint32_t, 5> min_cp = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += len;
    ++n;
  }
  return n;
}

bool is_valid_text(std::string_view v, std::size_t min, std::size_t max) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  auto n = utf8_length(v);
  return n && *n >= min && *n <= max;
}

bool is_lower_hex(std::string_view v, std::size_t digits) {
  if (v.size() != digits) return false;
  for (char c : v)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_valid_imei(std::string_view v) {
  if (v.size() != 15) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_valid_version_code(std::string_view v) {
  if (v.empty() || v.size() > 32) return false;
  for (char c : v)
    if (!is_alnum(c)) return false;
  return true;
}

std::optional<std::string> normalize_mac(std::string_view v) {
  std::string digits;
  if (v.size() == 12) {
    digits = std::string{v};
  } else if (v.size() == 17) {
    char sep = v[2];
    if (sep != ':' && sep != '-') return std::nullopt;
    for (std::size_t i = 0; i < 17; ++i) {
      if (i % 3 == 2) {
        if (v[i] != sep) return std::nullopt;
      } else {
        digits.push_back(v[i]);
      }
    }
  } else {
    return std::nullopt;
  }
  std::string out;
  for (std::size_t i = 0; i < 12; ++i) {
    if (hex_value(digits[i]) < 0) return std::nullopt;
    if (i > 0 && i % 2 == 0) out.push_back(':');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(digits[i]))));
  }
  return out;
}

bool has_image_extension(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string ext;
  for (char c : name.substr(dot + 1))
    ext.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return ext == "bin" || ext == "hex" || ext == "zip" || ext == "rar" || ext == "swu";
}

std::string truncate_utf8(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string{s};
  std::size_t end = max_bytes;
  // Step back over continuation bytes so no character is split.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
    --end;
  return std::string{s.substr(0, end)};
}

bool is_valid_window(const events::daily_window& w) {
  return w.start_hour <= 23 && w.end_hour >= 1 && w.end_hour <= 24 && w.start_hour != w.end_hour;
}

bool in_daily_window(const events::daily_window& w, base::timestamp t) {
  auto into_day = t.micros - floor_div(t.micros, micros_per_day) * micros_per_day;
  auto hour = static_cast<std::uint32_t>(into_day / micros_per_hour);
  if (w.start_hour < w.end_hour) return hour >= w.start_hour && hour < w.end_hour;
  return hour >= w.start_hour || hour < w.end_hour; // wraps past midnight
}

base::timestamp next_window_opening(const events::daily_window& w, base::timestamp t) {
  if (in_daily_window(w, t)) return t;
  auto day = floor_div(t.micros, micros_per_day) * micros_per_day;
  auto open = day + static_cast<std::int64_t>(w.start_hour) * micros_per_hour;
  if (open <= t.micros) open += micros_per_day;
  return base::timestamp{open};
}

decided<void> check_id(std::string_view field, std::string_view v) {
  if (!is_valid_id(v))
    return reject(errc::invalid_argument,
                  fmt::format("{} '{}' must be 1-64 letters, digits, '_', '-', '.' or ':'", field,
                              truncate_utf8(v, 80)));
  return outcome::success();
}

decided<void> check_version(std::string_view field, std::string_view v) {
  if (!is_valid_version(v))
    return reject(errc::invalid_argument,
                  fmt::format("{} '{}' must be 1-50 letters, digits, '_', '-' or '.'", field,
                              truncate_utf8(v, 80)));
  return outcome::success();
}

decided<void> check_text(std::string_view field, std::string_view v, std::size_t min,
                         std::size_t max) {
  if (!is_valid_text(v, min, max)) {
    if (min > 0 && v.empty())
      return reject(errc::invalid_argument, fmt::format("{} is required", field));
    return reject(
        errc::invalid_argument,
        fmt::format("{} must be {}-{} characters of UTF-8 text without control characters", field,
                    min, max));
  }
  return outcome::success();
}

decided<void> check_file(std::string_view field, const events::file_info& f,
                         std::uint64_t max_bytes) {
  if (!is_valid_text(f.name, 1, 255) || !has_image_extension(f.name))
    return reject(errc::invalid_argument,
                  fmt::format("{}.name '{}' must end in .bin, .hex, .zip, .rar or .swu", field,
                              truncate_utf8(f.name, 80)));
  if (f.size == 0) return reject(errc::invalid_argument, fmt::format("{} is empty", field));
  if (f.size > max_bytes)
    return reject(errc::too_large, fmt::format("{} of {} is over the {} limit", field,
                                               format_size(f.size), format_size(max_bytes)));
  if (!is_lower_hex(f.md5, 32))
    return reject(errc::invalid_argument,
                  fmt::format("{}.md5 must be 32 lower-case hex digits", field));
  if (!is_lower_hex(f.sha256, 64))
    return reject(errc::invalid_argument,
                  fmt::format("{}.sha256 must be 64 lower-case hex digits", field));
  if (f.blob.empty() || f.blob.size() > 200)
    return reject(errc::invalid_argument, fmt::format("{}.blob must be 1-200 bytes", field));
  return outcome::success();
}

std::string format_size(std::uint64_t bytes) {
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1ull << 20))
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / static_cast<double>(1 << 20));
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

} // namespace otaledger::domain
