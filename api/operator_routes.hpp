// The operators' HTTP API: JSON routes for products, devices, groups,
// firmware, packages and upgrade tasks on an api::router, plus /openapi.json,
// /metrics and /healthz. docs/api.md lists every route with its body and
// errors; /openapi.json is generated from the same table.
//
//   api::operator_context ctx{runtime.get(), db.events.get(), db.views.get(), db.blobs.get()};
//   auto routes = std::make_shared<api::router>();
//   api::add_operator_routes(*routes, ctx);
//   api::http_server server{opts, routes};
//
// Commands: a mutating call becomes one domain command, read from the body
// with domain::command_from_json (missing fields take their defaults; a bad
// field is 400 invalid_argument naming it), with the aggregate's id taken
// from the path. It is submitted to actors::runtime with the principal
// "operator:<token name>", the Idempotency-Key header as the command id
// (a repeat appends nothing and answers duplicate=true) and the reason (body
// field "reason", else the X-Reason header). A refusal keeps the domain's
// message, which names the state that refused it.
//
// Reads: single aggregates come from the runtime (current state); lists and
// pages come from the projections' views (projections::queries), which are as
// of the projector's checkpoint and may lag the log by a moment.
//
// Threads: handlers run on the server's I/O threads and never block on the
// runtime (they use submit/query with callbacks). The context's pointers must
// outlive the server.
#pragma once

#include "actors/runtime.hpp"
#include "api/http.hpp"
#include "storage/blob_store.hpp"
#include "storage/event_store.hpp"
#include "storage/kv_store.hpp"

#include <cstddef>

namespace otaledger::api {

/// What the operator routes work on.
struct operator_context {
  /// The actor runtime commands and single-aggregate reads go to. Required.
  actors::runtime* runtime = nullptr;
  /// The event log: its head is reported by /metrics. Optional.
  storage::event_store* log = nullptr;
  /// The views kv store: API token hashes (space "api_tokens") and the
  /// projections' views the lists are read from. Required.
  storage::kv_store* views = nullptr;
  /// The blob store (uploads; not used by this version of the routes). Optional.
  storage::blob_store* blobs = nullptr;
  /// Largest JSON request body, bytes. Default: 1 MiB.
  std::size_t max_body = 1 << 20;
};

/// Adds every operator route (under /v1), /openapi.json, /metrics and /healthz.
void add_operator_routes(router& r, const operator_context& ctx);

} // namespace otaledger::api
