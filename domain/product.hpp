// The product aggregate: id, name, self-registration secret, and whether its
// tasks may only use verified firmware. Every device belongs to one product.
#pragma once

#include "domain/decide.hpp"
#include "domain/product_commands.hpp"

namespace otaledger::domain {

struct product_state {
  std::string id;
  bool exists = false;
  std::string name;
  std::string secret_hash;
  bool require_verification = true;
  bool operator==(const product_state&) const = default;
};

[[nodiscard]] decided<decision> decide(const product_state& s, const product_command& c,
                                       const decide_context& ctx);
[[nodiscard]] product_state evolve(product_state s, const events::event& e);

} // namespace otaledger::domain
