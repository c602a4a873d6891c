// Events of the product aggregate (stream "product-<id>").
#pragma once

#include "events/fields.hpp"

#include <cstdint>
#include <string>

namespace otaledger::events {

/// A product was created. Every device belongs to one product.
struct product_created {
  static constexpr std::string_view type_name = "product.created";
  static constexpr std::uint16_t schema = 1;
  std::string product; ///< product id
  std::string name;
  /// SHA-256 (hex) of the product secret for self-registration; may be empty
  std::string secret_hash;
  /// Gizwits: unverified firmware cannot be used by a task
  bool require_verification = true;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("product", s.product);
    f("name", s.name);
    f("secret_hash", s.secret_hash);
    f("require_verification", s.require_verification);
  }
  bool operator==(const product_created&) const = default;
};

/// A product's settings were changed (name, self-registration secret, verification rule).
struct product_edited {
  static constexpr std::string_view type_name = "product.edited";
  static constexpr std::uint16_t schema = 1;
  std::string product;
  std::string name;
  /// SHA-256 (hex) of the product secret; empty: no self-registration
  std::string secret_hash;
  /// unverified firmware cannot be used by a task of this product
  bool require_verification = true;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("product", s.product);
    f("name", s.name);
    f("secret_hash", s.secret_hash);
    f("require_verification", s.require_verification);
  }
  bool operator==(const product_edited&) const = default;
};

} // namespace otaledger::events
