#include "domain/product.hpp"

#include "domain/validation.hpp"

#include <fmt/format.h>

namespace otaledger::domain {

using namespace events;

namespace {

decided<void> check_fields(std::string_view name, std::string_view secret_hash) {
  OTA_TRYV(check_text("name", name, 1, 64));
  if (!secret_hash.empty() && !is_lower_hex(secret_hash, 64))
    return reject(errc::invalid_argument, "secret_hash must be 64 lower-case hex digits (SHA-256)");
  return outcome::success();
}

decided<decision> decide_impl(const product_state& s, const create_product& c,
                              const decide_context&) {
  OTA_TRYV(check_id("product", c.product));
  if (s.exists)
    return reject(errc::already_exists, fmt::format("product {} already exists", c.product));
  OTA_TRYV(check_fields(c.name, c.secret_hash));
  return decision{product_created{c.product, c.name, c.secret_hash, c.require_verification}};
}

decided<decision> decide_impl(const product_state& s, const edit_product& c,
                              const decide_context&) {
  if (!s.exists)
    return reject(errc::not_found, fmt::format("product {} does not exist", c.product));
  OTA_TRYV(check_fields(c.name, c.secret_hash));
  if (c.name == s.name && c.secret_hash == s.secret_hash &&
      c.require_verification == s.require_verification)
    return decision{};
  return decision{product_edited{s.id, c.name, c.secret_hash, c.require_verification}};
}

} // namespace

decided<decision> decide(const product_state& s, const product_command& c,
                         const decide_context& ctx) {
  return std::visit([&](const auto& x) { return decide_impl(s, x, ctx); }, c);
}

product_state evolve(product_state s, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, product_created> || std::is_same_v<T, product_edited>) {
          if (!s.id.empty() && e.product != s.id) return;
          if (s.id.empty() && !std::is_same_v<T, product_created>) return;
          s.id = e.product;
          s.exists = true;
          s.name = e.name;
          s.secret_hash = e.secret_hash;
          s.require_verification = e.require_verification;
        }
      },
      ev);
  return s;
}

} // namespace otaledger::domain
