// The stored record of one event (the value in the `log` column family) and
// the small fixed encodings the keys use. The event store is the only writer;
// the header is public so tools and tests can read raw records. The full
// layout, with the keys, is in docs/storage.md; change both together, and
// never change format 1 in place: a new layout is a new format byte that the
// decoder also reads.
//
//   offset  size  field
//   0       1     format version (record_format = 1)
//   1       4     CRC32C (Castagnoli), little endian, of every byte from offset 5 to the end
//   5       v     position        varint (LEB128)
//           v     stream          string
//           v     version         varint
//           16    event id        hi then lo, each 8 bytes big endian
//           v     type            string
//           v     schema          varint (<= 65535)
//           v     time            zigzag varint of microseconds since the epoch
//           v     principal       string
//           v     command         string
//           v     correlation     string
//           v     reason          string
//           v     data            string
// where string = varint byte length, then the bytes. Every byte must be
// consumed; anything else is corruption.
#pragma once

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "base/uuid.hpp"
#include "events/codec.hpp"
#include "events/envelope.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace otaledger::storage {

inline constexpr std::uint8_t record_format = 1;
inline constexpr std::size_t record_header = 5;

/// Appends the record to `out` (the writer encodes borrowed fields, without
/// copying a request into an envelope first).
void encode_record(const events::envelope_view& r, std::string& out);

/// Decodes a record into `e`, borrowing its fields from `bytes`. A bad CRC,
/// an unknown format or a malformed body is errc::corruption, with
/// error_detail() saying which (not where: the caller knows the position and
/// prefixes it).
result<void> decode_record(std::string_view bytes, events::envelope_view& e);
/// decode_record into an owning envelope.
result<void> decode_record(std::string_view bytes, events::envelope& e);
/// decode_record of the record stored at `position`, checked against it: any
/// failure is errc::corruption whose error_detail() starts "record at
/// position P: ".
result<void> decode_record_at(std::uint64_t position, std::string_view bytes,
                              events::envelope_view& e);
result<void> decode_record_at(std::uint64_t position, std::string_view bytes, events::envelope& e);

/// Big-endian fixed 64-bit integers: bytewise key order is numeric order.
inline void put_be64(char* p, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}
inline std::string be64(std::uint64_t v) {
  std::string s(8, '\0');
  put_be64(s.data(), v);
  return s;
}
inline std::uint64_t read_be64(const char* p) noexcept {
  std::uint64_t v = base::load64(p);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
/// Reads 8 bytes; a shorter value is a caller's bug, checked by its callers.
inline std::uint64_t read_be64(std::string_view s) noexcept {
  return s.size() < 8 ? 0 : read_be64(s.data());
}

// The log's varints are the events codec's (LEB128).
using events::get_varint;
using events::put_varint;

/// The key of a stream's entry in `stream_index`: stream, NUL, big-endian
/// version of the entry's first event. (Stream names cannot contain NUL, so
/// one stream's keys never interleave with another's and "stream\x01" bounds
/// them.) One entry per append: its value is the be64 position of the first
/// event, followed, when the append wrote more than one event, by the be64
/// count (the events' positions and versions are consecutive). Entries of
/// earlier releases hold one event each (8 bytes).
inline void stream_index_key(std::string& out, std::string_view stream, std::uint64_t version) {
  out.assign(stream);
  out.push_back('\0');
  char b[8];
  put_be64(b, version);
  out.append(b, 8);
}

/// A parsed `stream_index` entry: events first_version.. first_version +
/// count - 1 at first_position.. first_position + count - 1.
struct index_run {
  std::uint64_t first_version = 0, first_position = 0, count = 0;
};

/// Whether `key` is one of `stream`'s `stream_index` keys.
inline bool is_index_key_of(std::string_view stream, std::string_view key) noexcept {
  return key.size() == stream.size() + 9 && key.substr(0, stream.size()) == stream &&
         key[stream.size()] == '\0';
}

/// Parses the entry (`key`, `value`) of `stream`; false when it is not one of
/// that stream's keys or is malformed (a value that is not 8 or 16 bytes, a
/// count of 0).
inline bool parse_index_entry(std::string_view stream, std::string_view key, std::string_view value,
                              index_run& out) noexcept {
  if (!is_index_key_of(stream, key) || (value.size() != 8 && value.size() != 16)) return false;
  out.first_version = read_be64(key.data() + stream.size() + 1);
  out.first_position = read_be64(value.data());
  out.count = value.size() == 16 ? read_be64(value.data() + 8) : 1;
  return out.count > 0;
}

} // namespace otaledger::storage
