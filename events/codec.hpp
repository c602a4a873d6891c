// The compact binary codec of event payloads (envelope::data), and the typed
// view of an envelope.
//
// Encoding of a reflectable value: its fields in declaration order, each as
//   bool            1 byte (0 or 1)
//   unsigned int    LEB128 varint
//   signed int      zigzag, then varint
//   double          8 bytes, IEEE 754, little endian
//   string          varint length, then the bytes
//   timestamp       signed varint of microseconds
//   enum            varint of the enumerator's index
//   optional<T>     1 byte presence flag, then T when present
//   vector<T>       varint count, then the elements
//   struct          its fields, recursively
// There are no tags: the (type, schema) pair in the envelope says how to read
// the bytes, and an upcaster turns an old schema into the current type.
// Decoding checks every length against the remaining bytes and fails with
// errc::malformed, never reads out of bounds, and requires that every byte is
// consumed.
#pragma once

#include "base/result.hpp"
#include "events/errc.hpp"
#include "events/fields.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace otaledger::events {

/// Appends the LEB128 varint of v (built on the stack, appended at once).
inline void put_varint(std::string& out, std::uint64_t v) {
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

/// Reads a varint from [p, end), moving `p` past the bytes read; false when
/// truncated or over 10 bytes.
[[gnu::always_inline]] inline bool get_varint(const char*& p, const char* end,
                                              std::uint64_t& v) noexcept {
  std::uint64_t r = 0;
  for (unsigned shift = 0; shift < 64 && p != end; shift += 7) {
    const auto b = static_cast<std::uint8_t>(*p++);
    r |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (b < 0x80) {
      v = r;
      return true;
    }
  }
  return false;
}

/// Reads a varint from the front of `in`; false when truncated or over 10 bytes.
inline bool get_varint(std::string_view& in, std::uint64_t& v) noexcept {
  const char* p = in.data();
  const bool ok = get_varint(p, in.data() + in.size(), v);
  in.remove_prefix(static_cast<std::size_t>(p - in.data()));
  return ok;
}

namespace detail {

class binary_writer {
public:
  explicit binary_writer(std::string& out) : out_(out) {}

  template <class T> void operator()(std::string_view, const T& v) { write(v); }

  template <class T> void write(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_.push_back(v ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
      put_varint(out_, static_cast<std::uint64_t>(v));
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
      put_varint(out_, v);
    } else if constexpr (std::is_integral_v<T>) {
      auto s = static_cast<std::int64_t>(v);
      put_varint(out_, (static_cast<std::uint64_t>(s) << 1) ^ static_cast<std::uint64_t>(s >> 63));
    } else if constexpr (std::is_same_v<T, double>) {
      char b[8];
      std::memcpy(b, &v, 8);
      out_.append(b, 8);
    } else if constexpr (std::is_same_v<T, std::string>) {
      put_varint(out_, v.size());
      out_.append(v);
    } else if constexpr (std::is_same_v<T, base::timestamp>) {
      write(v.micros);
    } else if constexpr (is_optional<T>::value) {
      out_.push_back(v ? 1 : 0);
      if (v) write(*v);
    } else if constexpr (is_vector<T>::value) {
      put_varint(out_, v.size());
      for (const auto& x : v)
        write(x);
    } else {
      static_assert(reflectable<T>, "field type not supported by the binary codec");
      T::fields(v, *this);
    }
  }

private:
  std::string& out_;
};

class binary_reader {
public:
  explicit binary_reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }

  template <class T> void operator()(std::string_view, T& v) { read(v); }

  template <class T> void read(T& v) {
    if (!ok_) return;
    if constexpr (std::is_same_v<T, bool>) {
      std::uint8_t b = 0;
      if (!byte(b) || b > 1) return fail();
      v = b == 1;
    } else if constexpr (std::is_enum_v<T>) {
      std::uint64_t x;
      if (!get_varint(in_, x)) return fail();
      if constexpr (named_enum<T>) {
        if (x >= enum_names(T{}).size()) return fail();
      }
      v = static_cast<T>(x);
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
      std::uint64_t x;
      if (!get_varint(in_, x) || x > std::numeric_limits<T>::max()) return fail();
      v = static_cast<T>(x);
    } else if constexpr (std::is_integral_v<T>) {
      std::uint64_t x;
      if (!get_varint(in_, x)) return fail();
      auto s = static_cast<std::int64_t>((x >> 1) ^ (~(x & 1) + 1));
      if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max()) return fail();
      v = static_cast<T>(s);
    } else if constexpr (std::is_same_v<T, double>) {
      if (in_.size() < 8) return fail();
      std::memcpy(&v, in_.data(), 8);
      in_.remove_prefix(8);
    } else if constexpr (std::is_same_v<T, std::string>) {
      std::uint64_t n;
      if (!get_varint(in_, n) || n > in_.size()) return fail();
      v.assign(in_.data(), n);
      in_.remove_prefix(n);
    } else if constexpr (std::is_same_v<T, base::timestamp>) {
      read(v.micros);
    } else if constexpr (is_optional<T>::value) {
      std::uint8_t b = 0;
      if (!byte(b) || b > 1) return fail();
      if (b == 0) {
        v.reset();
      } else {
        v.emplace();
        read(*v);
      }
    } else if constexpr (is_vector<T>::value) {
      std::uint64_t n;
      // Every element takes at least one byte: a count over the remaining
      // bytes is malformed (and cannot make us allocate without bound).
      if (!get_varint(in_, n) || n > in_.size()) return fail();
      v.clear();
      v.resize(n);
      for (auto& x : v)
        read(x);
    } else {
      static_assert(reflectable<T>, "field type not supported by the binary codec");
      T::fields(v, *this);
    }
  }

private:
  bool byte(std::uint8_t& b) {
    if (in_.empty()) return false;
    b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  void fail() { ok_ = false; }

  std::string_view in_;
  bool ok_ = true;
};

} // namespace detail

/// The compact binary form of a reflectable value.
template <reflectable T> std::string encode_binary(const T& value) {
  std::string out;
  detail::binary_writer w{out};
  w.write(value);
  return out;
}

/// Reads a reflectable value from its compact binary form; every byte must be used.
template <reflectable T> result<T> decode_binary(std::string_view bytes) {
  T value{};
  detail::binary_reader r{bytes};
  r.read(value);
  if (!r.ok() || !r.at_end()) return make_error_code(errc::malformed);
  return value;
}

} // namespace otaledger::events
