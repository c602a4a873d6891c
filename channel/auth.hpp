// Device credentials: one secret per device, of which only the SHA-256 is
// stored (kv space "device_credentials", key = device id, value = 64 hex
// digits). Secrets are high-entropy tokens (generated: 32 random bytes; chosen
// by a device: at least 16 bytes), so a plain SHA-256 is enough to make a
// stolen database useless for impersonation; no slow KDF is needed, which
// keeps authentication off the hot path's cost (30,000 reports/s).
//
// Why not in the event log: credentials are not decisions; the log is
// published to Kafka and exported, and even a hash of a secret does not
// belong there. Losing the credential space (it is synced on every change)
// would lock devices out until they register again with the product secret.
//
// How a device gets its secret: an operator registers it and sets the secret
// (set()), or the device registers itself with its product's secret
// (channel::device_service::register_device, which calls claim()).
//
// Thread safety: any member from any thread. Verified hashes are cached in
// memory (bounded) so a report costs no database read.
#pragma once

#include "base/result.hpp"
#include "storage/kv_store.hpp"

#include <cstddef>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace otaledger::channel {

/// SHA-256 of `data` as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);
/// A new random secret: 32 bytes from OpenSSL's RAND_bytes, as 64 hex digits.
std::string generate_secret();

class credential_store {
public:
  /// The kv space credentials live in.
  static constexpr std::string_view space = "device_credentials";

  /// `kv` must outlive the store. `cache_entries` bounds the in-memory cache.
  explicit credential_store(storage::kv_store& kv, std::size_t cache_entries = 1'000'000);

  /// Sets (or replaces) the device's secret. Durable when it returns.
  result<void> set(std::string_view device, std::string_view secret);
  /// Sets the secret if the device has none; true when it was set now or the
  /// device already has exactly this secret, false when it has another one.
  result<bool> claim(std::string_view device, std::string_view secret);
  /// Whether `secret` is the device's secret (false for a device without one).
  result<bool> verify(std::string_view device, std::string_view secret);
  /// Whether the device has a credential.
  result<bool> has(std::string_view device);
  /// Removes the device's credential (it can no longer authenticate).
  result<void> remove(std::string_view device);

private:
  result<std::string> stored_hash(std::string_view device);
  void remember(std::string_view device, std::string hash);

  storage::kv_store& kv_;
  std::size_t cache_entries_;
  std::shared_mutex cache_mutex_;
  std::unordered_map<std::string, std::string> cache_; ///< device -> hash
  std::mutex claim_mutex_;
};

} // namespace otaledger::channel
