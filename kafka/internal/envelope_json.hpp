// The envelope's JSON form written straight into a string: the same bytes as
// events::envelope_to_json_line (nlohmann's dump of the ordered JSON), about
// ten times faster, because the relay encodes every event it publishes.
//
// Same bytes means: keys in the same order, strings escaped as nlohmann
// escapes them (", \, \b \f \n \r \t, other control bytes as \u00xx in lower
// case, UTF-8 as is), integers in decimal, doubles and any field type this
// writer does not know through nlohmann itself. A property test over random
// envelopes of every catalog type checks it (tests/kafka/records_test.cpp).
// A string that is not valid UTF-8 makes write_envelope_json return false;
// the caller then uses nlohmann with replacement characters.
#pragma once

#include "base/time.hpp"
#include "events/envelope.hpp"
#include "events/event.hpp"
#include "events/fields.hpp"
#include "events/json_codec.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace otaledger::kafka::internal {

/// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one
/// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0; // overlong
    if (c == 0xED && b(i + 1) > 0x9F) return 0; // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0; // overlong
    if (c == 0xF4 && b(i + 1) > 0x8F) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/// RFC 3339 text of a time, as base::format_rfc3339 writes it; the text of the
/// last second is kept per thread (consecutive events mostly share it).
inline void append_rfc3339(std::string& out, std::int64_t micros) {
  thread_local std::int64_t cached_second = INT64_MIN;
  thread_local std::string cached_prefix; // "2026-11-23T07:36:54."
  std::int64_t second = micros / 1'000'000;
  std::int64_t us = micros % 1'000'000;
  if (us < 0) {
    us += 1'000'000;
    second -= 1;
  }
  if (second != cached_second) {
    auto full = base::format_rfc3339(base::timestamp{second * 1'000'000});
    cached_prefix = full.substr(0, full.size() - 7); // without "000000Z"
    cached_second = second;
  }
  char frac[7];
  for (int i = 5; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + us % 10);
    us /= 10;
  }
  frac[6] = 'Z';
  out.append(cached_prefix);
  out.append(frac, 7);
}

/// Writes JSON into a string through a cursor: the string is grown ahead
/// (amortized) and trimmed by finish(), so each piece is a plain store or
/// memcpy rather than a call into std::string.
class json_out {
public:
  explicit json_out(std::string& out) : out_(out), n_(out.size()) {}

  /// Trims the string to what was written. False when a string was not
  /// valid UTF-8 (the output is then unusable).
  bool finish() {
    out_.resize(n_);
    return valid_;
  }

  void raw(std::string_view v) {
    std::memcpy(room(v.size()), v.data(), v.size());
    n_ += v.size();
  }
  void raw(char c) {
    *room(1) = c;
    ++n_;
  }

  void string(std::string_view s) {
    // Worst case: every byte becomes \u00xx.
    char* p = room(2 + 6 * s.size());
    char* const base = out_.data();
    *p++ = '"';
    std::size_t run = 0; // start of the bytes copied as they are
    for (std::size_t i = 0; i < s.size();) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        auto n = utf8_sequence(s, i);
        if (n == 0) {
          valid_ = false;
          return;
        }
        i += n;
        continue;
      }
      if (c >= 0x20 && c != '"' && c != '\\') {
        ++i;
        continue;
      }
      std::memcpy(p, s.data() + run, i - run);
      p += i - run;
      *p++ = '\\';
      switch (c) {
      case '"':
        *p++ = '"';
        break;
      case '\\':
        *p++ = '\\';
        break;
      case '\b':
        *p++ = 'b';
        break;
      case '\f':
        *p++ = 'f';
        break;
      case '\n':
        *p++ = 'n';
        break;
      case '\r':
        *p++ = 'r';
        break;
      case '\t':
        *p++ = 't';
        break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        *p++ = 'u';
        *p++ = '0';
        *p++ = '0';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0xF];
      }
      }
      run = ++i;
    }
    std::memcpy(p, s.data() + run, s.size() - run);
    p += s.size() - run;
    *p++ = '"';
    n_ = static_cast<std::size_t>(p - base);
  }

  template <class T> void integer(T v) {
    char* p = room(24);
    n_ = static_cast<std::size_t>(std::to_chars(p, p + 24, v).ptr - out_.data());
  }

  void key(std::string_view k) {
    if (need_comma_) raw(',');
    need_comma_ = true;
    string(k);
    raw(':');
  }

  void open(char c) {
    raw(c);
    need_comma_ = false;
  }
  void close(char c) {
    raw(c);
    need_comma_ = true;
  }

  /// A field of a reflectable struct (events/fields.hpp).
  template <class T> void operator()(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  // The same dispatch, in the same order, as events::detail::json_writer::to_value.
  template <class T> void value(const T& v) {
    using namespace events;
    if constexpr (std::is_same_v<T, bool>) {
      raw(v ? std::string_view{"true"} : std::string_view{"false"});
    } else if constexpr (std::is_integral_v<T>) {
      integer(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      string(v);
    } else if constexpr (std::is_arithmetic_v<T>) {
      raw(events::json(v).dump()); // nlohmann's shortest round-trip form
    } else if constexpr (named_enum<T>) {
      string(enum_name(v));
    } else if constexpr (std::is_enum_v<T>) {
      integer(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_same_v<T, base::timestamp>) {
      scratch_.clear();
      append_rfc3339(scratch_, v.micros);
      string(scratch_);
    } else if constexpr (is_optional<T>::value) {
      if (v)
        value(*v);
      else
        raw(std::string_view{"null"});
    } else if constexpr (is_vector<T>::value) {
      open('[');
      bool first = true;
      for (const auto& x : v) {
        if (!first) raw(',');
        first = false;
        value(x);
      }
      close(']');
    } else if constexpr (reflectable<T>) {
      open('{');
      T::fields(v, *this);
      close('}');
    } else {
      // A field type added to events/ after this writer: nlohmann writes it.
      raw(events::detail::json_writer::to_value(v).dump());
    }
    need_comma_ = true;
  }

private:
  char* room(std::size_t k) {
    if (n_ + k > out_.size()) out_.resize(std::max(out_.size() * 2, n_ + k + 256));
    return out_.data() + n_;
  }

  std::string& out_;
  std::size_t n_;
  bool valid_ = true;
  bool need_comma_ = false;
  std::string scratch_;
};

/// Appends the JSON of envelope `e` whose payload decoded to `ev` (current
/// shape) to `out`. False when a string is not valid UTF-8.
inline bool write_envelope_json(std::string& out, const events::envelope& e,
                                const events::event& ev, std::string_view id,
                                std::string_view time) {
  json_out w{out};
  w.open('{');
  w.key("position");
  w.integer(e.position());
  w.key("stream");
  w.string(e.stream);
  w.key("version");
  w.integer(e.version());
  w.key("id");
  w.string(id);
  w.key("type");
  w.string(e.type);
  w.key("schema");
  w.integer(events::schema_of(ev));
  w.key("time");
  w.string(time);
  w.key("principal");
  w.string(e.meta.principal);
  w.key("command");
  w.string(e.meta.command);
  w.key("correlation");
  w.string(e.meta.correlation);
  w.key("reason");
  w.string(e.meta.reason);
  w.key("data");
  std::visit([&](const auto& x) { w.value(x); }, ev);
  w.close('}');
  return w.finish();
}

} // namespace otaledger::kafka::internal
