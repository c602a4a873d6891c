// The device channel over HTTP (devices that poll), in otaledger's canonical
// JSON dialect (docs/device-protocol.md):
//
//   POST /v1/devices/register                   self-registration (product secret)
//   POST /v1/devices/{id}/report                versions, online, signal, battery
//   GET  /v1/devices/{id}/instruction           what to do now
//   POST /v1/devices/{id}/progress              downloading / downloaded / installing
//   POST /v1/devices/{id}/result                succeeded / failed
//   GET  /v1/devices/{id}/packages/{package}    download, with Range and a strong ETag
//
// Every route but register needs `Authorization: Bearer <device secret>`
// (hawkBit clients' `TargetToken <secret>` is accepted as the same thing).
// Handlers never block: they answer from the device service's callbacks.
// Downloads are streamed from the blob store in chunks (api::body_source).
#pragma once

#include "api/http.hpp"
#include "channel/service.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace otaledger::channel {

/// Adds the device routes to `r`; `svc` must outlive the server.
void add_device_routes(api::router& r, device_service& svc);

/// Bytes [first, first + length) of a blob, streamed in chunks as a response
/// body (downloads of the canonical dialect and of DDI artifacts).
class blob_body final : public api::body_source {
public:
  blob_body(storage::blob_store& blobs, std::string id, std::uint64_t first, std::uint64_t length)
      : blobs_(blobs), id_(std::move(id)), first_(first), length_(length) {}
  std::uint64_t size() const override { return length_; }
  result<std::string> read(std::uint64_t offset, std::size_t max) override {
    return blobs_.read(id_, first_ + offset, max);
  }

private:
  storage::blob_store& blobs_;
  std::string id_;
  std::uint64_t first_, length_;
};

/// The secret in an Authorization header ("Bearer x" or "TargetToken x"); empty if none.
std::string_view bearer_secret(std::string_view authorization);

/// One byte range [first, last] of a body of `size` bytes.
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool operator==(const byte_range&) const = default;
};

/// Parses a Range header against a body size: nullopt when the header is
/// empty (the whole body); a problem (errc::range_invalid) when it is not a
/// single satisfiable "bytes=" range.
checked<std::optional<byte_range>> parse_range(std::string_view header, std::uint64_t size);

} // namespace otaledger::channel
