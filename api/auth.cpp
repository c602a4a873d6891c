#include "api/auth.hpp"

#include "base/errc.hpp"
#include "base/time.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace otaledger::api {

namespace {

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0xf]);
  }
  return out;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return false;
  return true;
}

} // namespace

std::string_view role_name(role r) {
  switch (r) {
  case role::viewer:
    return "viewer";
  case role::operator_:
    return "operator";
  case role::admin:
    return "admin";
  }
  return "viewer";
}

std::optional<role> role_from_name(std::string_view name) {
  if (name == "viewer") return role::viewer;
  if (name == "operator") return role::operator_;
  if (name == "admin") return role::admin;
  return std::nullopt;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha256(), nullptr);
  return to_hex(md.data(), n);
}

result<std::string> token_store::create(std::string_view name, role r) {
  if (!valid_name(name)) return base::make_error_code(base::errc::invalid_argument);
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    return base::make_error_code(base::errc::internal);
  std::string token = "otl_" + to_hex(bytes.data(), bytes.size());
  nlohmann::json v;
  v["name"] = std::string{name};
  v["role"] = std::string{role_name(r)};
  v["created"] = base::format_rfc3339(base::system_clock().now());
  storage::write_batch b;
  b.put(token_space, sha256_hex(token), v.dump());
  OTA_TRYV(kv_->write(b, storage::write_mode::sync));
  return token;
}

result<std::optional<token_principal>> token_store::lookup(std::string_view token) const {
  if (token.empty() || token.size() > 256) return std::optional<token_principal>{};
  OTA_TRY(row, kv_->get(token_space, sha256_hex(token)));
  if (!row) return std::optional<token_principal>{};
  auto j = nlohmann::json::parse(*row, nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j.contains("role") || !j["name"].is_string() ||
      !j["role"].is_string())
    return base::make_error_code(base::errc::internal);
  auto r = role_from_name(j["role"].get<std::string>());
  if (!r) return base::make_error_code(base::errc::internal);
  return std::optional<token_principal>{token_principal{j["name"].get<std::string>(), *r}};
}

result<std::optional<token_principal>>
token_store::authenticate(std::string_view authorization) const {
  constexpr std::string_view bearer = "Bearer ";
  if (authorization.size() <= bearer.size() || authorization.substr(0, bearer.size()) != bearer)
    return std::optional<token_principal>{};
  return lookup(authorization.substr(bearer.size()));
}

} // namespace otaledger::api
