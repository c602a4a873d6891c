#include "channel/http_routes.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <memory>

namespace otaledger::channel {

namespace {

using ojson = nlohmann::ordered_json;

api::http_response problem_response(std::string_view id, const problem& p) {
  auto r = api::http_response::json(p.http_status(), encode_problem(id, p));
  if (p.http_status() == 401) r.header("www-authenticate", "Bearer realm=\"otaledger-devices\"");
  return r;
}

/// Authenticates the path's device; answers 401 itself when it fails.
bool authenticated(device_service& svc, const api::http_request& req, api::responder& res) {
  auto a = svc.authenticate(req.param("id"), bearer_secret(req.header("authorization")));
  if (a) return true;
  res(problem_response("", a.error()));
  return false;
}

std::string instruction_json(const std::optional<instruction>& i) {
  return i ? encode_instruction(*i) : std::string{"null"};
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

void on_register(device_service& svc, api::http_request& req, api::responder res) {
  auto r = decode_registration(req.body, svc.options().codec);
  if (!r) return res(problem_response("", r.error()));
  auto id = r.value().id;
  svc.register_device(std::move(r.value()), [id, res](checked<registration_reply> out) {
    if (!out) return res(problem_response(id, out.error()));
    ojson j{{"id", id},
            {"accepted", true},
            {"device", out.value().device},
            {"created", out.value().created}};
    if (!out.value().secret.empty()) j["secret"] = out.value().secret;
    res(api::http_response::json(out.value().created ? 201 : 200, j.dump()));
  });
}

void on_message(device_service& svc, message_type t, api::http_request& req, api::responder res) {
  if (!authenticated(svc, req, res)) return;
  auto m = decode_message(t, req.body, svc.options().codec);
  if (!m) return res(problem_response("", m.error()));
  const auto& device = req.param("id");
  bool with_instruction = t == message_type::report;
  svc.handle(device, std::move(m.value()), [&svc, device, with_instruction, res](reply r) {
    if (!r.ok()) return res(problem_response(r.id, *r.error));
    if (!with_instruction)
      return res(api::http_response::json(200, encode_accepted(r.id, r.duplicate)));
    // A report is also a check: answer with the current instruction.
    svc.current_instruction(device, [r, res](checked<std::optional<instruction>> i) {
      auto body = encode_accepted(r.id, r.duplicate);
      body.pop_back(); // '}'
      body += ",\"instruction\":";
      body += i ? instruction_json(i.value()) : std::string{"null"};
      body += '}';
      res(api::http_response::json(200, std::move(body)));
    });
  });
}

void on_instruction(device_service& svc, api::http_request& req, api::responder res) {
  if (!authenticated(svc, req, res)) return;
  svc.current_instruction(req.param("id"), [res](checked<std::optional<instruction>> i) {
    if (!i) return res(problem_response("", i.error()));
    res(api::http_response::json(200, "{\"instruction\":" + instruction_json(i.value()) + "}"));
  });
}

void on_download(device_service& svc, api::http_request& req, api::responder res) {
  if (!authenticated(svc, req, res)) return;
  std::string range{req.header("range")};
  std::string if_range{req.header("if-range")};
  std::string if_none_match{req.header("if-none-match")};
  svc.open_download(
      req.param("id"), req.param("package"),
      [&svc, range, if_range, if_none_match, res](checked<device_service::download> d) {
        if (!d) return res(problem_response("", d.error()));
        const auto& dl = d.value();
        // The SHA-256 names the bytes exactly: a strong validator.
        auto etag = "\"" + dl.sha256 + "\"";
        if (!if_none_match.empty() && (if_none_match == etag || if_none_match == "*")) {
          api::http_response r;
          r.status = 304;
          r.header("etag", etag);
          return res(std::move(r));
        }
        // If-Range with another validator: the client's copy is stale, send it all.
        bool use_range = !range.empty() && (if_range.empty() || if_range == etag);
        auto parsed = parse_range(use_range ? range : std::string{}, dl.size);
        if (!parsed) {
          auto r = problem_response("", parsed.error());
          r.header("content-range", fmt::format("bytes */{}", dl.size));
          return res(std::move(r));
        }
        api::http_response r;
        std::uint64_t first = 0, length = dl.size;
        if (parsed.value()) {
          first = parsed.value()->first;
          length = parsed.value()->last - first + 1;
          r.status = 206;
          r.header("content-range",
                   fmt::format("bytes {}-{}/{}", first, parsed.value()->last, dl.size));
        }
        r.header("content-type", "application/octet-stream");
        r.header("etag", etag);
        r.header("accept-ranges", "bytes");
        r.header("x-content-md5", dl.md5);
        r.stream = std::make_shared<blob_body>(*svc.blobs(), dl.blob, first, length);
        res(std::move(r));
      });
}

} // namespace

std::string_view bearer_secret(std::string_view a) {
  for (std::string_view scheme : {"Bearer ", "TargetToken "}) {
    if (a.size() > scheme.size() && a.substr(0, scheme.size()) == scheme) {
      auto s = a.substr(scheme.size());
      while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
      return s;
    }
  }
  return {};
}

checked<std::optional<byte_range>> parse_range(std::string_view h, std::uint64_t size) {
  if (h.empty()) return std::optional<byte_range>{};
  auto bad = [&](std::string why) {
    return boost::outcome_v2::failure(
        make_problem(errc::range_invalid, fmt::format("Range '{}' {} (the package has {} bytes)",
                                                      h.substr(0, 60), why, size)));
  };
  constexpr std::string_view unit = "bytes=";
  if (!h.starts_with(unit)) return bad("is not a bytes range");
  auto spec = h.substr(unit.size());
  if (spec.find(',') != std::string_view::npos) return bad("has several ranges; send one");
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return bad("is malformed");
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (a.empty()) { // suffix: the last b bytes
    if (!parse_u64(b, last) || last == 0) return bad("is malformed");
    if (size == 0) return bad("cannot be satisfied");
    last = std::min(last, size);
    return std::optional<byte_range>{byte_range{size - last, size - 1}};
  }
  if (!parse_u64(a, first)) return bad("is malformed");
  if (b.empty())
    last = size == 0 ? 0 : size - 1;
  else if (!parse_u64(b, last) || last < first)
    return bad("is malformed");
  if (first >= size) return bad("starts at or past the end");
  last = std::min(last, size - 1);
  return std::optional<byte_range>{byte_range{first, last}};
}

void add_device_routes(api::router& r, device_service& svc) {
  auto max = svc.options().codec.max_message_bytes;
  r.add(
      "POST", "/v1/devices/register",
      [&svc](api::http_request& q, api::responder s) { on_register(svc, q, std::move(s)); }, max);
  for (auto t :
       {message_type::report, message_type::progress, message_type::result, message_type::note})
    r.add(
        "POST", fmt::format("/v1/devices/{{id}}/{}", to_name(t)),
        [&svc, t](api::http_request& q, api::responder s) { on_message(svc, t, q, std::move(s)); },
        max);
  r.add(
      "GET", "/v1/devices/{id}/instruction",
      [&svc](api::http_request& q, api::responder s) { on_instruction(svc, q, std::move(s)); }, 0);
  r.add(
      "GET", "/v1/devices/{id}/packages/{package}",
      [&svc](api::http_request& q, api::responder s) { on_download(svc, q, std::move(s)); }, 0);
}

} // namespace otaledger::channel
