// The OpenAPI 3.0 document of the operators' API, generated from the route
// table that add_operator_routes builds (one entry per route), so the
// document cannot drift from the routes: a test compares the two.
//
// Command routes carry an example request body: the command's JSON with every
// field at its default (domain::command_from_json with fill_defaults), which
// names every field a client may set.
#pragma once

#include "api/auth.hpp"

#include <optional>
#include <string>
#include <vector>

namespace otaledger::api {

/// One documented route.
struct route_doc {
  std::string method;  ///< "GET", "POST", ...
  std::string pattern; ///< "/v1/tasks/{id}/pause"
  std::string summary;
  std::optional<role> min_role;   ///< nullopt: no token needed
  std::string command;            ///< the domain command the body holds ("" none)
  std::vector<std::string> query; ///< query parameters
  bool upload = false;            ///< the body is the raw bytes of a file
  std::string produces = {};      ///< response type when not JSON ("text/csv")
};

/// The OpenAPI document (JSON text).
std::string render_openapi(const std::vector<route_doc>& routes);

} // namespace otaledger::api
