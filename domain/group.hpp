// The group aggregate: name, description and members. Members are kept as a
// set in the state (a large group costs memory only while its actor is live);
// the API pages members from a projection, never from this state.
#pragma once

#include "domain/decide.hpp"
#include "domain/group_commands.hpp"

#include <set>

namespace otaledger::domain {

struct group_state {
  std::string id;
  bool exists = false;
  bool deleted = false;
  std::string name;
  std::string description;
  std::set<std::string, std::less<>> members;
  bool operator==(const group_state&) const = default;
};

[[nodiscard]] decided<decision> decide(const group_state& s, const group_command& c,
                                       const decide_context& ctx);
[[nodiscard]] group_state evolve(group_state s, const events::event& e);

} // namespace otaledger::domain
