#include "channel/ddi.hpp"

#include "channel/http_routes.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>

namespace otaledger::channel {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using phase = events::execution_phase;

constexpr std::size_t max_reason_bytes = 512;
constexpr std::size_t max_attributes = 100;
constexpr std::size_t max_attribute_key = 128;
constexpr std::size_t max_attribute_value = 512;

struct ddi_state {
  device_service& svc;
  actors::runtime& rt;
  storage::kv_store& kv;
  ddi_options opts;
};
using state_ptr = std::shared_ptr<ddi_state>;

// ---- answers ----------------------------------------------------------------

api::http_response error_response(const problem& p) {
  ojson j{{"errorCode", fmt::format("otaledger.{}", p.code_name())}, {"message", p.message}};
  auto r = api::http_response::json(p.http_status(), j.dump());
  if (p.http_status() == 401)
    r.header("www-authenticate", "TargetToken realm=\"otaledger-ddi\", GatewayToken");
  return r;
}

api::http_response error_response(errc e, std::string message) {
  return error_response(make_problem(e, std::move(message)));
}

/// hawkBit answers feedback and configData with an empty 200; SWUpdate parses
/// the answer to its configData PUT as JSON, and its parse loop does not end on
/// an empty body (corelib/channel_curl.c, 2022.12), so "{}" it is.
api::http_response empty_ok() {
  return api::http_response::json(200, "{}");
}

std::string truncate_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  s.resize(n);
  return s;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

/// The artifact's SHA-1 (hawkBit clients require hashes.sha1): from the cache,
/// else computed by reading the blob once.
result<std::string> artifact_sha1(ddi_state& st, const std::string& blob) {
  OTA_TRY(cached, st.kv.get(ddi_sha1_space, blob));
  if (cached) return std::move(*cached);
  auto* blobs = st.svc.blobs();
  if (!blobs) return make_error_code(errc::unavailable);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr);
  std::uint64_t offset = 0;
  for (;;) {
    OTA_TRY(chunk, blobs->read(blob, offset, 1 << 20));
    if (chunk.empty()) break;
    EVP_DigestUpdate(ctx.get(), chunk.data(), chunk.size());
    offset += chunk.size();
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md.data(), &n);
  auto h = hex(md.data(), n);
  storage::write_batch b;
  b.put(ddi_sha1_space, blob, h);
  OTA_TRYV(st.kv.write(b, storage::write_mode::sync));
  return h;
}

/// Whether the blob is an SWUpdate image: a cpio archive (newc or crc
/// header, "07070") whose first entry is sw-description.
bool is_swu(ddi_state& st, const std::string& blob) {
  auto* blobs = st.svc.blobs();
  if (!blobs) return false;
  auto head = blobs->read(blob, 0, 128);
  if (!head) return false;
  const auto& h = head.value();
  constexpr std::string_view entry = "sw-description";
  return h.size() >= 110 + entry.size() && h.compare(0, 5, "07070") == 0 &&
         h.compare(110, entry.size(), entry) == 0;
}

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string base_of(const ddi_state& st, const api::http_request& req) {
  if (!st.opts.base_url.empty()) return st.opts.base_url;
  auto host = req.header("host");
  return fmt::format("http://{}", host.empty() ? std::string_view{"127.0.0.1"} : host);
}

std::string controller_url(const ddi_state& st, const api::http_request& req) {
  return fmt::format("{}/{}/controller/v1/{}", base_of(st, req), url_encode(req.param("tenant")),
                     url_encode(req.param("id")));
}

// ---- authentication ---------------------------------------------------------

void log_refusal(const api::http_request& req, const problem& p) {
  std::cerr << fmt::format("otaledger: ddi: refused {} {} from {}: {}\n", req.method, req.path,
                           req.remote, p.message);
}

/// Authenticates the request for the path's controller (TargetToken: the
/// device's secret; GatewayToken: the tenant product's secret) and checks the
/// device belongs to the tenant; then calls `next` with the device's state.
void with_device(const state_ptr& st, api::http_request& req, api::responder res,
                 std::function<void(domain::device_state, api::responder)> next) {
  const auto& tenant = req.param("tenant");
  const auto& device = req.param("id");
  auto auth = std::string{req.header("authorization")};
  auto token_of = [&](std::string_view scheme) -> std::optional<std::string> {
    if (auth.size() <= scheme.size() + 1 || auth.compare(0, scheme.size(), scheme) != 0 ||
        auth[scheme.size()] != ' ')
      return std::nullopt;
    auto t = auth.substr(scheme.size() + 1);
    while (!t.empty() && t.front() == ' ')
      t.erase(t.begin());
    while (!t.empty() && t.back() == ' ')
      t.pop_back();
    return t;
  };
  auto refuse = [req, res](problem p) {
    log_refusal(req, p);
    res(error_response(p));
  };
  auto check_device = [st, tenant, device, res, next = std::move(next)]() mutable {
    st->rt.query("device-" + device, [st, tenant, device, res, next = std::move(next)](
                                         result<actors::aggregate_state> s) mutable {
      if (!s) return res(error_response(errc::unavailable, "device state unavailable"));
      auto* d = std::get_if<domain::device_state>(&s.value());
      if (!d || !d->registered || d->product != tenant)
        return res(error_response(errc::not_found,
                                  fmt::format("no controller {} in tenant {}", device, tenant)));
      if (d->online) return next(*d, std::move(res));
      // A hawkBit client that talks to the server is online (DDI has no
      // online report): say so, so that deferred work reaches it.
      auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      device_report rep{fmt::format("ddi-online-{}", now),
                        std::nullopt,
                        std::nullopt,
                        true,
                        std::nullopt,
                        std::nullopt};
      st->svc.handle(device, std::move(rep), "hawkBit client polled: online",
                     [d = *d, res, next = std::move(next)](reply r) mutable {
                       if (!r.ok()) return res(error_response(*r.error));
                       d.online = true;
                       next(std::move(d), std::move(res));
                     });
    });
  };
  if (auto t = token_of("TargetToken")) {
    auto a = st->svc.authenticate(device, *t);
    if (!a) return refuse(a.error());
    return check_device();
  }
  if (auto t = token_of("GatewayToken")) {
    auto presented = sha256_hex(*t);
    st->rt.query("product-" + tenant, [presented, tenant, refuse, res,
                                       check_device = std::move(check_device)](
                                          result<actors::aggregate_state> s) mutable {
      if (!s) return res(error_response(errc::unavailable, "catalog unavailable"));
      auto* p = std::get_if<domain::product_state>(&s.value());
      if (!p || !p->exists || p->secret_hash.empty() || p->secret_hash != presented)
        return refuse(make_problem(errc::unauthorized,
                                   fmt::format("wrong gateway token for tenant {}", tenant)));
      check_device();
    });
    return;
  }
  refuse(make_problem(errc::unauthorized,
                      auth.empty()
                          ? "an Authorization header (TargetToken or GatewayToken) is "
                            "required (docs/device-protocol.md, hawkBit DDI)"
                          : "the Authorization scheme must be TargetToken or GatewayToken"));
}

// ---- executions and actions -------------------------------------------------

int rank(phase p) {
  switch (p) {
  case phase::notified:
    return 0;
  case phase::downloading:
    return 1;
  case phase::downloaded:
    return 2;
  case phase::installing:
    return 3;
  default:
    return -1;
  }
}

bool is_over(phase p) {
  return p == phase::succeeded || p == phase::failed || p == phase::canceled;
}

std::int64_t action_of(const domain::execution_state& x) {
  return ddi_action_id(x.task, x.attempt);
}

/// The execution a path's action id names (the latest attempt first), or null.
const domain::execution_state* find_action(const domain::device_state& d, std::string_view action) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(action.data(), action.data() + action.size(), n);
  if (ec != std::errc{} || p != action.data() + action.size()) return nullptr;
  for (auto it = d.executions.rbegin(); it != d.executions.rend(); ++it)
    if (action_of(*it) == n) return &*it;
  return nullptr;
}

/// The package (or verification firmware image) of an execution.
struct artifact {
  std::string package;
  std::string version;
  events::firmware_kind kind = events::firmware_kind::fota;
  events::file_info file;
};

void resolve_artifact(actors::runtime& rt, const events::execution_terms& terms,
                      std::function<void(checked<artifact>)> done) {
  auto missing = [](std::string what) {
    return boost::outcome_v2::failure(make_problem(errc::not_found, std::move(what)));
  };
  if (terms.verification) {
    rt.query("firmware-" + terms.package, [terms, missing, done = std::move(done)](auto s) {
      if (!s) return done(make_problem(errc::unavailable, "firmware unavailable"));
      auto* f = std::get_if<domain::firmware_state>(&s.value());
      if (!f || !f->exists || f->deleted || !f->image)
        return done(missing(fmt::format("firmware {} has no image", terms.package)));
      done(artifact{f->id, f->version, f->kind, *f->image});
    });
    return;
  }
  rt.query("package-" + terms.package, [terms, missing, done = std::move(done)](auto s) {
    if (!s) return done(make_problem(errc::unavailable, "package unavailable"));
    auto* p = std::get_if<domain::package_state>(&s.value());
    if (!p || !p->exists || p->deleted)
      return done(missing(fmt::format("package {} does not exist", terms.package)));
    done(artifact{p->id, p->target_version, p->kind, p->file});
  });
}

/// Whether the task's push period and daily window (UTC) allow work now;
/// nullopt when the task has neither.
std::optional<bool> in_window(const events::task_settings& s) {
  if (!s.window && !s.push_from && !s.push_until) return std::nullopt;
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  if (s.push_from && micros < s.push_from->micros) return false;
  if (s.push_until && micros >= s.push_until->micros) return false;
  if (s.window) {
    auto t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto h = static_cast<std::uint32_t>(tm.tm_hour);
    auto a = s.window->start_hour, b = s.window->end_hour;
    bool inside = a < b ? (h >= a && h < b) : (h >= a || h < b);
    if (!inside) return false;
  }
  return true;
}

/// The artifact's file name for hawkBit clients: the package's file name, but
/// ending in ".swu" when the file is an SWUpdate image (SWUpdate installs only
/// artifacts so named, and the catalog keeps full images as .bin/.hex/.zip/.rar).
std::string artifact_name(ddi_state& st, const artifact& a) {
  std::string name = a.file.name.empty() ? a.package : a.file.name;
  if (name.ends_with(".swu") || !is_swu(st, a.file.blob)) return name;
  auto dot = name.rfind('.');
  return (dot == std::string::npos ? name : name.substr(0, dot)) + ".swu";
}

// ---- controller base resource -------------------------------------------------

void on_base(const state_ptr& st, api::http_request& req, api::responder res) {
  auto url = controller_url(*st, req);
  with_device(st, req, std::move(res), [st, url](domain::device_state d, api::responder res) {
    ojson j;
    j["config"]["polling"]["sleep"] = ddi_sleep(st->opts.poll_seconds);
    ojson links = ojson::object();
    if (auto* x = running_execution(d)) {
      auto id = action_of(*x);
      if (kind_of(*x) == instruction_kind::cancel)
        links["cancelAction"]["href"] = fmt::format("{}/cancelAction/{}", url, id);
      else
        links["deploymentBase"]["href"] = fmt::format("{}/deploymentBase/{}", url, id);
    }
    auto attrs = st->kv.get(ddi_attributes_space, d.id);
    if (!attrs) return res(error_response(errc::unavailable, "attributes unavailable"));
    if (!attrs.value()) links["configData"]["href"] = url + "/configData";
    if (!links.empty()) j["_links"] = std::move(links);
    res(api::http_response::json(200, j.dump()));
  });
}

// ---- deploymentBase -----------------------------------------------------------

void on_deployment(const state_ptr& st, api::http_request& req, api::responder res) {
  auto url = controller_url(*st, req);
  auto action = req.param("action");
  with_device(
      st, req, std::move(res), [st, url, action](domain::device_state d, api::responder res) {
        const auto* x = find_action(d, action);
        if (!x || rank(x->phase) < 0)
          return res(error_response(
              errc::not_found, fmt::format("device {} has no running action {}", d.id, action)));
        auto x_copy = *x;
        resolve_artifact(
            st->rt, x->terms,
            [st, url, action, x = std::move(x_copy), res](checked<artifact> a) mutable {
              if (!a) return res(error_response(a.error()));
              auto sha1 = artifact_sha1(*st, a.value().file.blob);
              if (!sha1)
                return res(error_response(
                    make_problem(errc::unavailable,
                                 "the package's file is unreadable: " + sha1.error().message())));
              st->rt.query("task-" + x.task, [st, url, action, x, a = std::move(a).value(),
                                              sha1 = std::move(sha1).value(),
                                              res](result<actors::aggregate_state> s) {
                std::optional<bool> window;
                if (s)
                  if (auto* t = std::get_if<domain::task_state>(&s.value()); t && t->exists)
                    window = in_window(t->settings);
                bool installable = domain::install_allowed(x) && window.value_or(true);
                auto name = artifact_name(*st, a);
                auto href = fmt::format("{}/softwaremodules/{}/artifacts/{}", url,
                                        url_encode(a.package), url_encode(name));
                ojson art;
                art["filename"] = name;
                art["hashes"] = {{"sha1", sha1}, {"md5", a.file.md5}, {"sha256", a.file.sha256}};
                art["size"] = a.file.size;
                art["_links"]["download"]["href"] = href;
                art["_links"]["download-http"]["href"] = href;
                art["_links"]["md5sum"]["href"] = href + ".MD5SUM";
                art["_links"]["md5sum-http"]["href"] = href + ".MD5SUM";
                ojson chunk;
                chunk["part"] = a.kind == events::firmware_kind::sota ? "application" : "os";
                chunk["version"] = a.version;
                chunk["name"] = a.package;
                chunk["artifacts"] = ojson::array({art});
                ojson dep;
                dep["download"] = "forced";
                dep["update"] = installable ? "forced" : "skip";
                if (window) dep["maintenanceWindow"] = *window ? "available" : "unavailable";
                dep["chunks"] = ojson::array({chunk});
                ojson j;
                j["id"] = action;
                j["deployment"] = std::move(dep);
                j["actionHistory"] = {
                    {"status", events::enum_name(x.phase)},
                    {"messages", x.note.empty() ? ojson::array() : ojson::array({x.note})}};
                res(api::http_response::json(200, j.dump()));
              });
            });
      });
}

// ---- feedback -----------------------------------------------------------------

struct feedback {
  std::string execution; ///< closed, proceeding, canceled, scheduled, rejected, resumed, download,
                         ///< downloaded
  std::string finished;  ///< success, failure, none ("" when absent)
  std::optional<std::pair<std::int64_t, std::int64_t>> progress; ///< cnt, of
  std::vector<std::string> details;
};

checked<feedback> parse_feedback(std::string_view body, std::string_view action) {
  auto bad = [](std::string why) {
    return boost::outcome_v2::failure(make_problem(errc::malformed, "feedback: " + std::move(why)));
  };
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return bad("the body is not JSON");
  if (!j.is_object()) return bad("the body must be a JSON object");
  if (auto it = j.find("id"); it != j.end() && !it->is_null()) {
    std::string id = it->is_string()           ? it->get<std::string>()
                     : it->is_number_integer() ? std::to_string(it->get<std::int64_t>())
                                               : std::string{"?"};
    if (!id.empty() && id != action)
      return bad(fmt::format("id {} is not the action {} of the path", it->dump(), action));
  }
  auto st = j.find("status");
  if (st == j.end() || !st->is_object()) return bad("status (an object) is required");
  feedback f;
  auto ex = st->find("execution");
  if (ex == st->end() || !ex->is_string()) return bad("status.execution (a string) is required");
  f.execution = ex->get<std::string>();
  static constexpr std::string_view executions[] = {"closed",    "proceeding", "canceled",
                                                    "scheduled", "rejected",   "resumed",
                                                    "download",  "downloaded"};
  if (std::find(std::begin(executions), std::end(executions), f.execution) == std::end(executions))
    return bad(fmt::format("status.execution '{}' is not a hawkBit execution status",
                           truncate_utf8(f.execution, 40)));
  if (auto r = st->find("result"); r != st->end() && !r->is_null()) {
    if (!r->is_object()) return bad("status.result must be an object");
    if (auto fin = r->find("finished"); fin != r->end() && !fin->is_null()) {
      if (!fin->is_string()) return bad("status.result.finished must be a string");
      f.finished = fin->get<std::string>();
      if (f.finished != "success" && f.finished != "failure" && f.finished != "none")
        return bad(fmt::format("status.result.finished '{}' is not success, failure or none",
                               truncate_utf8(f.finished, 40)));
    }
    if (auto p = r->find("progress"); p != r->end() && !p->is_null()) {
      auto cnt = p->is_object() ? p->find("cnt") : p->end();
      auto of = p->is_object() ? p->find("of") : p->end();
      if (!p->is_object() || cnt == p->end() || of == p->end() || !cnt->is_number_integer() ||
          !of->is_number_integer() || cnt->get<std::int64_t>() < 0 || of->get<std::int64_t>() < 0)
        return bad("status.result.progress must be {\"cnt\": n, \"of\": m} with n, m >= 0");
      f.progress = std::pair{cnt->get<std::int64_t>(), of->get<std::int64_t>()};
    }
  }
  if (f.execution == "closed" && f.finished.empty())
    return bad("a closed feedback needs status.result.finished");
  if (auto d = st->find("details"); d != st->end() && !d->is_null()) {
    if (!d->is_array()) return bad("status.details must be an array of strings");
    for (const auto& x : *d) {
      if (!x.is_string()) return bad("status.details must be an array of strings");
      auto s = x.get<std::string>();
      while (!s.empty() && s.back() == ' ')
        s.pop_back();
      while (!s.empty() && s.front() == ' ')
        s.erase(s.begin());
      if (!s.empty()) f.details.push_back(std::move(s));
    }
  }
  return f;
}

std::string joined(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string summary(std::string_view resource, std::string_view action, const feedback& f) {
  std::string s =
      fmt::format("hawkBit {} feedback on action {}: {}", resource, action, f.execution);
  if (!f.finished.empty()) s += "/" + f.finished;
  if (f.progress) s += fmt::format(" ({} of {})", f.progress->first, f.progress->second);
  if (!f.details.empty()) s += ": " + joined(f.details, "; ");
  return truncate_utf8(std::move(s), max_reason_bytes);
}

/// What a feedback becomes: a canonical message, or nothing (an
/// acknowledgement that changes nothing: answered 200).
std::optional<device_message> translate(const domain::execution_state& x, const feedback& f,
                                        bool cancel_resource, const std::string& id) {
  if (cancel_resource) {
    // The device confirms the stop: the canonical way to end a download that
    // was canceled is to report it over (the domain then cancels without
    // installing). A device that rejects the cancel cannot keep the task.
    if ((f.execution == "closed" || f.execution == "canceled") && x.cancel_requested &&
        x.phase == phase::downloading)
      return device_progress{id, x.task, phase::downloaded, 0};
    return std::nullopt;
  }
  if (f.execution == "closed") {
    if (f.finished == "success") {
      // A client told `update: skip` acknowledges the skip with closed/success
      // (SWUpdate: "Skipped Update."): nothing was installed.
      if (!domain::install_allowed(x) && x.phase != phase::installing) return std::nullopt;
      // DDI feedback carries no version: success means the action's version runs now.
      return device_result{id, x.task, true, x.terms.target_version, events::failure_code::unknown,
                           ""};
    }
    auto text = joined(f.details, "; ");
    if (text.empty())
      text = f.finished == "none" ? "hawkBit client closed the action without a result"
                                  : "hawkBit client reported failure";
    return device_result{id,
                         x.task,
                         false,
                         "",
                         events::failure_code::install_failed,
                         truncate_utf8(std::move(text), 1024)};
  }
  if (f.execution == "canceled" || f.execution == "rejected") {
    auto text = joined(f.details, "; ");
    if (text.empty()) text = "hawkBit client " + f.execution + " the action";
    return device_result{id,
                         x.task,
                         false,
                         "",
                         events::failure_code::rejected,
                         truncate_utf8(std::move(text), 1024)};
  }
  // proceeding, scheduled, resumed, download, downloaded: progress.
  std::optional<device_progress> p;
  if (f.execution == "downloaded") {
    p = device_progress{id, x.task, phase::downloaded, 0};
  } else if (f.progress && f.progress->second > 0) {
    auto [cnt, of] = *f.progress;
    if (cnt >= of && f.execution != "download")
      p = device_progress{id, x.task, phase::installing, 0}; // every chunk is installed
    else
      p = device_progress{id, x.task, phase::downloading,
                          static_cast<std::uint32_t>(std::min<std::int64_t>(cnt, of) * 100 / of)};
  } else if (f.execution == "download" || f.execution == "proceeding") {
    // Work started without a measure: at least downloading. A log flush while
    // installing changes nothing.
    p = device_progress{id, x.task, phase::downloading, 0};
  }
  if (!p) return device_report{id, std::nullopt, std::nullopt, true, std::nullopt, std::nullopt};
  // Behind what the device already reported (a replayed or late feedback):
  // hawkBit clients treat a refused feedback as fatal, so it is accepted and
  // changes nothing, as a stale canonical progress would.
  if (rank(x.phase) >= 0) {
    bool back = rank(p->phase) < rank(x.phase) ||
                (p->phase == phase::downloading && x.phase == phase::downloading &&
                 p->percent <= x.percent);
    if (back) return std::nullopt;
  }
  return *p;
}

void on_feedback(const state_ptr& st, bool cancel_resource, api::http_request& req,
                 api::responder res) {
  auto action = req.param("action");
  auto parsed = parse_feedback(req.body, action);
  auto body = req.body;
  with_device(
      st, req, std::move(res),
      [st, action, cancel_resource, parsed = std::move(parsed),
       body = std::move(body)](domain::device_state d, api::responder res) mutable {
        std::string_view resource = cancel_resource ? "cancelAction" : "deploymentBase";
        auto answer = [st, device = d.id, res](std::string what, api::http_response r) {
          if (st->opts.on_feedback) st->opts.on_feedback(device, what, r.status);
          res(std::move(r));
        };
        if (!parsed) return answer("malformed", error_response(parsed.error()));
        const auto& f = parsed.value();
        const auto* x = find_action(d, action);
        if (!x)
          return answer(summary(resource, action, f),
                        error_response(errc::not_found,
                                       fmt::format("device {} has no action {}", d.id, action)));
        auto id = fmt::format("ddi-{}-{}", action, sha256_hex(body).substr(0, 24));
        auto why = summary(resource, action, f);
        // Feedback that changes nothing still goes into the device's audit
        // trail (execution.noted): SWUpdate's log lines often hold the real
        // cause of a later failure. The same feedback sent again has the same
        // id: a duplicate, recorded once.
        auto note = [st, device = d.id, task = x->task, id, why, answer] {
          st->svc.handle(device, device_note{id, task, why},
                         "hawkBit feedback that changes nothing", [answer, why](reply r) {
                           answer(why, r.ok() ? empty_ok() : error_response(*r.error));
                         });
        };
        if (is_over(x->phase) && !cancel_resource) {
          // The result the action already has, said again (a client that retries
          // a feedback it got no answer to): idempotent. Another result: 410.
          bool failed_as = x->phase == phase::failed;
          bool same = (f.execution == "closed" && f.finished == "success" &&
                       x->phase == phase::succeeded) ||
                      (f.execution == "closed" && f.finished != "success" && failed_as &&
                       x->failure == events::failure_code::install_failed) ||
                      ((f.execution == "canceled" || f.execution == "rejected") && failed_as &&
                       x->failure == events::failure_code::rejected);
          if (same) return note();
        }
        auto m = translate(*x, f, cancel_resource, id);
        if (!m) {
          // Nothing to decide: an acknowledgement (skip, stale progress, a cancel
          // of an action that is already over). Final executions still say so.
          if (is_over(x->phase) && !cancel_resource && f.execution != "proceeding")
            return answer(why, error_response(problem{
                                   domain::make_error_code(domain::errc::execution_finished),
                                   fmt::format("action {} of device {} is {}", action, d.id,
                                               events::enum_name(x->phase))}));
          return note();
        }
        st->svc.handle(d.id, std::move(*m), why, [note, why, answer](reply r) {
          if (!r.ok()) return answer(why, error_response(*r.error));
          if (r.recorded || r.duplicate) return answer(why, empty_ok());
          // Decided, but nothing changed (progress the execution already
          // shows): a note under the same id, so a replay stays a duplicate.
          note();
        });
      });
}

// ---- cancelAction ------------------------------------------------------------

void on_cancel(const state_ptr& st, api::http_request& req, api::responder res) {
  auto action = req.param("action");
  with_device(st, req, std::move(res), [action](domain::device_state d, api::responder res) {
    const auto* x = find_action(d, action);
    if (!x || rank(x->phase) < 0 || kind_of(*x) != instruction_kind::cancel)
      return res(error_response(errc::not_found,
                                fmt::format("device {} has no action {} to cancel", d.id, action)));
    ojson j{{"id", action}, {"cancelAction", {{"stopId", action}}}};
    res(api::http_response::json(200, j.dump()));
  });
}

// ---- configData ----------------------------------------------------------------

checked<std::uint32_t> small_number(const std::string& key, const std::string& v,
                                    std::uint32_t max) {
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || n > max)
    return boost::outcome_v2::failure(make_problem(
        errc::malformed, fmt::format("configData: {} must be a whole number 0-{}, not '{}'", key,
                                     max, truncate_utf8(v, 40))));
  return n;
}

void on_config(const state_ptr& st, api::http_request& req, api::responder res) {
  auto body = req.body;
  with_device(st, req, std::move(res), [st, body](domain::device_state d, api::responder res) {
    auto bad = [&](std::string why) { res(error_response(errc::malformed, "configData: " + why)); };
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("the body must be a JSON object");
    auto data = j.find("data");
    if (data == j.end() || !data->is_object()) return bad("data (an object) is required");
    std::string mode = "merge";
    if (auto m = j.find("mode"); m != j.end() && !m->is_null()) {
      if (!m->is_string()) return bad("mode must be merge, replace or remove");
      mode = m->get<std::string>();
      if (mode != "merge" && mode != "replace" && mode != "remove")
        return bad("mode must be merge, replace or remove");
    }
    if (data->size() > max_attributes)
      return bad(fmt::format("at most {} attributes", max_attributes));
    for (auto& [k, v] : data->items()) {
      if (k.empty() || k.size() > max_attribute_key)
        return bad(fmt::format("attribute names are 1-{} bytes", max_attribute_key));
      if (!v.is_string() && mode != "remove")
        return bad(fmt::format("attribute {} must be a string", truncate_utf8(k, 40)));
      if (v.is_string() && v.get<std::string>().size() > max_attribute_value)
        return bad(fmt::format("attribute {} is over {} bytes", truncate_utf8(k, 40),
                               max_attribute_value));
    }
    auto stored = st->kv.get(ddi_attributes_space, d.id);
    if (!stored) return res(error_response(errc::unavailable, "attributes unavailable"));
    json attrs = json::object();
    if (stored.value() && mode != "replace") {
      attrs = json::parse(*stored.value(), nullptr, false);
      if (attrs.is_discarded() || !attrs.is_object()) attrs = json::object();
    }
    for (auto& [k, v] : data->items()) {
      if (mode == "remove")
        attrs.erase(k);
      else
        attrs[k] = v;
    }
    if (attrs.size() > max_attributes)
      return bad(fmt::format("at most {} attributes", max_attributes));
    // The attributes the platform decides on become a canonical report.
    device_report rep;
    bool any = false;
    if (mode != "remove") {
      for (auto& [k, v] : data->items()) {
        auto s = v.get<std::string>();
        if (k == "fota_version") {
          rep.fota_version = s;
          any = true;
        } else if (k == "sota_version") {
          rep.sota_version = s;
          any = true;
        } else if (k == "signal" || k == "battery") {
          auto n = small_number(k, s, k == "signal" ? 255 : 100);
          if (!n) return res(error_response(n.error()));
          (k == "signal" ? rep.signal : rep.battery) = n.value();
          any = true;
        }
      }
    }
    auto store = [st, device = d.id, attrs = attrs.dump(), res]() {
      storage::write_batch b;
      b.put(ddi_attributes_space, device, attrs);
      if (auto w = st->kv.write(b, storage::write_mode::sync); !w)
        return res(
            error_response(errc::unavailable, "attributes not stored: " + w.error().message()));
      res(empty_ok());
    };
    if (!any) return store();
    rep.id = "ddi-config-" + sha256_hex(body).substr(0, 24);
    std::string why = "hawkBit configData (" + mode + "):";
    for (auto& [k, v] : data->items())
      why += " " + k + "=" + (v.is_string() ? v.get<std::string>() : std::string{});
    st->svc.handle(d.id, std::move(rep), truncate_utf8(std::move(why), max_reason_bytes),
                   [store, res](reply r) {
                     if (!r.ok()) return res(error_response(*r.error));
                     store();
                   });
  });
}

// ---- artifacts -----------------------------------------------------------------

void on_artifact(const state_ptr& st, bool head, api::http_request& req, api::responder res) {
  auto package = req.param("package");
  auto file = req.param("file");
  std::string range{req.header("range")};
  std::string if_range{req.header("if-range")};
  std::string if_none_match{req.header("if-none-match")};
  with_device(st, req, std::move(res), [=](domain::device_state d, api::responder res) {
    constexpr std::string_view md5_suffix = ".MD5SUM";
    bool md5sum = file.size() > md5_suffix.size() && file.ends_with(md5_suffix);
    st->svc.open_download(d.id, package, [=](checked<device_service::download> dl) {
      if (!dl) return res(error_response(dl.error()));
      const auto& x = dl.value();
      if (md5sum) {
        auto name = file.substr(0, file.size() - md5_suffix.size());
        return res(api::http_response::text(200, fmt::format("{}  {}\n", x.md5, name)));
      }
      auto etag = "\"" + x.sha256 + "\"";
      if (!if_none_match.empty() && (if_none_match == etag || if_none_match == "*")) {
        api::http_response r;
        r.status = 304;
        r.header("etag", etag);
        return res(std::move(r));
      }
      bool use_range = !range.empty() && (if_range.empty() || if_range == etag);
      auto parsed = parse_range(use_range ? range : std::string{}, x.size);
      if (!parsed) {
        auto r = error_response(parsed.error());
        r.header("content-range", fmt::format("bytes */{}", x.size));
        return res(std::move(r));
      }
      api::http_response r;
      r.header("etag", etag);
      r.header("accept-ranges", "bytes");
      r.header("x-content-md5", x.md5);
      r.header("x-content-sha256", x.sha256);
      if (head) {
        // The HTTP layer answers with the body it is given: a HEAD gets the
        // validators and the size in X-Artifact-Size, not a Content-Length.
        r.header("x-artifact-size", std::to_string(x.size));
        return res(std::move(r));
      }
      std::uint64_t first = 0, length = x.size;
      if (parsed.value()) {
        first = parsed.value()->first;
        length = parsed.value()->last - first + 1;
        r.status = 206;
        r.header("content-range",
                 fmt::format("bytes {}-{}/{}", first, parsed.value()->last, x.size));
      }
      r.header("content-type", "application/octet-stream");
      r.stream = std::make_shared<blob_body>(*st->svc.blobs(), x.blob, first, length);
      res(std::move(r));
    });
  });
}

} // namespace

std::int64_t ddi_action_id(std::string_view task, std::uint32_t attempt) {
  std::uint32_t h = 2166136261u;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 16777619u;
    }
  };
  mix(task);
  mix("#");
  mix(std::to_string(attempt));
  auto id = static_cast<std::int64_t>(h & 0x7fffffffu);
  return id == 0 ? 1 : id;
}

std::string ddi_sleep(std::uint32_t seconds) {
  auto h = std::min<std::uint32_t>(seconds / 3600, 99);
  auto m = seconds / 60 % 60;
  auto s = seconds % 60;
  if (seconds / 3600 > 99) m = s = 59;
  return fmt::format("{:02}:{:02}:{:02}", h, m, s);
}

void add_ddi_routes(api::router& r, device_service& svc, actors::runtime& rt, storage::kv_store& kv,
                    ddi_options options) {
  auto st = std::make_shared<ddi_state>(ddi_state{svc, rt, kv, std::move(options)});
  const std::string base = "/{tenant}/controller/v1/{id}";
  auto max = st->opts.max_body;
  r.add(
      "GET", base, [st](api::http_request& q, api::responder s) { on_base(st, q, std::move(s)); },
      0);
  r.add(
      "GET", base + "/deploymentBase/{action}",
      [st](api::http_request& q, api::responder s) { on_deployment(st, q, std::move(s)); }, 0);
  r.add(
      "POST", base + "/deploymentBase/{action}/feedback",
      [st](api::http_request& q, api::responder s) { on_feedback(st, false, q, std::move(s)); },
      max);
  r.add(
      "GET", base + "/cancelAction/{action}",
      [st](api::http_request& q, api::responder s) { on_cancel(st, q, std::move(s)); }, 0);
  r.add(
      "POST", base + "/cancelAction/{action}/feedback",
      [st](api::http_request& q, api::responder s) { on_feedback(st, true, q, std::move(s)); },
      max);
  r.add(
      "PUT", base + "/configData",
      [st](api::http_request& q, api::responder s) { on_config(st, q, std::move(s)); }, max);
  for (bool head : {false, true})
    r.add(
        head ? "HEAD" : "GET", base + "/softwaremodules/{package}/artifacts/{file}",
        [st, head](api::http_request& q, api::responder s) {
          on_artifact(st, head, q, std::move(s));
        },
        0);
}

} // namespace otaledger::channel
