// API tokens for the operators' API: roles, hashing and the token store.
//
// A token is "otl_" followed by 64 random hex digits. Only its SHA-256 (hex)
// is stored, as the key of the kv space "api_tokens" (views column family);
// the value is a small JSON object {"name", "role", "created"}. The plain
// token is shown once, by `otaledger token create`, and never again.
//
// Roles are ordered: viewer < operator < admin. A viewer may read; an
// operator may also change the catalog and tasks; an admin may do anything
// (today: the same as an operator, plus future token management routes).
// The principal recorded in every event is "operator:<token name>".
//
// Thread safety: token_store may be used from any thread (the kv store is
// thread-safe and the store keeps no mutable state). Crash: a created token
// is written with write_mode::sync.
#pragma once

#include "base/result.hpp"
#include "storage/kv_store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace otaledger::api {

enum class role : int { viewer = 0, operator_ = 1, admin = 2 };

/// "viewer", "operator", "admin".
std::string_view role_name(role r);
/// The role of that name, or nullopt.
std::optional<role> role_from_name(std::string_view name);

/// Who a valid token belongs to.
struct token_principal {
  std::string name;
  api::role role = role::viewer;
  /// "operator:<name>", recorded in events::event_meta::principal.
  std::string principal() const { return "operator:" + name; }
};

/// SHA-256 of `data`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

/// The kv space holding token hashes.
inline constexpr std::string_view token_space = "api_tokens";

class token_store {
public:
  explicit token_store(storage::kv_store& kv) : kv_(&kv) {}

  /// Creates a token for `name` (1..64 characters of letters, digits, '_',
  /// '-', '.') with `r`, stores its hash and returns the plain token.
  /// A bad name is base::errc::invalid_argument.
  result<std::string> create(std::string_view name, role r);

  /// The owner of `token`, or nullopt when it is unknown.
  result<std::optional<token_principal>> lookup(std::string_view token) const;

  /// The owner of an "Authorization: Bearer <token>" header value, or nullopt.
  result<std::optional<token_principal>> authenticate(std::string_view authorization) const;

private:
  storage::kv_store* kv_;
};

} // namespace otaledger::api
