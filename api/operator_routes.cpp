#include "api/operator_routes.hpp"

#include "api/auth.hpp"
#include "api/errors.hpp"
#include "api/metrics.hpp"
#include "api/openapi.hpp"
#include "base/errc.hpp"
#include "base/uuid.hpp"
#include "delta/delta.hpp"
#include "domain/commands.hpp"
#include "domain/validation.hpp"
#include "projections/projector.hpp"
#include "projections/queries.hpp"
#include "projections/replay.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

namespace otaledger::api {

namespace {

using json = events::json;

template <class T> json value(const T& v) {
  return events::detail::json_writer::to_value(v);
}

/// One worker thread for CPU-heavy jobs (online deltas), off the I/O threads.
class worker {
public:
  worker() : thread_([q = q_] { run(q); }) {}
  ~worker() {
    {
      std::lock_guard lock{q_->mu};
      q_->stopping = true;
    }
    q_->cv.notify_all();
    // The last reference to the API state may be dropped by a job itself:
    // the thread then finishes on its own (it shares the queue, not *this).
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard lock{q_->mu};
      q_->jobs.push_back(std::move(job));
    }
    q_->cv.notify_one();
  }

private:
  struct queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> jobs;
    bool stopping = false;
  };
  static void run(std::shared_ptr<queue> q) {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock{q->mu};
        q->cv.wait(lock, [&] { return q->stopping || !q->jobs.empty(); });
        if (q->jobs.empty()) return;
        job = std::move(q->jobs.front());
        q->jobs.pop_front();
      }
      try {
        job();
      } catch (const std::exception& e) {
        std::cerr << "otaledger: api worker job threw: " << e.what() << "\n";
      }
    }
  }
  std::shared_ptr<queue> q_ = std::make_shared<queue>();
  std::thread thread_;
};

struct api_state {
  operator_context ctx;
  token_store tokens;
  api_metrics metrics;
  std::vector<route_doc> docs;
  std::string openapi;
  worker diffs;
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

/// Checks the token and role; an answer when refused.
std::optional<http_response> authorize(const state_ptr& st, const http_request& req,
                                       std::optional<role> min, token_principal& who) {
  if (!min) return std::nullopt;
  auto found = st->tokens.authenticate(req.header("authorization"));
  if (!found) return api_error(errc::internal, "cannot read the token store");
  if (!found.value())
    return api_error(errc::unauthorized, "an Authorization: Bearer <token> header with a "
                                         "valid API token is required");
  who = *found.value();
  if (who.role < *min)
    return api_error(errc::forbidden, "role " + std::string{role_name(who.role)} + " may not " +
                                          req.method + " " + req.path + " (needs " +
                                          std::string{role_name(*min)} + ")");
  return std::nullopt;
}

responder counting(const state_ptr& st, responder respond) {
  return [st, respond = std::move(respond)](http_response res) {
    st->metrics.record(res.status);
    respond(std::move(res));
  };
}

/// Registers a route: counts its answers, checks the token and role, documents it.
void add_route(router& r, const state_ptr& st, route_doc doc, operator_handler fn) {
  st->docs.push_back(doc);
  auto min = doc.min_role;
  r.add(
      doc.method, doc.pattern,
      [st, min, fn = std::move(fn)](http_request& req, responder respond) {
        responder counted = counting(st, std::move(respond));
        token_principal who;
        if (auto refused = authorize(st, req, min, who)) return counted(std::move(*refused));
        fn(req, who, std::move(counted));
      },
      st->ctx.max_body);
}

using upload_handler =
    std::function<std::unique_ptr<body_sink>(http_request&, const token_principal&, responder)>;

/// Registers an upload route (the body streams to the handler's sink).
void add_upload_route(router& r, const state_ptr& st, route_doc doc, std::uint64_t max_body,
                      upload_handler fn) {
  doc.upload = true;
  st->docs.push_back(doc);
  auto min = doc.min_role;
  r.add_streaming(
      doc.method, doc.pattern,
      [st, min, fn = std::move(fn)](http_request& req,
                                    responder& respond) -> std::unique_ptr<body_sink> {
        responder counted = counting(st, respond);
        token_principal who;
        if (auto refused = authorize(st, req, min, who)) {
          counted(std::move(*refused));
          return nullptr;
        }
        return fn(req, who, std::move(counted));
      },
      static_cast<std::size_t>(max_body));
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

/// Called once a command settled: `kept` is true when it appended events
/// (false: refused, failed, or a duplicate that appended nothing).
using settled_fn = std::function<void(bool kept)>;

/// Submits the command `spec` built from `body` (the reason and the id are
/// taken as documented), answers its outcome (with `extra` merged in).
void submit_json(const state_ptr& st, const http_request& req, const token_principal& who,
                 const command_spec& spec, json body, responder respond, settled_fn settled = {},
                 json extra = json::object()) {
  auto settle = [settled](bool kept) {
    if (settled) settled(kept);
  };
  events::event_meta meta;
  meta.principal = who.principal();
  meta.command = std::string{req.header("idempotency-key")};
  if (auto it = body.find("reason"); it != body.end()) {
    if (!it->is_string()) {
      settle(false);
      return respond(api_error(errc::malformed, "reason must be a string", {{"field", "reason"}}));
    }
    meta.reason = it->get<std::string>();
    body.erase(it);
  } else if (auto r = req.query_param("reason")) {
    meta.reason = *r;
  } else {
    meta.reason = std::string{req.header("x-reason")};
  }
  const std::string field{spec.id_field};
  if (spec.id_from_path) {
    const auto& id = req.param("id");
    if (auto it = body.find(field); it != body.end() && *it != json(id)) {
      settle(false);
      return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                    field + " in the body differs from the path",
                                    {{"field", field}}));
    }
    body[field] = id;
  } else if (auto it = body.find(field);
             it == body.end() || (it->is_string() && it->get<std::string>().empty())) {
    body[field] = base::uuid::random().to_string();
  }
  std::string error;
  auto cmd = domain::command_from_json(spec.name, body, error);
  if (!cmd) {
    settle(false);
    return respond(error_response(domain::make_error_code(domain::errc::invalid_argument), error,
                                  {{"command", spec.name}}));
  }
  // Idempotency: the store drops a repeated command id, but only after the
  // domain decided it again, and a repeated create or pause is refused by the
  // domain first. So the API remembers the answer to each (token name, key)
  // and replays it with duplicate = true.
  std::string idem_key;
  if (!meta.command.empty()) {
    if (meta.command.size() > 200) {
      settle(false);
      return respond(api_error(errc::malformed, "Idempotency-Key is longer than 200 characters",
                               {{"field", "Idempotency-Key"}}));
    }
    idem_key = who.name + '\n' + meta.command;
    auto seen = st->ctx.views->get(idempotency_space, idem_key);
    if (!seen) {
      settle(false);
      return respond(error_response(seen.error(), "cannot read the idempotency keys"));
    }
    if (seen.value()) {
      auto j = json::parse(*seen.value(), nullptr, false);
      if (j.is_object() && j.contains("status") && j.contains("body")) {
        auto body = j["body"];
        body["duplicate"] = true;
        settle(false);
        return respond(http_response::json(j["status"].get<int>(), body.dump()));
      }
    }
  }
  int ok_status = spec.status;
  st->ctx.runtime->submit(
      std::move(cmd).value(), std::move(meta),
      [st, respond = std::move(respond), ok_status, idem_key, settle,
       extra = std::move(extra)](actors::command_outcome o) {
        if (!o.ok()) {
          settle(false);
          auto msg = o.message.empty() ? o.error.message() : o.message;
          return respond(error_response(o.error, std::move(msg), {{"stream", o.stream}}));
        }
        settle(!o.duplicate);
        auto body = outcome_json(o);
        for (auto& [k, v] : extra.items())
          body[k] = v;
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

/// Reads the command from the body, submits it, answers its outcome.
void run_command(const state_ptr& st, http_request& req, const token_principal& who,
                 const command_spec& spec, responder respond) {
  auto body = body_object(req, respond);
  if (!body) return;
  submit_json(st, req, who, spec, std::move(*body), std::move(respond));
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

// ---- uploads ---------------------------------------------------------------

/// File name extensions an uploaded file may have (SPEC §1; the domain checks
/// the same list for every stored file, deltas included).
const std::vector<std::string> image_extensions = {"bin", "hex", "zip", "rar", "swu"};
const std::vector<std::string>& delta_extensions = image_extensions;

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

/// Checks the operator's file name, a label that never becomes a path.
/// Answers 400 (path-like) or 415 (extension) when refused.
std::optional<http_response> check_file_name(const std::string& name,
                                             const std::vector<std::string>& exts) {
  auto bad = [&](std::string why) {
    return error_response(domain::make_error_code(domain::errc::invalid_argument), std::move(why),
                          {{"field", "name"}});
  };
  if (name.empty())
    return bad("the file name is required (query parameter name or header X-File-Name)");
  if (name.size() > 128) return bad("the file name is longer than 128 characters");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':')
      return bad("the file name '" + name +
                 "' contains a path separator or a control character: send a plain name "
                 "such as m5330-1.3.bin");
  if (name.front() == '.' || name.find("..") != std::string::npos)
    return bad("the file name '" + name + "' may not start with '.' or contain '..'");
  auto dot = name.rfind('.');
  auto ext = dot == std::string::npos ? std::string{} : lower_ascii(name.substr(dot + 1));
  if (std::find(exts.begin(), exts.end(), ext) == exts.end()) {
    std::string list;
    for (const auto& e : exts)
      list += (list.empty() ? "." : ", .") + e;
    return api_error(errc::unsupported_type,
                     "the file name '" + name + "' must end in one of " + list,
                     {{"field", "name"}, {"allowed", exts}});
  }
  return std::nullopt;
}

/// Content types an upload may declare (none is fine).
bool allowed_content_type(std::string_view type) {
  auto semi = type.find(';');
  auto t = lower_ascii(std::string{type.substr(0, semi)});
  while (!t.empty() && t.back() == ' ')
    t.pop_back();
  static const std::vector<std::string> ok = {"",
                                              "application/octet-stream",
                                              "application/zip",
                                              "application/x-zip-compressed",
                                              "application/x-rar-compressed",
                                              "application/vnd.rar",
                                              "application/x-binary",
                                              "text/plain"};
  return std::find(ok.begin(), ok.end(), t) != ok.end();
}

std::string upload_name(const http_request& req) {
  if (auto n = req.query_param("name")) return *n;
  return std::string{req.header("x-file-name")};
}

std::string limit_text(std::uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

/// Checks an upload's headers before its body is read; an answer when refused.
std::optional<http_response> check_upload(const state_ptr& st, const http_request& req,
                                          const std::string& name, std::uint64_t limit,
                                          const std::vector<std::string>& exts) {
  if (!st->ctx.blobs) return api_error(errc::unavailable, "this server has no blob store");
  if (auto refused = check_file_name(name, exts)) return refused;
  auto type = req.header("content-type");
  if (!allowed_content_type(type))
    return api_error(errc::unsupported_type,
                     "Content-Type " + std::string{type} +
                         " is not accepted for uploads: send application/octet-stream",
                     {{"field", "Content-Type"}});
  auto declared = req.header("content-length");
  if (!declared.empty()) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), n);
    if (ec == std::errc{} && n > limit)
      return api_error(errc::too_large,
                       "the upload of " + std::to_string(n) + " bytes exceeds the limit of " +
                           limit_text(limit) + " for " + req.method + " " + req.path,
                       {{"limit", limit}, {"size", n}});
  }
  return std::nullopt;
}

/// Streams an upload into a new blob; hands the finished file on.
class upload_sink final : public body_sink {
public:
  using done_fn = std::function<void(events::file_info, http_request&, responder)>;
  upload_sink(std::unique_ptr<storage::blob_writer> w, std::string name, std::uint64_t limit,
              done_fn done)
      : w_(std::move(w)), name_(std::move(name)), limit_(limit), done_(std::move(done)) {}
  ~upload_sink() override {
    if (w_) w_->abort(); // cut short or refused: nothing stays behind
  }

  std::optional<http_response> write(std::string_view chunk) override {
    auto r = w_->write(chunk);
    if (r) return std::nullopt;
    w_.reset();
    if (error_name(r.error()) == "too_large")
      return api_error(errc::too_large,
                       "the upload exceeds the limit of " + limit_text(limit_),
                       {{"limit", limit_}});
    return error_response(r.error(), "cannot store the upload: " + r.error().message());
  }

  void finish(http_request& req, responder respond) override {
    if (w_->size() == 0) {
      w_->abort();
      w_.reset();
      return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                    "the uploaded file is empty", {{"field", "body"}}));
    }
    auto info = w_->finish();
    w_.reset();
    if (!info)
      return respond(error_response(info.error(), "cannot store the upload: " +
                                                      info.error().message()));
    events::file_info f;
    f.name = name_;
    f.size = info.value().size;
    f.md5 = info.value().md5;
    f.sha256 = info.value().sha256;
    f.blob = info.value().id;
    done_(std::move(f), req, std::move(respond));
  }

private:
  std::unique_ptr<storage::blob_writer> w_;
  std::string name_;
  std::uint64_t limit_;
  done_fn done_;
};

/// Removes the blob unless the command that references it appended.
settled_fn drop_unless_kept(const state_ptr& st, std::string blob) {
  return [st, blob = std::move(blob)](bool kept) {
    if (!kept) (void)st->ctx.blobs->remove(blob);
  };
}

/// Starts a blob of at most `limit` bytes for an upload; nullptr after answering.
std::unique_ptr<body_sink> begin_upload(const state_ptr& st, const http_request& req,
                                        responder& respond, std::uint64_t limit,
                                        const std::vector<std::string>& exts,
                                        upload_sink::done_fn done) {
  auto name = upload_name(req);
  if (auto refused = check_upload(st, req, name, limit, exts)) {
    respond(std::move(*refused));
    return nullptr;
  }
  auto w = st->ctx.blobs->begin(limit);
  if (!w) {
    respond(error_response(w.error(), "cannot start the upload: " + w.error().message()));
    return nullptr;
  }
  return std::make_unique<upload_sink>(std::move(w).value(), std::move(name), limit,
                                       std::move(done));
}

std::optional<events::package_type> package_type_of(const http_request& req, responder& respond) {
  auto t = req.query_param("type").value_or("full");
  auto e = events::enum_from_name<events::package_type>(t);
  if (!e)
    respond(api_error(errc::malformed, "type must be full or delta, not " + t,
                      {{"field", "type"}}));
  return e;
}

void add_upload_routes(router& r, const state_ptr& st) {
  const auto op = role::operator_;
  auto& ctx = st->ctx;
  add_upload_route(
      r, st,
      {"PUT",
       "/v1/firmware/{id}/image",
       "Upload (or replace) a firmware version's full image: the body is the file",
       op,
       "",
       {"name", "reason"}},
      ctx.max_image_bytes,
      [st](http_request& req, const token_principal& who, responder respond) {
        return begin_upload(
            st, req, respond, st->ctx.max_image_bytes, image_extensions,
            [st, who](events::file_info f, http_request& req, responder respond) {
              json body{{"image", value(f)}};
              submit_json(st, req, who, {"upload_firmware_image", "firmware", true, 200},
                          std::move(body), std::move(respond), drop_unless_kept(st, f.blob),
                          {{"file", value(f)}});
            });
      });
  add_upload_route(r, st,
                   {"POST",
                    "/v1/packages/upload",
                    "Create a package from an uploaded file (full up to the image limit, "
                    "delta up to the delta limit)",
                    op,
                    "",
                    {"name", "package", "firmware", "type", "initial_version", "reason"}},
                   ctx.max_image_bytes,
                   [st](http_request& req, const token_principal& who, responder respond)
                       -> std::unique_ptr<body_sink> {
                     auto type = package_type_of(req, respond);
                     if (!type) return nullptr;
                     bool delta = *type == events::package_type::delta;
                     return begin_upload(
                         st, req, respond,
                         delta ? st->ctx.max_delta_bytes : st->ctx.max_image_bytes,
                         delta ? delta_extensions : image_extensions,
                         [st, who, type](events::file_info f, http_request& req,
                                         responder respond) {
                           json body{{"package", q(req, "package")},
                                     {"firmware", q(req, "firmware")},
                                     {"type", value(*type)},
                                     {"initial_version", q(req, "initial_version")},
                                     {"origin", "uploaded"},
                                     {"file", value(f)}};
                           submit_json(st, req, who, {"create_package", "package", false, 201},
                                       std::move(body), std::move(respond),
                                       drop_unless_kept(st, f.blob), {{"file", value(f)}});
                         });
                   });
  add_upload_route(
      r, st,
      {"PUT",
       "/v1/packages/{id}/file",
       "Re-upload a package's file (the package's type sets the limit)",
       op,
       "",
       {"name", "reason"}},
      ctx.max_image_bytes,
      [st](http_request& req, const token_principal& who, responder respond) {
        return begin_upload(
            st, req, respond, st->ctx.max_image_bytes, image_extensions,
            [st, who](events::file_info f, http_request& req, responder respond) {
              auto id = req.param("id");
              auto request = std::make_shared<http_request>(req);
              st->ctx.runtime->query(
                  "package-" + id, [st, who, f, request, respond = std::move(respond)](
                                       result<actors::aggregate_state> s) mutable {
                    const auto* p = s ? std::get_if<domain::package_state>(&s.value()) : nullptr;
                    if (p && live(*p) && p->type == events::package_type::delta &&
                        f.size > st->ctx.max_delta_bytes) {
                      (void)st->ctx.blobs->remove(f.blob);
                      return respond(api_error(
                          errc::too_large,
                          "package " + p->id + " is a delta: its file may be at most " +
                              limit_text(st->ctx.max_delta_bytes),
                          {{"limit", st->ctx.max_delta_bytes}, {"size", f.size}}));
                    }
                    json body{{"origin", "uploaded"}, {"file", value(f)}};
                    submit_json(st, *request, who, {"replace_package_file", "package", true, 200},
                                std::move(body), std::move(respond), drop_unless_kept(st, f.blob),
                                {{"file", value(f)}});
                  });
            });
      });
}

// ---- online deltas ----------------------------------------------------------

result<std::string> read_blob(storage::blob_store& blobs, const events::file_info& f) {
  std::string out;
  out.reserve(f.size);
  while (out.size() < f.size) {
    auto chunk = blobs.read(f.blob, out.size(), 1 << 20);
    if (!chunk) return chunk.error();
    if (chunk.value().empty()) break;
    out += chunk.value();
  }
  if (out.size() != f.size) return make_error_code(errc::internal);
  return out;
}

/// Diffs the two images on the worker, stores the delta, creates the package.
void generate_delta(const state_ptr& st, std::shared_ptr<http_request> req, token_principal who,
                    json body, domain::firmware_state from, domain::firmware_state to,
                    responder respond) {
  st->diffs.post([st, req, who, body = std::move(body), from = std::move(from),
                  to = std::move(to), respond = std::move(respond)]() mutable {
    auto fail = [&](const std::error_code& ec, std::string what) {
      respond(error_response(ec, std::move(what)));
    };
    auto old_image = read_blob(*st->ctx.blobs, *from.image);
    if (!old_image) return fail(old_image.error(), "cannot read the image of firmware " + from.id);
    auto new_image = read_blob(*st->ctx.blobs, *to.image);
    if (!new_image) return fail(new_image.error(), "cannot read the image of firmware " + to.id);
    auto d = delta::make_delta(delta::as_bytes(old_image.value()),
                               delta::as_bytes(new_image.value()));
    if (!d) return fail(d.error(), "cannot diff the two images: " + d.error().message());
    // The delta must give back exactly the target image.
    auto check = delta::apply_delta(delta::as_bytes(old_image.value()), delta::as_bytes(d.value()));
    if (!check || check.value() != new_image.value())
      return fail(make_error_code(errc::internal), "the generated delta does not apply");
    auto full = delta::compressed_full_size(delta::as_bytes(new_image.value()));
    auto verdict = delta::worthwhile(d.value().size(), full ? full.value() : 0);
    auto w = st->ctx.blobs->begin(0);
    if (!w) return fail(w.error(), "cannot store the delta");
    if (auto r = w.value()->write(d.value()); !r) return fail(r.error(), "cannot store the delta");
    auto info = w.value()->finish();
    if (!info) return fail(info.error(), "cannot store the delta");
    events::file_info f;
    f.name = from.version + "-to-" + to.version + ".bin"; // versions are [A-Za-z0-9_.-]
    f.size = info.value().size;
    f.md5 = info.value().md5;
    f.sha256 = info.value().sha256;
    f.blob = info.value().id;
    body["type"] = "delta";
    body["origin"] = "generated";
    body["initial_version"] = from.version;
    body["firmware"] = to.id;
    body["file"] = value(f);
    json report{{"old_size", old_image.value().size()},
                {"new_size", new_image.value().size()},
                {"delta_size", f.size},
                {"compressed_full_size", full ? full.value() : 0},
                {"ratio", verdict.ratio},
                {"worthwhile", verdict.worthwhile},
                {"message", verdict.message}};
    submit_json(st, *req, who, {"create_package", "package", false, 201}, std::move(body),
                std::move(respond), drop_unless_kept(st, f.blob),
                {{"file", value(f)}, {"delta", report}});
  });
}

/// POST /v1/packages with origin "generated": resolve both firmware versions
/// (target "firmware", initial "from" = a firmware id, else "initial_version"
/// of the same vendor and model), check both images, then diff.
void create_generated_package(const state_ptr& st, http_request& req, const token_principal& who,
                              json body, responder respond) {
  if (!st->ctx.blobs) return respond(api_error(errc::unavailable, "this server has no blob store"));
  if (body.contains("file"))
    return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                  "a generated package takes no file", {{"field", "file"}}));
  if (auto t = body.find("type"); t != body.end() && *t != "delta")
    return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                  "a generated package is a delta", {{"field", "type"}}));
  std::string from_id;
  if (auto f = body.find("from"); f != body.end()) {
    if (!f->is_string())
      return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                    "from must be a firmware id", {{"field", "from"}}));
    from_id = f->get<std::string>();
    body.erase(f);
  }
  auto to_id = body.value("firmware", json("")).is_string()
                   ? body.value("firmware", std::string{})
                   : std::string{};
  if (to_id.empty())
    return respond(error_response(domain::make_error_code(domain::errc::invalid_argument),
                                  "firmware (the target version's id) is required",
                                  {{"field", "firmware"}}));
  auto initial = body.value("initial_version", json("")).is_string()
                     ? body.value("initial_version", std::string{})
                     : std::string{};
  auto request = std::make_shared<http_request>(req);
  auto missing_image = [](const domain::firmware_state& f) {
    return error_response(domain::make_error_code(domain::errc::image_missing),
                          "firmware " + f.id + " (" + f.version +
                              ") has no full image: upload it first with PUT /v1/firmware/" +
                              f.id + "/image",
                          {{"firmware", f.id}});
  };
  st->ctx.runtime->query(
      "firmware-" + to_id, [st, request, who, body = std::move(body), from_id, to_id, initial,
                            missing_image, respond = std::move(respond)](
                               result<actors::aggregate_state> r) mutable {
        const auto* to = r ? std::get_if<domain::firmware_state>(&r.value()) : nullptr;
        if (!to || !live(*to))
          return respond(api_error(errc::not_found, "no firmware " + to_id,
                                   {{"kind", "firmware"}, {"id", to_id}}));
        if (!to->image) return respond(missing_image(*to));
        auto from = from_id;
        if (from.empty()) {
          if (initial.empty())
            return respond(error_response(
                domain::make_error_code(domain::errc::invalid_argument),
                "name the initial version: from (a firmware id) or initial_version",
                {{"field", "initial_version"}}));
          projections::queries qs{*st->ctx.views};
          projections::page_request p;
          p.limit = 1000;
          auto rows = qs.firmware({to->vendor, to->model, initial}, p);
          if (rows)
            for (const auto& row : rows.value().items)
              if (row.version == initial && !row.deleted) from = row.firmware;
          if (from.empty())
            return respond(error_response(
                domain::make_error_code(domain::errc::initial_version_missing),
                "initial version " + initial + " is not a firmware version of " + to->vendor +
                    " " + to->model,
                {{"field", "initial_version"}}));
        }
        auto target = *to;
        st->ctx.runtime->query(
            "firmware-" + from, [st, request, who, body = std::move(body), target, from,
                                 missing_image, respond = std::move(respond)](
                                    result<actors::aggregate_state> r) mutable {
              const auto* old = r ? std::get_if<domain::firmware_state>(&r.value()) : nullptr;
              if (!old || !live(*old))
                return respond(error_response(
                    domain::make_error_code(domain::errc::initial_version_missing),
                    "no firmware " + from + " to diff from", {{"field", "from"}}));
              if (old->vendor != target.vendor || old->model != target.model)
                return respond(error_response(
                    domain::make_error_code(domain::errc::invalid_argument),
                    "firmware " + from + " is " + old->vendor + " " + old->model + ", not " +
                        target.vendor + " " + target.model,
                    {{"field", "from"}}));
              if (!old->image) return respond(missing_image(*old));
              generate_delta(st, request, who, std::move(body), *old, target,
                             std::move(respond));
            });
      });
}

// ---- searches over the fleet view --------------------------------------------

/// Rows scanned at most by a fleet search (device search, "add all matching").
constexpr std::size_t fleet_scan_limit = 1'000'000;

/// Every device of the fleet view `keep` accepts (a scan, page by page).
result<std::vector<projections::fleet_row>>
scan_fleet(storage::kv_store& views, const projections::fleet_filter& f,
           const std::function<bool(const projections::fleet_row&)>& keep) {
  projections::queries qs{views};
  projections::page_request p;
  p.limit = 1000;
  std::vector<projections::fleet_row> out;
  std::size_t scanned = 0;
  for (;;) {
    auto page = qs.fleet(f, p);
    if (!page) return page.error();
    for (auto& row : page.value().items)
      if (keep(row)) out.push_back(std::move(row));
    scanned += page.value().items.size();
    if (page.value().next.empty() || scanned >= fleet_scan_limit) return out;
    p.cursor = page.value().next;
  }
}

/// A MAC in any accepted spelling, canonical; nullopt when it is not one.
std::optional<std::string> mac_of(std::string_view v) {
  return domain::normalize_mac(v);
}

/// The device filter of "add all matching" and of the device search.
struct device_match {
  std::optional<std::string> imei;
  std::optional<std::string> mac; ///< canonical
  std::optional<std::string> fota_version;
  std::optional<std::string> sota_version;
  std::optional<std::string> province;
  std::optional<std::string> city;
  std::string name_prefix;
  bool operator()(const projections::fleet_row& r) const {
    if (imei && r.imei != *imei) return false;
    if (mac && r.mac != *mac) return false;
    if (fota_version && r.fota_version != *fota_version) return false;
    if (sota_version && r.sota_version != *sota_version) return false;
    if (province && r.region.province != *province) return false;
    if (city && r.region.city != *city) return false;
    if (!name_prefix.empty() && r.name.rfind(name_prefix, 0) != 0) return false;
    return true;
  }
};

/// The fleet filter and device match of a JSON object (the "add all
/// matching" body); an answer when a field is bad.
std::optional<http_response> match_of_json(const json& j, projections::fleet_filter& f,
                                           device_match& m) {
  auto bad = [](const std::string& field, const std::string& why) {
    return error_response(domain::make_error_code(domain::errc::invalid_argument),
                          field + " " + why, {{"field", field}});
  };
  static const std::vector<std::string> known = {"product",      "online", "imei",
                                                 "mac",          "fota_version",
                                                 "sota_version", "province", "city",
                                                 "name_prefix"};
  for (auto& [k, v] : j.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end())
      return bad(k, "is not a filter field (product, online, imei, mac, fota_version, "
                    "sota_version, province, city, name_prefix)");
    if (k == "online") {
      if (!v.is_boolean() && !v.is_null()) return bad(k, "must be true, false or null");
      if (v.is_boolean()) f.online = v.get<bool>();
      continue;
    }
    if (!v.is_string()) return bad(k, "must be a string");
    auto s = v.get<std::string>();
    if (k == "product") f.product = s;
    else if (k == "imei") m.imei = s;
    else if (k == "mac") {
      m.mac = mac_of(s);
      if (!m.mac) return bad(k, "is not a MAC address");
    } else if (k == "fota_version") m.fota_version = s;
    else if (k == "sota_version") m.sota_version = s;
    else if (k == "province") m.province = s;
    else if (k == "city") m.city = s;
    else if (k == "name_prefix") m.name_prefix = s;
  }
  return std::nullopt;
}

std::string csv_field(std::string_view v) {
  bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos;
  // A leading = + - @ would be a formula in a spreadsheet: prefix a quote.
  bool formula = !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@');
  if (!quote && !formula) return std::string{v};
  std::string out = "\"";
  if (formula) out += '\'';
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void add_more_routes(router& r, const state_ptr& st) {
  const auto op = role::operator_;
  const auto viewer = role::viewer;
  auto command = [&](std::string method, std::string pattern, std::string summary,
                     command_spec spec) {
    add_route(r, st, {method, pattern, summary, op, std::string{spec.name}, {}},
              [st, spec](http_request& req, const token_principal& who, responder respond) {
                run_command(st, req, who, spec, std::move(respond));
              });
  };
  command("PUT", "/v1/products/{id}", "Edit a product (every field)",
          {"edit_product", "product", true, 200});
  command("PUT", "/v1/devices/{id}", "Edit a device's name, IMEI, MAC and region",
          {"edit_device", "device", true, 200});

  add_route(r, st,
            {"GET",
             "/v1/devices/search",
             "Devices by IMEI or MAC (and the other match fields), every match",
             viewer,
             "",
             {"imei", "mac", "product", "fota_version", "sota_version", "name_prefix"}},
            [st](http_request& req, const token_principal&, responder respond) {
              json filter = json::object();
              for (auto& [k, v] : req.query)
                filter[k] = v;
              projections::fleet_filter f;
              device_match m;
              if (auto bad = match_of_json(filter, f, m)) return respond(std::move(*bad));
              if (filter.empty())
                return respond(api_error(errc::malformed,
                                         "name at least one of imei, mac, product, "
                                         "fota_version, sota_version, name_prefix",
                                         {{"field", "imei"}}));
              auto rows = scan_fleet(*st->ctx.views, f, m);
              if (!rows) return respond(error_response(rows.error(), "cannot read the fleet"));
              json items = json::array();
              for (const auto& x : rows.value())
                items.push_back(value(x));
              respond(http_response::json(200, json{{"items", items}, {"next", ""}}.dump()));
            });

  add_route(r, st,
            {"POST",
             "/v1/groups/{id}/members/matching",
             "Add every device that matches a filter to a group",
             op,
             "",
             {}},
            [st](http_request& req, const token_principal& who, responder respond) {
              auto body = body_object(req, respond);
              if (!body) return;
              json filter = body->value("filter", json::object());
              if (!filter.is_object())
                return respond(error_response(
                    domain::make_error_code(domain::errc::invalid_argument),
                    "filter must be an object", {{"field", "filter"}}));
              projections::fleet_filter f;
              device_match m;
              if (auto bad = match_of_json(filter, f, m)) return respond(std::move(*bad));
              auto rows = scan_fleet(*st->ctx.views, f, m);
              if (!rows) return respond(error_response(rows.error(), "cannot read the fleet"));
              if (rows.value().empty())
                return respond(api_error(errc::not_found, "no device matches the filter",
                                         {{"filter", filter}}));
              json devices = json::array();
              for (const auto& x : rows.value())
                devices.push_back(x.device);
              json cmd{{"devices", devices}};
              if (body->contains("reason")) cmd["reason"] = (*body)["reason"];
              submit_json(st, req, who, {"add_group_devices", "group", true, 200},
                          std::move(cmd), std::move(respond), {},
                          {{"matched", rows.value().size()}});
            });

  // Verification (Gizwits).
  add_route(r, st,
            {"POST",
             "/v1/firmware/{id}/verification",
             "Push the firmware to a test device (by id or MAC) for verification",
             op,
             "start_firmware_verification",
             {}},
            [st](http_request& req, const token_principal& who, responder respond) {
              auto body = body_object(req, respond);
              if (!body) return;
              auto d = body->find("device");
              if (d != body->end() && d->is_string()) {
                auto s = d->get<std::string>();
                if (auto mac = mac_of(s); mac && s.find_first_of(":-") != std::string::npos) {
                  device_match m;
                  m.mac = *mac;
                  auto rows = scan_fleet(*st->ctx.views, {}, m);
                  if (!rows)
                    return respond(error_response(rows.error(), "cannot read the fleet"));
                  if (rows.value().empty())
                    return respond(api_error(errc::not_found, "no device has MAC " + s,
                                             {{"field", "device"}}));
                  *d = rows.value().front().device;
                }
              }
              submit_json(st, req, who, {"start_firmware_verification", "firmware", true, 200},
                          std::move(*body), std::move(respond));
            });
  command("POST", "/v1/firmware/{id}/verification/confirm",
          "Confirm a passed verification (the firmware becomes verified)",
          {"confirm_firmware_verification", "firmware", true, 200});

  // CSV export of a task's device status.
  add_route(
      r, st,
      {"GET",
       "/v1/tasks/{id}/devices.csv",
       "Device status of a task as CSV (every row of the filter)",
       viewer,
       "",
       {"phase", "search"},
       false,
       "text/csv"},
      [st](http_request& req, const token_principal&, responder respond) {
        projections::device_status_filter f;
        f.search = q(req, "search");
        if (auto ph = req.query_param("phase"); ph && !ph->empty()) {
          auto e = events::enum_from_name<events::execution_phase>(*ph);
          if (!e)
            return respond(api_error(errc::malformed, "unknown phase " + *ph, {{"field", "phase"}}));
          f.phase = *e;
        }
        const auto& id = req.param("id");
        projections::queries qs{*st->ctx.views};
        auto progress = qs.progress(id);
        if (!progress) return respond(error_response(progress.error(), "cannot read views"));
        if (!progress.value())
          return respond(
              api_error(errc::not_found, "no task " + id, {{"kind", "task"}, {"id", id}}));
        std::string csv = "device,name,mac,imei,online,phase,attempt,percent,failure,note,version\r\n";
        projections::page_request p;
        p.limit = 1000;
        for (;;) {
          auto page = qs.device_status(id, f, p);
          if (!page)
            return respond(error_response(page.error(), projections::error_detail()));
          for (const auto& x : page.value().items) {
            const auto& e = x.execution;
            std::string failure = e.failure ? value(*e.failure).get<std::string>() : "";
            csv += csv_field(e.device) + ',' + csv_field(x.device.name) + ',' +
                   csv_field(x.device.mac) + ',' + csv_field(x.device.imei) + ',' +
                   (x.device.online ? "true" : "false") + ',' +
                   value(e.phase).get<std::string>() + ',' + std::to_string(e.attempt) + ',' +
                   std::to_string(e.percent) + ',' + csv_field(failure) + ',' +
                   csv_field(e.note) + ',' + csv_field(e.version) + "\r\n";
          }
          if (page.value().next.empty()) break;
          p.cursor = page.value().next;
        }
        auto res = http_response::text(200, std::move(csv), "text/csv; charset=utf-8");
        res.header("content-disposition", "attachment; filename=\"task-devices.csv\"");
        respond(std::move(res));
      });

  // Audit timelines and replay as of.
  add_route(r, st,
            {"GET",
             "/v1/audit",
             "The audit trail of a stream or of a correlation id (who, when, why, what)",
             viewer,
             "",
             {"stream", "correlation", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              if (!st->ctx.log)
                return respond(api_error(errc::unavailable, "this server has no event log"));
              auto p = page_of(req, respond);
              if (!p) return;
              auto stream = q(req, "stream");
              auto corr = q(req, "correlation");
              if (stream.empty() == corr.empty())
                return respond(api_error(errc::malformed,
                                         "name exactly one of stream or correlation",
                                         {{"field", "stream"}}));
              projections::queries qs{*st->ctx.views};
              auto page = stream.empty() ? qs.audit_correlation(*st->ctx.log, corr, *p)
                                         : projections::queries::audit_stream(*st->ctx.log,
                                                                              stream, *p);
              if (!page)
                return respond(error_response(page.error(), page.error().message(),
                                              {{"stream", stream}, {"correlation", corr}}));
              json items = json::array();
              for (const auto& e : page.value().items) {
                auto j = projections::to_json(e);
                if (j) items.push_back(std::move(j).value());
              }
              respond(http_response::json(
                  200, json{{"items", items}, {"next", page.value().next}}.dump()));
            });
  add_route(r, st,
            {"GET",
             "/v1/replay",
             "An aggregate's state and timeline now, or as of a log position or time",
             viewer,
             "",
             {"stream", "position", "time"}},
            [st](http_request& req, const token_principal&, responder respond) {
              if (!st->ctx.log)
                return respond(api_error(errc::unavailable, "this server has no event log"));
              auto stream = q(req, "stream");
              if (stream.empty())
                return respond(api_error(errc::malformed, "stream is required (e.g. task-T1)",
                                         {{"field", "stream"}}));
              projections::replay_limit lim;
              if (auto pos = req.query_param("position")) {
                std::uint64_t n = 0;
                auto [ptr, ec] = std::from_chars(pos->data(), pos->data() + pos->size(), n);
                if (ec != std::errc{} || ptr != pos->data() + pos->size())
                  return respond(api_error(errc::malformed, "position must be a log position",
                                           {{"field", "position"}}));
                lim.position = log_position{n};
              }
              if (auto t = req.query_param("time")) {
                auto ts = base::parse_rfc3339(*t);
                if (!ts)
                  return respond(api_error(errc::malformed,
                                           "time must be RFC 3339, e.g. 2026-01-01T00:00:00Z",
                                           {{"field", "time"}}));
                lim.time = ts.value();
              }
              json timeline = json::array();
              auto r = projections::replay_stream(
                  *st->ctx.log, stream, lim, [&](const events::envelope& e) {
                    if (auto j = projections::to_json(e)) timeline.push_back(std::move(j).value());
                  });
              if (!r) {
                if (r.error() == domain::errc::invalid_argument ||
                    r.error() == base::errc::invalid_argument)
                  return respond(api_error(errc::not_found,
                                           "no events in stream " + stream + " (or not a known "
                                           "aggregate's stream)",
                                           {{"stream", stream}}));
                return respond(error_response(r.error(), r.error().message()));
              }
              const auto& x = r.value();
              json j{{"stream", x.stream},
                     {"aggregate", x.aggregate},
                     {"version", x.version.value()},
                     {"position", x.position.value()},
                     {"time", base::format_rfc3339(x.time)},
                     {"state", x.state},
                     {"timeline", timeline}};
              respond(http_response::json(200, j.dump()));
            });
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
  add_route(r, st,
            {"POST", "/v1/packages",
             "Create a package: file as file info, or origin \"generated\" to diff the "
             "initial version's image (from or initial_version) to the target's online",
             op, "create_package", {}},
            [st](http_request& req, const token_principal& who, responder respond) {
              auto body = body_object(req, respond);
              if (!body) return;
              if (body->value("origin", json("")) == "generated")
                return create_generated_package(st, req, who, std::move(*body),
                                                std::move(respond));
              submit_json(st, req, who, {"create_package", "package", false, 201},
                          std::move(*body), std::move(respond));
            });
  add_route(r, st,
            {"GET",
             "/v1/packages",
             "Packages (full and delta), all or those of one firmware version",
             viewer,
             "",
             {"firmware", "cursor", "limit"}},
            [st](http_request& req, const token_principal&, responder respond) {
              auto p = page_of(req, respond);
              if (!p) return;
              projections::queries qs{*st->ctx.views};
              answer_page(qs.packages(q(req, "firmware"), *p), respond,
                          [](const auto& x) { return value(x); });
            });
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
  add_upload_routes(r, st);
  add_more_routes(r, st);
  add_task_routes(r, st);
  add_service_routes(r, st);
  st->openapi = render_openapi(st->docs);
}

} // namespace otaledger::api
