// The blob store: firmware images and packages, as files under <path>/blobs/.
//
// A blob is written in chunks through a blob_writer, which computes its size,
// SHA-256 and MD5 (OpenSSL EVP) on the way and refuses to grow past the limit
// given to begin() (errc::too_large; the partial file is removed at once).
// finish() fsyncs the file, renames it into place, fsyncs the directory and
// records the metadata in RocksDB (`blobs_meta`), so after a crash a blob
// either exists whole with its digests or not at all; leftovers of a crash
// (temporary files, a file whose metadata was never written) are removed when
// the store opens. Blob ids are random UUIDs generated here; no name from a
// user ever becomes part of a path (an id that is not ours is not_found).
//
// Thread safety: any member from any thread; a blob_writer is used by one
// thread at a time. Reading a blob while it is removed may fail with not_found.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace otaledger::storage {

/// What the store knows about a finished blob.
struct blob_info {
  std::string id; ///< "xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx"
  std::uint64_t size = 0;
  std::string sha256; ///< 64 lower-case hex digits
  std::string md5;    ///< 32 lower-case hex digits
  bool operator==(const blob_info&) const = default;
};

/// Streams one blob in. Destroying an unfinished writer aborts it.
class blob_writer {
public:
  virtual ~blob_writer() = default;
  /// Appends bytes. Going past the limit is errc::too_large and aborts the writer.
  virtual result<void> write(std::string_view chunk) = 0;
  /// Makes the blob durable and visible; the writer is done afterwards.
  virtual result<blob_info> finish() = 0;
  /// Drops what was written; the writer is done afterwards.
  virtual void abort() = 0;
  /// Bytes written so far.
  virtual std::uint64_t size() const = 0;
};

class blob_store {
public:
  virtual ~blob_store() = default;
  /// Starts a blob of at most `max_size` bytes (0: options::max_blob_bytes).
  /// A limit over options::max_blob_bytes is errc::too_large.
  virtual result<std::unique_ptr<blob_writer>> begin(std::uint64_t max_size) = 0;
  /// The metadata of a finished blob, or errc::not_found.
  virtual result<blob_info> stat(std::string_view id) = 0;
  /// Up to `length` bytes from `offset` (fewer at the end; none at or past it).
  virtual result<std::string> read(std::string_view id, std::uint64_t offset,
                                   std::size_t length) = 0;
  /// Removes the blob (metadata first, then the file).
  virtual result<void> remove(std::string_view id) = 0;
};

} // namespace otaledger::storage
