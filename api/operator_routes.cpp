#include "api/operator_routes.hpp"

#include "api/auth.hpp"
#include "api/errors.hpp"
#include "api/metrics.hpp"
#include "api/openapi.hpp"
#include "base/errc.hpp"
#include "base/uuid.hpp"
#include "domain/commands.hpp"
#include "projections/projector.hpp"
#include "projections/queries.hpp"

#include <charconv>
#include <memory>

namespace otaledger::api {

namespace {

using json = events::json;

template <class T> json value(const T& v) {
  return events::detail::json_writer::to_value(v);
}

struct api_state {
  operator_context ctx;
  token_store tokens;
  api_metrics metrics;
  std::vector<route_doc> docs;
  std::string openapi;
  explicit api_state(const operator_context& c) : ctx(c), tokens(*c.views) {}
};

using state_ptr = std::shared_ptr<api_state>;

/// The kv space of remembered answers: "<token name>\n<Idempotency-Key>" ->
/// {"status", "body"}.
constexpr std::string_view idempotency_space = "api_idempotency";
using operator_handler = std::function<void(http_request&, const token_principal&, responder)>;

http_response api_error(errc e, std::string message, json details = json::object()) {
  return error_response(make_error_code(e), std::move(message), std::move(details));
}

/// Registers a route: counts its answers, checks the token and role, documents it.
void add_route(router& r, const state_ptr& st, route_doc doc, operator_handler fn) {
  st->docs.push_back(doc);
  auto min = doc.min_role;
  r.add(
      doc.method, doc.pattern,
      [st, min, fn = std::move(fn)](http_request& req, responder respond) {
        responder counted = [st, respond = std::move(respond)](http_response res) {
          st->metrics.record(res.status);
          respond(std::move(res));
        };
        token_principal who;
        if (min) {
          auto found = st->tokens.authenticate(req.header("authorization"));
          if (!found) return counted(api_error(errc::internal, "cannot read the token store"));
          if (!found.value())
            return counted(api_error(errc::unauthorized,
                                     "an Authorization: Bearer <token> header with a "
                                     "valid API token is required"));
          who = *found.value();
          if (who.role < *min)
            return counted(api_error(errc::forbidden, "role " + std::string{role_name(who.role)} +
                                                          " may not " + req.method + " " +
                                                          req.path + " (needs " +
                                                          std::string{role_name(*min)} + ")"));
        }
        fn(req, who, std::move(counted));
      },
      st->ctx.max_body);
}

/// The body as a JSON object ("" is {}); nullopt after answering 400.
std::optional<json> body_object(const http_request& req, responder& respond) {
  if (req.body.empty()) return json::object();
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    respond(api_error(errc::malformed, "the request body is not valid JSON"));
    return std::nullopt;
  }
  if (!j.is_object()) {
    respond(api_error(errc::malformed, "the request body must be a JSON object"));
    return std::nullopt;
  }
  return j;
}

json outcome_json(const actors::command_outcome& o) {
  json j;
  j["stream"] = o.stream;
  j["version"] = o.version.value();
  j["first"] = o.first.value();
  j["last"] = o.last.value();
  j["duplicate"] = o.duplicate;
  json types = json::array();
  for (const auto& e : o.events)
    types.push_back(std::string{events::type_name_of(e)});
  j["events"] = types;
  return j;
}

struct command_spec {
  std::string_view name;     ///< domain command
  std::string_view id_field; ///< "task", "group", ...
  bool id_from_path = true;  ///< else taken from the body, generated when absent
  int status = 200;          ///< on success
};

/// Reads the command from the body, submits it, answers its outcome.
void run_command(const state_ptr& st, http_request& req, const token_principal& who,
                 const command_spec& spec, responder respond) {
  auto body = body_object(req, respond);
  if (!body) return;
  events::event_meta meta;
  meta.principal = who.principal();
  meta.command = std::string{req.header("idempotency-key")};
  if (auto it = body->find("reason"); it != body->end()) {
    if (!it->is_string())
      return respond(api_error(errc::malformed, "reason must be a string", {{"field", "reason"}}));
    meta.reason = it->get<std::string>();
    body->erase(it);
  } else {
    meta.reason = std::string{req.header("x-reason")};
  }
  const std::string field{spec.id_field};
  if (spec.id_from_path) {
    const auto& id = req.param("id");
    if (auto it = body->find(field); it != body->end() && *it != json(id))
      return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                    field + " in the body differs from the path",
                                    {{"field", field}}));
    (*body)[field] = id;
  } else if (auto it = body->find(field);
             it == body->end() || (it->is_string() && it->get<std::string>().empty())) {
    (*body)[field] = base::uuid::random().to_string();
  }
  std::string error;
  auto cmd = domain::command_from_json(spec.name, *body, error);
  if (!cmd)
    return respond(error_response(domain::make_error_code(domain::errc::invalid_argument), error,
                                  {{"command", spec.name}}));
  // Idempotency: the store drops a repeated command id, but only after the
  // domain decided it again, and a repeated create or pause is refused by the
  // domain first. So the API remembers the answer to each (token name, key)
  // and replays it with duplicate = true.
  std::string idem_key;
  if (!meta.command.empty()) {
    if (meta.command.size() > 200)
      return respond(api_error(errc::malformed, "Idempotency-Key is longer than 200 characters",
                               {{"field", "Idempotency-Key"}}));
    idem_key = who.name + '\n' + meta.command;
    auto seen = st->ctx.views->get(idempotency_space, idem_key);
    if (!seen) return respond(error_response(seen.error(), "cannot read the idempotency keys"));
    if (seen.value()) {
      auto j = json::parse(*seen.value(), nullptr, false);
      if (j.is_object() && j.contains("status") && j.contains("body")) {
        auto body = j["body"];
        body["duplicate"] = true;
        return respond(http_response::json(j["status"].get<int>(), body.dump()));
      }
    }
  }
  int ok_status = spec.status;
  st->ctx.runtime->submit(
      std::move(cmd).value(), std::move(meta),
      [st, respond = std::move(respond), ok_status, idem_key](actors::command_outcome o) {
        if (!o.ok()) {
          auto msg = o.message.empty() ? o.error.message() : o.message;
          return respond(error_response(o.error, std::move(msg), {{"stream", o.stream}}));
        }
        auto body = outcome_json(o);
        if (!idem_key.empty()) {
          // no_sync: the answer survives a process crash; after a machine
          // crash a repeat may be refused by the domain instead of replayed.
          storage::write_batch b;
          b.put(idempotency_space, idem_key, json{{"status", ok_status}, {"body", body}}.dump());
          (void)st->ctx.views->write(b, storage::write_mode::no_sync);
        }
        respond(http_response::json(ok_status, body.dump()));
      });
}

// ---- JSON of the aggregates' current states --------------------------------

json state_json(const domain::product_state& s) {
  return {{"product", s.id},
          {"name", s.name},
          {"require_verification", s.require_verification},
          {"has_secret", !s.secret_hash.empty()}};
}

json state_json(const domain::device_state& s) {
  json j{{"device", s.id},
         {"product", s.product},
         {"name", s.name},
         {"imei", s.imei},
         {"mac", s.mac},
         {"region", value(s.region)},
         {"fota_version", s.fota_version},
         {"sota_version", s.sota_version},
         {"online", s.online},
         {"signal", value(s.signal)},
         {"battery", value(s.battery)},
         {"registered_at", value(s.registered_at)}};
  json xs = json::array();
  for (const auto& x : s.executions)
    xs.push_back({{"task", x.task},
                  {"phase", value(x.phase)},
                  {"attempt", x.attempt},
                  {"percent", x.percent},
                  {"failure", value(x.failure)},
                  {"note", x.note},
                  {"version", x.version}});
  j["executions"] = xs;
  return j;
}

json state_json(const domain::group_state& s) {
  return {{"group", s.id},
          {"name", s.name},
          {"description", s.description},
          {"member_count", s.members.size()}};
}

json state_json(const domain::firmware_state& s) {
  return {{"firmware", s.id},
          {"product", s.product},
          {"kind", value(s.kind)},
          {"vendor", s.vendor},
          {"model", s.model},
          {"version", s.version},
          {"hardware_code", s.hardware_code},
          {"software_code", s.software_code},
          {"image", value(s.image)},
          {"verification", value(s.verification)},
          {"test_device", s.test_device},
          {"verification_note", s.verification_note},
          {"created_at", value(s.created_at)}};
}

json state_json(const domain::package_state& s) {
  return {{"package", s.id},
          {"firmware", s.firmware},
          {"kind", value(s.kind)},
          {"vendor", s.vendor},
          {"model", s.model},
          {"target_version", s.target_version},
          {"type", value(s.type)},
          {"initial_version", s.initial_version},
          {"origin", value(s.origin)},
          {"file", value(s.file)},
          {"created_at", value(s.created_at)}};
}

json state_json(const domain::task_state& s) {
  return {{"task", s.id},
          {"status", std::string{domain::status_name(s)}},
          {"settings", value(s.settings)},
          {"package", value(s.package)},
          {"created_at", value(s.created_at)},
          {"started_at", value(s.started_at)},
          {"resumed_at", value(s.resumed_at)},
          {"stopped_at", value(s.stopped_at)},
          {"stopped_by", value(s.stopped_by)},
          {"wave", s.wave},
          {"install_released", s.install_released},
          {"retry_rounds", s.retry_rounds},
          {"targets_total", value(s.targets_total)}};
}

bool live(const domain::product_state& s) {
  return s.exists;
}
bool live(const domain::device_state& s) {
  return s.registered;
}
bool live(const domain::group_state& s) {
  return s.exists && !s.deleted;
}
bool live(const domain::firmware_state& s) {
  return s.exists && !s.deleted;
}
bool live(const domain::package_state& s) {
  return s.exists && !s.deleted;
}
bool live(const domain::task_state& s) {
  return s.exists && s.status != domain::task_status::deleted;
}

/// GET of one aggregate: its current state from the runtime.
template <class State>
void get_aggregate(const state_ptr& st, const std::string& kind, const std::string& id,
                   responder respond, std::function<void(json&)> extend = {}) {
  st->ctx.runtime->query(kind + "-" + id,
                         [respond = std::move(respond), kind, id,
                          extend = std::move(extend)](result<actors::aggregate_state> r) {
                           if (!r) return respond(error_response(r.error(), r.error().message()));
                           const auto* s = std::get_if<State>(&r.value());
                           if (!s || !live(*s))
                             return respond(api_error(errc::not_found, "no " + kind + " " + id,
                                                      {{"kind", kind}, {"id", id}}));
                           auto j = state_json(*s);
                           if (extend) extend(j);
                           respond(http_response::json(200, j.dump()));
                         });
}

// ---- paging ---------------------------------------------------------------

/// cursor and limit from the query; nullopt after answering 400.
std::optional<projections::page_request> page_of(const http_request& req, responder& respond) {
  projections::page_request p;
  if (auto c = req.query_param("cursor")) p.cursor = *c;
  if (auto l = req.query_param("limit")) {
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc{} || ptr != l->data() + l->size() || n < 1 || n > 1000) {
      respond(api_error(errc::malformed, "limit must be an integer from 1 to 1000",
                        {{"field", "limit"}}));
      return std::nullopt;
    }
    p.limit = n;
  }
  return p;
}

template <class T, class F>
void answer_page(result<projections::page<T>> r, responder& respond, F&& item_json,
                 json extra = json::object()) {
  if (!r)
    return respond(error_response(r.error(), r.error() == domain::errc::invalid_argument ||
                                                     r.error() == base::errc::invalid_argument
                                                 ? projections::error_detail()
                                                 : r.error().message()));
  json j = std::move(extra);
  json items = json::array();
  for (const auto& x : r.value().items)
    items.push_back(item_json(x));
  j["items"] = items;
  j["next"] = r.value().next;
  respond(http_response::json(200, j.dump()));
}

std::string q(const http_request& req, std::string_view name) {
  auto v = req.query_param(name);
  return v ? *v : std::string{};
}

void add_catalog_routes(router& r, const state_ptr& st) {
  const auto op = role::operator_;
  const auto viewer = role::viewer;
  auto command = [&](std::string method, std::string pattern, std::string summary,
                     command_spec spec) {
    add_route(r, st, {method, pattern, summary, op, std::string{spec.name}, {}},
              [st, spec](http_request& req, const token_principal& who, responder respond) {
                run_command(st, req, who, spec, std::move(respond));
              });
  };

  // Products.
  command("POST", "/v1/products", "Create a product", {"create_product", "product", false, 201});
  add_route(r, st, {"GET", "/v1/products/{id}", "A product", viewer, "", {}},
            [st](http_request& req, const token_principal&, responder respond) {
              get_aggregate<domain::product_state>(st, "product", req.param("id"),
                                                   std::move(respond));
            });

  // Devices.
  command("POST", "/v1/devices", "Register a device", {"register_device", "device", false, 201});
  add_route(r, st,
            {"GET",
             "/v1/devices",
             "Devices (fleet view), by product and online state",
             viewer,
             "",
             {"product", "online", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::fleet_filter f;
              f.product = q(req, "product");
              if (auto o = req.query_param("online")) {
                if (*o != "true" && *o != "false")
                  return respond(api_error(errc::malformed, "online must be true or false",
                                           {{"field", "online"}}));
                f.online = *o == "true";
              }
              projections::queries qs{*st->ctx.views};
              answer_page(qs.fleet(f, *p), respond, [](const auto& x) { return value(x); });
            });
  add_route(r, st, {"GET", "/v1/devices/{id}", "A device", viewer, "", {}},
            [st](http_request& req, const token_principal&, responder respond) {
              get_aggregate<domain::device_state>(st, "device", req.param("id"),
                                                  std::move(respond));
            });

  // Groups.
  add_route(r, st,
            {"GET",
             "/v1/groups",
             "Groups, searched by name prefix",
             viewer,
             "",
             {"name", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::queries qs{*st->ctx.views};
              answer_page(qs.groups(q(req, "name"), *p), respond,
                          [](const auto& x) { return value(x); });
            });
  command("POST", "/v1/groups", "Create a group", {"create_group", "group", false, 201});
  add_route(r, st, {"GET", "/v1/groups/{id}", "A group", viewer, "", {}},
            [st](http_request& req, const token_principal&, responder respond) {
              get_aggregate<domain::group_state>(st, "group", req.param("id"), std::move(respond));
            });
  command("PUT", "/v1/groups/{id}", "Edit a group's name and description",
          {"edit_group", "group", true, 200});
  command("DELETE", "/v1/groups/{id}", "Delete a group", {"delete_group", "group", true, 200});
  add_route(r, st,
            {"GET",
             "/v1/groups/{id}/members",
             "A group's members, paged",
             viewer,
             "",
             {"cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::queries qs{*st->ctx.views};
              answer_page(qs.group_members(req.param("id"), *p), respond,
                          [](const auto& x) { return projections::to_json(x); });
            });
  command("POST", "/v1/groups/{id}/members", "Add devices to a group",
          {"add_group_devices", "group", true, 200});
  command("POST", "/v1/groups/{id}/members/remove", "Remove devices from a group",
          {"remove_group_devices", "group", true, 200});

  // Firmware.
  add_route(r, st,
            {"GET",
             "/v1/firmware",
             "Firmware versions by vendor, model and version prefix",
             viewer,
             "",
             {"vendor", "model", "version", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::firmware_filter f{q(req, "vendor"), q(req, "model"), q(req, "version")};
              projections::queries qs{*st->ctx.views};
              answer_page(qs.firmware(f, *p), respond, [](const auto& x) { return value(x); });
            });
  command("POST", "/v1/firmware", "Create a firmware version (image as file info)",
          {"create_firmware", "firmware", false, 201});
  add_route(r, st, {"GET", "/v1/firmware/{id}", "A firmware version", viewer, "", {}},
            [st](http_request& req, const token_principal&, responder respond) {
              get_aggregate<domain::firmware_state>(st, "firmware", req.param("id"),
                                                    std::move(respond));
            });
  command("DELETE", "/v1/firmware/{id}", "Delete a firmware version",
          {"delete_firmware", "firmware", true, 200});

  // Packages.
  command("POST", "/v1/packages", "Create a package (file as file info)",
          {"create_package", "package", false, 201});
  add_route(r, st, {"GET", "/v1/packages/{id}", "A package", viewer, "", {}},
            [st](http_request& req, const token_principal&, responder respond) {
              get_aggregate<domain::package_state>(st, "package", req.param("id"),
                                                   std::move(respond));
            });
  command("DELETE", "/v1/packages/{id}", "Delete a package",
          {"delete_package", "package", true, 200});
}

void add_task_routes(router& r, const state_ptr& st) {
  const auto op = role::operator_;
  const auto viewer = role::viewer;
  auto command = [&](std::string method, std::string pattern, std::string summary,
                     command_spec spec) {
    add_route(r, st, {method, pattern, summary, op, std::string{spec.name}, {}},
              [st, spec](http_request& req, const token_principal& who, responder respond) {
                run_command(st, req, who, spec, std::move(respond));
              });
  };
  add_route(r, st,
            {"GET",
             "/v1/tasks",
             "Tasks by state and name prefix, with success rates",
             viewer,
             "",
             {"status", "name", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::task_filter f{q(req, "status"), q(req, "name")};
              projections::queries qs{*st->ctx.views};
              answer_page(qs.tasks(f, *p), respond,
                          [](const auto& x) { return projections::to_json(x); });
            });
  command("POST", "/v1/tasks", "Create a task with every setting",
          {"create_task", "task", false, 201});
  add_route(
      r, st, {"GET", "/v1/tasks/{id}", "A task: every setting, package, progress", viewer, "", {}},
      [st](http_request& req, const token_principal&, responder respond) {
        auto id = req.param("id");
        get_aggregate<domain::task_state>(st, "task", id, std::move(respond), [st, id](json& j) {
          projections::queries qs{*st->ctx.views};
          auto p = qs.progress(id);
          j["progress"] = p && p.value() ? projections::to_json(*p.value()) : json(nullptr);
        });
      });
  command("PUT", "/v1/tasks/{id}", "Replace every setting (not_started only)",
          {"edit_task", "task", true, 200});
  command("DELETE", "/v1/tasks/{id}", "Delete a task", {"delete_task", "task", true, 200});
  command("POST", "/v1/tasks/{id}/start", "Start a task", {"start_task", "task", true, 200});
  command("POST", "/v1/tasks/{id}/pause", "Pause a task", {"pause_task", "task", true, 200});
  command("POST", "/v1/tasks/{id}/resume", "Resume a paused task",
          {"resume_task", "task", true, 200});
  command("POST", "/v1/tasks/{id}/cancel", "Cancel a task", {"cancel_task", "task", true, 200});
  command("POST", "/v1/tasks/{id}/retry-failed", "Re-queue every failed device",
          {"retry_failed_devices", "task", true, 200});
  command("POST", "/v1/tasks/{id}/release-install", "Release the install of a download-only task",
          {"release_task_install", "task", true, 200});
  command("POST", "/v1/tasks/{id}/advance-wave", "Open the next wave by hand",
          {"advance_task_wave", "task", true, 200});
  add_route(r, st,
            {"GET",
             "/v1/tasks/{id}/devices",
             "Device status of a task: counts and a paged list by phase or id/MAC search",
             viewer,
             "",
             {"phase", "search", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::device_status_filter f;
              f.search = q(req, "search");
              if (auto ph = req.query_param("phase"); ph && !ph->empty()) {
                auto e = events::enum_from_name<events::execution_phase>(*ph);
                if (!e)
                  return respond(
                      api_error(errc::malformed, "unknown phase " + *ph, {{"field", "phase"}}));
                f.phase = *e;
              }
              const auto& id = req.param("id");
              projections::queries qs{*st->ctx.views};
              auto progress = qs.progress(id);
              if (!progress) return respond(error_response(progress.error(), "cannot read views"));
              json extra;
              extra["task"] = id;
              extra["counts"] =
                  progress.value() ? projections::to_json(*progress.value()) : json(nullptr);
              answer_page(
                  qs.device_status(id, f, *p), respond,
                  [](const auto& x) { return projections::to_json(x); }, std::move(extra));
            });
}

void add_service_routes(router& r, const state_ptr& st) {
  add_route(r, st, {"GET", "/healthz", "Liveness", std::nullopt, "", {}},
            [](http_request&, const token_principal&, responder respond) {
              respond(http_response::json(200, R"({"status":"ok"})"));
            });
  add_route(r, st, {"GET", "/openapi.json", "This document", std::nullopt, "", {}},
            [st](http_request&, const token_principal&, responder respond) {
              respond(http_response::json(200, st->openapi));
            });
  add_route(r, st, {"GET", "/metrics", "Prometheus metrics", std::nullopt, "", {}},
            [st](http_request&, const token_principal&, responder respond) {
              std::optional<std::uint64_t> head;
              if (st->ctx.log) head = st->ctx.log->head().value();
              respond(http_response::text(200, st->metrics.render(st->ctx.runtime->stats(), head),
                                          "text/plain; version=0.0.4"));
            });
}

} // namespace

void add_operator_routes(router& r, const operator_context& ctx) {
  auto st = std::make_shared<api_state>(ctx);
  add_catalog_routes(r, st);
  add_task_routes(r, st);
  add_service_routes(r, st);
  st->openapi = render_openapi(st->docs);
}

} // namespace otaledger::api
