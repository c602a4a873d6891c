#include "channel/codec.hpp"

#include "domain/device.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <span>

namespace otaledger::channel {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

auto bad(std::string message) {
  return boost::outcome_v2::failure(make_problem(errc::malformed, std::move(message)));
}

std::string dump(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

/// Parses an object of at most `max` bytes whose keys are all in `allowed`.
checked<json> parse_object(std::string_view text, std::size_t max,
                           std::span<const std::string_view> allowed,
                           std::string_view extra_field = {}) {
  if (text.size() > max)
    return boost::outcome_v2::failure(
        make_problem(errc::too_large,
                     fmt::format("message is {} bytes, the limit is {} bytes", text.size(), max)));
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return bad("message is not valid JSON (UTF-8)");
  if (!j.is_object()) return bad("message must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& k = it.key();
    if (k == extra_field && !extra_field.empty()) continue;
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      return bad(fmt::format("unknown field '{}'", domain::truncate_utf8(k, 40)));
  }
  return j;
}

/// Typed, checked access to one object's fields.
struct fields {
  const json& j;

  const json* find(std::string_view name) const {
    auto it = j.find(std::string{name});
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
  }

  checked<std::optional<std::string>> opt_string(std::string_view name) const {
    auto v = find(name);
    if (!v) return std::optional<std::string>{};
    if (!v->is_string()) return bad(fmt::format("{} must be a string", name));
    return std::optional<std::string>{v->get<std::string>()};
  }
  checked<std::string> string(std::string_view name, bool required) const {
    auto r = opt_string(name);
    if (!r) return r.error();
    if (!r.value()) {
      if (required) return bad(fmt::format("{} is required", name));
      return std::string{};
    }
    return std::move(*r.value());
  }
  checked<std::optional<std::uint32_t>> opt_uint(std::string_view name, std::uint32_t max) const {
    auto v = find(name);
    if (!v) return std::optional<std::uint32_t>{};
    if (!v->is_number_integer() || (v->is_number_integer() && v->get<std::int64_t>() < 0) ||
        v->get<std::int64_t>() > static_cast<std::int64_t>(max))
      return bad(fmt::format("{} must be an integer 0-{}", name, max));
    return std::optional<std::uint32_t>{static_cast<std::uint32_t>(v->get<std::int64_t>())};
  }
  checked<std::optional<bool>> opt_bool(std::string_view name) const {
    auto v = find(name);
    if (!v) return std::optional<bool>{};
    if (!v->is_boolean()) return bad(fmt::format("{} must be true or false", name));
    return std::optional<bool>{v->get<bool>()};
  }
};

checked<std::string> checked_id(const fields& f, std::string_view name) {
  auto s = f.string(name, true);
  if (!s) return s;
  if (!domain::is_valid_id(s.value()))
    return bad(
        fmt::format("{} must be 1-64 characters of letters, digits, '_', '-', '.', ':'", name));
  return s;
}

checked<std::optional<std::string>> checked_version(const fields& f, std::string_view name) {
  auto s = f.opt_string(name);
  if (!s) return s;
  if (s.value() && !domain::is_valid_version(*s.value()))
    return bad(fmt::format("{} must be 1-50 characters of letters, digits, '_', '-', '.'", name));
  return s;
}

template <class E>
checked<E> checked_enum(const fields& f, std::string_view name, bool required, E fallback) {
  auto s = f.string(name, required);
  if (!s) return s.error();
  if (s.value().empty() && !required) return fallback;
  auto e = events::enum_from_name<E>(s.value());
  if (!e)
    return bad(fmt::format("{} '{}' is not one of the documented values", name,
                           domain::truncate_utf8(s.value(), 40)));
  return *e;
}

#define CHK(var, expr)                                                                             \
  auto var##_r = (expr);                                                                           \
  if (!var##_r) return var##_r.error();                                                            \
  auto var = std::move(var##_r.value())

checked<device_message> decode_report(const json& j) {
  fields f{j};
  device_report r;
  CHK(id, checked_id(f, "id"));
  r.id = std::move(id);
  CHK(fota, checked_version(f, "fota_version"));
  CHK(sota, checked_version(f, "sota_version"));
  CHK(online, f.opt_bool("online"));
  CHK(signal, f.opt_uint("signal", 255));
  CHK(battery, f.opt_uint("battery", 100));
  r.fota_version = std::move(fota);
  r.sota_version = std::move(sota);
  r.online = online;
  r.signal = signal;
  r.battery = battery;
  return device_message{std::move(r)};
}

checked<device_message> decode_progress(const json& j) {
  fields f{j};
  device_progress p;
  CHK(id, checked_id(f, "id"));
  CHK(task, checked_id(f, "task"));
  CHK(phase, checked_enum(f, "phase", true, events::execution_phase::downloading));
  using ph = events::execution_phase;
  if (phase != ph::downloading && phase != ph::downloaded && phase != ph::installing)
    return bad("phase must be downloading, downloaded or installing");
  CHK(percent, f.opt_uint("percent", 100));
  if (phase == ph::downloading && !percent)
    return bad("percent is required with phase downloading");
  p.id = std::move(id);
  p.task = std::move(task);
  p.phase = phase;
  p.percent = phase == ph::downloading ? *percent : 100;
  return device_message{std::move(p)};
}

/// A device's free text: at most limits.max_text_bytes of UTF-8 without
/// control characters; `required` also refuses an absent or empty one.
checked<std::string> checked_text(const fields& f, std::string_view name, bool required,
                                  const codec_limits& limits) {
  CHK(text, f.string(name, required));
  if (required && text.empty()) return bad(fmt::format("{} must not be empty", name));
  if (text.size() > limits.max_text_bytes)
    return bad(
        fmt::format("{} is {} bytes, the limit is {}", name, text.size(), limits.max_text_bytes));
  if (!text.empty() && !domain::is_valid_text(text, 0, limits.max_text_bytes))
    return bad(fmt::format("{} must be UTF-8 without control characters", name));
  return text;
}

checked<device_message> decode_result(const json& j, const codec_limits& limits) {
  fields f{j};
  device_result r;
  CHK(id, checked_id(f, "id"));
  CHK(task, checked_id(f, "task"));
  CHK(status, f.string("status", true));
  r.id = std::move(id);
  r.task = std::move(task);
  if (status == "succeeded") {
    CHK(version, checked_version(f, "version"));
    if (!version) return bad("version is required when status is succeeded");
    if (f.find("code") || f.find("text")) return bad("code and text belong to status failed");
    r.succeeded = true;
    r.version = std::move(*version);
  } else if (status == "failed") {
    CHK(code, checked_enum(f, "code", false, events::failure_code::unknown));
    if (!domain::is_device_reportable(code))
      return bad(fmt::format("code {} is set by the platform, not reported by devices",
                             events::enum_name(code)));
    CHK(text, checked_text(f, "text", false, limits));
    if (f.find("version")) return bad("version belongs to status succeeded");
    r.code = code;
    r.text = std::move(text);
  } else {
    return bad("status must be succeeded or failed");
  }
  return device_message{std::move(r)};
}

checked<device_message> decode_note(const json& j, const codec_limits& limits) {
  fields f{j};
  CHK(id, checked_id(f, "id"));
  CHK(task, checked_id(f, "task"));
  CHK(text, checked_text(f, "text", true, limits));
  return device_message{device_note{std::move(id), std::move(task), std::move(text)}};
}

} // namespace

std::string_view to_name(message_type t) {
  switch (t) {
  case message_type::registration:
    return "register";
  case message_type::report:
    return "report";
  case message_type::progress:
    return "progress";
  case message_type::result:
    return "result";
  case message_type::note:
    return "note";
  }
  return "?";
}

std::optional<message_type> message_type_from_name(std::string_view name) {
  for (auto t : {message_type::registration, message_type::report, message_type::progress,
                 message_type::result, message_type::note})
    if (to_name(t) == name) return t;
  return std::nullopt;
}

checked<device_message> decode_message(message_type t, std::string_view text,
                                       const codec_limits& limits, std::string_view extra_field,
                                       std::string* extra) {
  std::span<const std::string_view> allowed;
  static constexpr std::string_view report_fields[] = {"id",     "fota_version", "sota_version",
                                                       "online", "signal",       "battery"};
  static constexpr std::string_view progress_fields[] = {"id", "task", "phase", "percent"};
  static constexpr std::string_view result_fields[] = {"id",      "task", "status",
                                                       "version", "code", "text"};
  static constexpr std::string_view note_fields[] = {"id", "task", "text"};
  switch (t) {
  case message_type::report:
    allowed = report_fields;
    break;
  case message_type::progress:
    allowed = progress_fields;
    break;
  case message_type::result:
    allowed = result_fields;
    break;
  case message_type::note:
    allowed = note_fields;
    break;
  case message_type::registration:
    return bad("registration is decoded by decode_registration");
  }
  CHK(j, parse_object(text, limits.max_message_bytes, allowed, extra_field));
  if (!extra_field.empty()) {
    auto it = j.find(std::string{extra_field});
    if (it != j.end()) {
      if (!it->is_string()) return bad(fmt::format("{} must be a string", extra_field));
      if (extra) *extra = it->get<std::string>();
    }
  }
  switch (t) {
  case message_type::report:
    return decode_report(j);
  case message_type::progress:
    return decode_progress(j);
  case message_type::note:
    return decode_note(j, limits);
  default:
    return decode_result(j, limits);
  }
}

checked<device_registration> decode_registration(std::string_view text,
                                                 const codec_limits& limits) {
  static constexpr std::string_view allowed[] = {
      "id",   "device", "product", "product_secret", "secret",      "name",
      "imei", "mac",    "region",  "fota_version",   "sota_version"};
  CHK(j, parse_object(text, limits.max_message_bytes, allowed));
  fields f{j};
  device_registration r;
  CHK(id, checked_id(f, "id"));
  CHK(device, checked_id(f, "device"));
  CHK(product, checked_id(f, "product"));
  CHK(product_secret, f.string("product_secret", true));
  if (product_secret.empty() || product_secret.size() > 256)
    return bad("product_secret must be 1-256 bytes");
  CHK(secret, f.string("secret", false));
  if (!secret.empty() && (secret.size() < 16 || secret.size() > 256))
    return bad("secret must be 16-256 bytes (or absent: the server makes one)");
  CHK(name, f.string("name", false));
  CHK(imei, f.string("imei", false));
  CHK(mac, f.string("mac", false));
  CHK(fota, checked_version(f, "fota_version"));
  CHK(sota, checked_version(f, "sota_version"));
  if (auto reg = f.find("region")) {
    if (!reg->is_object()) return bad("region must be an object {province, city}");
    for (auto it = reg->begin(); it != reg->end(); ++it)
      if (it.key() != "province" && it.key() != "city")
        return bad(fmt::format("unknown field 'region.{}'", domain::truncate_utf8(it.key(), 40)));
    fields rf{*reg};
    CHK(province, rf.string("province", false));
    CHK(city, rf.string("city", false));
    r.region = {std::move(province), std::move(city)};
  }
  r.id = std::move(id);
  r.device = std::move(device);
  r.product = std::move(product);
  r.product_secret = std::move(product_secret);
  r.secret = std::move(secret);
  r.name = std::move(name);
  r.imei = std::move(imei);
  r.mac = std::move(mac);
  r.fota_version = fota.value_or("");
  r.sota_version = sota.value_or("");
  return r;
}

std::string encode_instruction(const instruction& i) {
  ojson p{{"id", i.package.id},
          {"type", events::enum_name(i.package.type)},
          {"kind", events::enum_name(i.package.kind)},
          {"initial_version", i.package.initial_version},
          {"target_version", i.package.target_version},
          {"size", i.package.size},
          {"md5", i.package.md5},
          {"sha256", i.package.sha256},
          {"url", i.package.url}};
  ojson j{{"kind", to_name(i.kind)},
          {"task", i.task},
          {"attempt", i.attempt},
          {"download_only", i.download_only},
          {"install_allowed", i.install_allowed},
          {"package", std::move(p)}};
  return dump(j);
}

checked<instruction> decode_instruction(std::string_view text) {
  static constexpr std::string_view allowed[] = {
      "kind", "task", "attempt", "download_only", "install_allowed", "package"};
  CHK(j, parse_object(text, 1 << 16, allowed));
  fields f{j};
  instruction i;
  CHK(kind, f.string("kind", true));
  bool known = false;
  for (auto k : {instruction_kind::upgrade, instruction_kind::hold, instruction_kind::release,
                 instruction_kind::install_release, instruction_kind::cancel})
    if (to_name(k) == kind) {
      i.kind = k;
      known = true;
    }
  if (!known) return bad("kind is not an instruction kind");
  CHK(task, checked_id(f, "task"));
  CHK(attempt, f.opt_uint("attempt", 1u << 30));
  CHK(download_only, f.opt_bool("download_only"));
  CHK(install_allowed, f.opt_bool("install_allowed"));
  i.task = std::move(task);
  i.attempt = attempt.value_or(1);
  i.download_only = download_only.value_or(false);
  i.install_allowed = install_allowed.value_or(true);
  auto p = f.find("package");
  if (!p || !p->is_object()) return bad("package must be an object");
  fields pf{*p};
  CHK(id, pf.string("id", true));
  CHK(type, checked_enum(pf, "type", true, events::package_type::full));
  CHK(pkind, checked_enum(pf, "kind", true, events::firmware_kind::fota));
  CHK(initial, pf.string("initial_version", false));
  CHK(target, pf.string("target_version", true));
  auto size = pf.find("size");
  if (!size || !size->is_number_unsigned()) return bad("package.size must be a number");
  CHK(md5, pf.string("md5", true));
  CHK(sha256, pf.string("sha256", true));
  CHK(url, pf.string("url", true));
  i.package = {std::move(id),
               type,
               pkind,
               std::move(initial),
               std::move(target),
               size->get<std::uint64_t>(),
               std::move(md5),
               std::move(sha256),
               std::move(url)};
  return i;
}

std::string encode_accepted(std::string_view message_id, bool duplicate) {
  return dump(ojson{{"id", message_id}, {"accepted", true}, {"duplicate", duplicate}});
}

std::string encode_problem(std::string_view message_id, const problem& p) {
  return dump(ojson{{"id", message_id},
                    {"accepted", false},
                    {"error", {{"code", p.code_name()}, {"message", p.message}}}});
}

} // namespace otaledger::channel
