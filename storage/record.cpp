#include "storage/record.hpp"

#include "base/crc32c.hpp"
#include "storage/errc.hpp"

#include <fmt/format.h>

namespace otaledger::storage {
namespace {

std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

std::size_t string_size(std::string_view s) noexcept {
  return varint_size(s.size()) + s.size();
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

/// A record's fields read off a pointer range, each checked against the end
/// once. Inlined: a rebuild decodes millions of records.
struct field_reader {
  const char* p;
  const char* end;

  [[gnu::always_inline]] bool varint(std::uint64_t& v) noexcept {
    return events::get_varint(p, end, v);
  }
  [[gnu::always_inline]] bool string(std::string_view& s) noexcept {
    std::uint64_t n;
    if (!varint(n) || n > static_cast<std::uint64_t>(end - p)) return false;
    s = std::string_view{p, static_cast<std::size_t>(n)};
    p += n;
    return true;
  }
};

std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

std::error_code corrupt(std::string what) {
  set_error_detail(std::move(what));
  return make_error_code(errc::corruption);
}

} // namespace

void encode_record(const events::envelope_view& r, std::string& out) {
  const auto t = zigzag(r.time.micros);
  // One reservation per record: the size is cheap to compute exactly.
  const std::size_t body = varint_size(r.position()) + string_size(r.stream) +
                           varint_size(r.version()) + 16 + string_size(r.type) +
                           varint_size(r.schema) + varint_size(t) + string_size(r.meta.principal) +
                           string_size(r.meta.command) + string_size(r.meta.correlation) +
                           string_size(r.meta.reason) + string_size(r.data);
  const auto start = out.size();
  out.reserve(start + record_header + body);
  out.push_back(static_cast<char>(record_format));
  out.append(4, '\0');
  put_varint(out, r.position());
  put_string(out, r.stream);
  put_varint(out, r.version());
  char id[16];
  put_be64(id, r.id.hi);
  put_be64(id + 8, r.id.lo);
  out.append(id, 16);
  put_string(out, r.type);
  put_varint(out, r.schema);
  put_varint(out, t);
  put_string(out, r.meta.principal);
  put_string(out, r.meta.command);
  put_string(out, r.meta.correlation);
  put_string(out, r.meta.reason);
  put_string(out, r.data);
  const auto crc = base::crc32c_extend(0, out.data() + start + record_header,
                                       out.size() - start - record_header);
  for (std::size_t i = 0; i < 4; ++i)
    out[start + 1 + i] = static_cast<char>(crc >> (8 * i));
}

result<void> decode_record(std::string_view bytes, events::envelope_view& e) {
  if (bytes.size() < record_header) return corrupt("the record is shorter than its header");
  if (static_cast<std::uint8_t>(bytes[0]) != record_format)
    return corrupt(fmt::format("unknown record format {}",
                               static_cast<int>(static_cast<unsigned char>(bytes[0]))));
  std::uint32_t stored = 0;
  for (std::size_t i = 0; i < 4; ++i)
    stored |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[1 + i])) << (8 * i);
  const auto in = bytes.substr(record_header);
  if (base::crc32c(in) != stored) return corrupt("the record failed its CRC32C check");

  field_reader f{in.data(), in.data() + in.size()};
  std::uint64_t pos, ver, schema, t;
  bool good = f.varint(pos) && f.string(e.stream) && f.varint(ver);
  if (good && f.end - f.p >= 16) {
    e.id.hi = read_be64(f.p);
    e.id.lo = read_be64(f.p + 8);
    f.p += 16;
  } else {
    good = false;
  }
  good = good && f.string(e.type) && f.varint(schema) && schema <= 0xFFFF && f.varint(t) &&
         f.string(e.meta.principal) && f.string(e.meta.command) && f.string(e.meta.correlation) &&
         f.string(e.meta.reason) && f.string(e.data) && f.p == f.end;
  // A record whose CRC matches but does not parse was written wrong: still corruption.
  if (!good) return corrupt("the record's fields do not parse");
  e.position = log_position{pos};
  e.version = stream_version{ver};
  e.schema = static_cast<std::uint16_t>(schema);
  e.time.micros = unzigzag(t);
  return ok();
}

result<void> decode_record(std::string_view bytes, events::envelope& e) {
  events::envelope_view v;
  OTA_TRYV(decode_record(bytes, v));
  e = v.to_envelope();
  return ok();
}

namespace {

template <class Envelope>
result<void> decode_at(std::uint64_t position, std::string_view bytes, Envelope& e) {
  if (auto d = decode_record(bytes, e); !d)
    return corrupt(fmt::format("record at position {}: {}", position, error_detail()));
  if (e.position() != position)
    return corrupt(
        fmt::format("record at position {}: it says it is position {}", position, e.position()));
  return ok();
}

} // namespace

result<void> decode_record_at(std::uint64_t position, std::string_view bytes,
                              events::envelope_view& e) {
  return decode_at(position, bytes, e);
}

result<void> decode_record_at(std::uint64_t position, std::string_view bytes, events::envelope& e) {
  return decode_at(position, bytes, e);
}

} // namespace otaledger::storage
