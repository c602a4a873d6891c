// Commands of the product aggregate (stream "product-<id>").
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace otaledger::domain {

/// Create a product.
struct create_product {
  static constexpr std::string_view command_name = "create_product";
  std::string product;
  std::string name;                 ///< 1-64 characters
  std::string secret_hash;          ///< SHA-256 (hex) of the self-registration secret; may be empty
  bool require_verification = true; ///< tasks may only use verified firmware (Gizwits). Default: on
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("product", s.product);
    f("name", s.name);
    f("secret_hash", s.secret_hash);
    f("require_verification", s.require_verification);
  }
  bool operator==(const create_product&) const = default;
};

/// Replace a product's name, secret and verification rule.
struct edit_product {
  static constexpr std::string_view command_name = "edit_product";
  std::string product;
  std::string name;
  std::string secret_hash;
  bool require_verification = true;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("product", s.product);
    f("name", s.name);
    f("secret_hash", s.secret_hash);
    f("require_verification", s.require_verification);
  }
  bool operator==(const edit_product&) const = default;
};

using product_command = std::variant<create_product, edit_product>;

} // namespace otaledger::domain
