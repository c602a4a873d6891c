#include "channel/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace otaledger::channel {

namespace {

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha256(), nullptr);
  return to_hex(md.data(), n);
}

std::string generate_secret() {
  std::array<unsigned char, 32> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) std::abort(); // no entropy: unsafe
  return to_hex(b.data(), b.size());
}

credential_store::credential_store(storage::kv_store& kv, std::size_t cache_entries)
    : kv_(kv), cache_entries_(cache_entries) {}

result<std::string> credential_store::stored_hash(std::string_view device) {
  {
    std::shared_lock lock{cache_mutex_};
    if (auto it = cache_.find(std::string{device}); it != cache_.end()) return it->second;
  }
  OTA_TRY(v, kv_.get(space, device));
  if (!v) return std::string{};
  remember(device, *v);
  return std::move(*v);
}

void credential_store::remember(std::string_view device, std::string hash) {
  std::unique_lock lock{cache_mutex_};
  if (cache_.size() >= cache_entries_) cache_.clear(); // crude bound; refills from the kv store
  cache_[std::string{device}] = std::move(hash);
}

result<void> credential_store::set(std::string_view device, std::string_view secret) {
  auto hash = sha256_hex(secret);
  storage::write_batch b;
  b.put(space, device, hash);
  OTA_TRYV(kv_.write(b, storage::write_mode::sync));
  remember(device, std::move(hash));
  return ok();
}

result<bool> credential_store::claim(std::string_view device, std::string_view secret) {
  std::lock_guard lock{claim_mutex_};
  OTA_TRY(current, stored_hash(device));
  if (!current.empty()) return same(current, sha256_hex(secret));
  OTA_TRYV(set(device, secret));
  return true;
}

result<bool> credential_store::verify(std::string_view device, std::string_view secret) {
  if (secret.empty()) return false;
  OTA_TRY(current, stored_hash(device));
  if (current.empty()) return false;
  return same(current, sha256_hex(secret));
}

result<bool> credential_store::has(std::string_view device) {
  OTA_TRY(current, stored_hash(device));
  return !current.empty();
}

result<void> credential_store::remove(std::string_view device) {
  storage::write_batch b;
  b.erase(space, device);
  OTA_TRYV(kv_.write(b, storage::write_mode::sync));
  std::unique_lock lock{cache_mutex_};
  cache_.erase(std::string{device});
  return ok();
}

} // namespace otaledger::channel
