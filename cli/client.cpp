// The operators' command-line client: `otaledger product|device|group|
// firmware|package|task|server VERB ...` talk to a running `otaledger serve`
// over its HTTP API (docs/api.md; docs/cli.md lists every verb).
//
// Server and token: --server URL / OTALEDGER_SERVER (default
// http://127.0.0.1:8080), --token T / OTALEDGER_TOKEN. Output: a table (lists)
// or "key: value" lines (one object); --json prints the server's JSON as is.
// Flags other than the common ones become body fields (commands) or query
// parameters (reads, uploads): `--initial-version 1.0` is "initial_version";
// a value that is a JSON array, object, true, false or null is sent as
// JSON, `@FILE` reads the value (JSON) from a file, anything else is a string.
// Uploads stream the file from disk with a progress bar on stderr when it is
// a terminal. Exit status: 0 success, 1 the server refused (its error is
// printed), 2 bad usage, 3 cannot reach the server.
#include "cli/commands.hpp"

#include <utility> // before Boost.Asio (std::exchange)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace otaledger::cli {

int client_main(int argc, char** argv);

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::ordered_json;

enum class kind { body, query, upload, download };

struct verb {
  std::string name;
  std::string method;
  std::string path; ///< "{id}" is the first positional argument
  kind k = kind::body;
  std::string summary;
};

const std::map<std::string, std::vector<verb>>& resources() {
  static const std::map<std::string, std::vector<verb>> all = {
      {"product",
       {{"create", "POST", "/v1/products", kind::body, "--product ID --name N [--require-verification false]"},
        {"get", "GET", "/v1/products/{id}", kind::query, "ID"},
        {"edit", "PUT", "/v1/products/{id}", kind::body, "ID --name N [--require-verification B]"}}},
      {"device",
       {{"register", "POST", "/v1/devices", kind::body,
         "--device ID --product P [--imei I] [--mac M] [--fota-version V]"},
        {"list", "GET", "/v1/devices", kind::query, "[--product P] [--online true|false]"},
        {"search", "GET", "/v1/devices/search", kind::query, "--imei I | --mac M | ..."},
        {"get", "GET", "/v1/devices/{id}", kind::query, "ID"},
        {"edit", "PUT", "/v1/devices/{id}", kind::body, "ID --name N --imei I --mac M"}}},
      {"group",
       {{"create", "POST", "/v1/groups", kind::body, "--group ID --name N [--description D]"},
        {"list", "GET", "/v1/groups", kind::query, "[--name PREFIX]"},
        {"get", "GET", "/v1/groups/{id}", kind::query, "ID"},
        {"edit", "PUT", "/v1/groups/{id}", kind::body, "ID --name N [--description D]"},
        {"delete", "DELETE", "/v1/groups/{id}", kind::body, "ID"},
        {"members", "GET", "/v1/groups/{id}/members", kind::query, "ID"},
        {"add", "POST", "/v1/groups/{id}/members", kind::body, "ID --devices '[\"D1\",...]'"},
        {"remove", "POST", "/v1/groups/{id}/members/remove", kind::body,
         "ID --devices '[\"D1\",...]'"},
        {"add-matching", "POST", "/v1/groups/{id}/members/matching", kind::body,
         "ID --filter '{\"product\":\"P1\",\"fota_version\":\"1.0\"}'"}}},
      {"firmware",
       {{"create", "POST", "/v1/firmware", kind::body,
         "--firmware ID --vendor V --model M --version X [--product P]"},
        {"list", "GET", "/v1/firmware", kind::query, "[--vendor V --model M --version PREFIX]"},
        {"get", "GET", "/v1/firmware/{id}", kind::query, "ID"},
        {"upload", "PUT", "/v1/firmware/{id}/image", kind::upload, "ID FILE"},
        {"delete", "DELETE", "/v1/firmware/{id}", kind::body, "ID"},
        {"verify", "POST", "/v1/firmware/{id}/verification", kind::body,
         "ID --device ID_OR_MAC"},
        {"confirm", "POST", "/v1/firmware/{id}/verification/confirm", kind::body, "ID"}}},
      {"package",
       {{"create", "POST", "/v1/packages", kind::body,
         "--package ID --firmware F --type full --origin image"},
        {"generate", "POST", "/v1/packages", kind::body,
         "--firmware TO (--from FROM | --initial-version V) [--package ID]  (online delta)"},
        {"list", "GET", "/v1/packages", kind::query, "[--firmware F]"},
        {"upload", "POST", "/v1/packages/upload", kind::upload,
         "FILE --firmware F [--type delta --initial-version V] [--package ID]"},
        {"reupload", "PUT", "/v1/packages/{id}/file", kind::upload, "ID FILE"},
        {"get", "GET", "/v1/packages/{id}", kind::query, "ID"},
        {"delete", "DELETE", "/v1/packages/{id}", kind::body, "ID"}}},
      {"task",
       {{"create", "POST", "/v1/tasks", kind::body, "--task ID --settings @settings.json"},
        {"list", "GET", "/v1/tasks", kind::query, "[--status S] [--name PREFIX]"},
        {"get", "GET", "/v1/tasks/{id}", kind::query, "ID"},
        {"edit", "PUT", "/v1/tasks/{id}", kind::body, "ID --settings @settings.json"},
        {"delete", "DELETE", "/v1/tasks/{id}", kind::body, "ID"},
        {"start", "POST", "/v1/tasks/{id}/start", kind::body, "ID"},
        {"pause", "POST", "/v1/tasks/{id}/pause", kind::body, "ID"},
        {"resume", "POST", "/v1/tasks/{id}/resume", kind::body, "ID"},
        {"cancel", "POST", "/v1/tasks/{id}/cancel", kind::body, "ID"},
        {"retry-failed", "POST", "/v1/tasks/{id}/retry-failed", kind::body, "ID"},
        {"release-install", "POST", "/v1/tasks/{id}/release-install", kind::body, "ID"},
        {"advance-wave", "POST", "/v1/tasks/{id}/advance-wave", kind::body, "ID"},
        {"devices", "GET", "/v1/tasks/{id}/devices", kind::query, "ID [--phase P] [--search S]"},
        {"export", "GET", "/v1/tasks/{id}/devices.csv", kind::download,
         "ID [--phase P] [--out FILE]  (CSV)"}}},
      {"server",
       {{"audit", "GET", "/v1/audit", kind::query, "--stream S | --correlation C"},
        {"replay", "GET", "/v1/replay", kind::query, "--stream S [--time T] [--position N]"},
        {"health", "GET", "/healthz", kind::query, ""},
        {"openapi", "GET", "/openapi.json", kind::query, ""}}},
  };
  return all;
}

void usage(std::ostream& out, const std::string& resource) {
  out << "usage: otaledger " << resource
      << " VERB [ARGS] [--server URL] [--token T] [--json] [--reason R]\n"
         "       [--idempotency-key K] [--FIELD VALUE ...]\n\n"
         "Talks to `otaledger serve` (env OTALEDGER_SERVER, OTALEDGER_TOKEN).\n\nverbs:\n";
  for (const auto& v : resources().at(resource))
    out << "  " << v.name << std::string(v.name.size() < 16 ? 16 - v.name.size() : 1, ' ')
        << v.summary << "\n";
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct endpoint {
  std::string host;
  std::string port;
};

std::optional<endpoint> parse_server(const std::string& url) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos) return std::nullopt; // https: not supported
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return endpoint{rest, "80"};
  return endpoint{rest.substr(0, colon), rest.substr(colon + 1)};
}

struct reply {
  int status = 0;
  std::string body;
  std::string type;
};

/// A progress bar on stderr (TTY only).
class progress {
public:
  explicit progress(std::uint64_t total) : total_(total), on_(::isatty(2) != 0) {}
  void update(std::uint64_t done) {
    if (!on_ || total_ == 0) return;
    int pct = static_cast<int>(done * 100 / total_);
    if (pct == last_) return;
    last_ = pct;
    int bar = pct * 30 / 100;
    std::fprintf(stderr, "\r[%s%s] %3d%% %llu/%llu bytes", std::string(bar, '#').c_str(),
                 std::string(30 - bar, '.').c_str(), pct, static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_));
    if (done == total_) std::fprintf(stderr, "\n");
  }

private:
  std::uint64_t total_;
  bool on_;
  int last_ = -1;
};

/// One request; `file` (uploads) streams a file as the body.
reply send(const endpoint& ep, const std::string& method, const std::string& target,
           const std::string& token, const std::vector<std::pair<std::string, std::string>>& hdrs,
           const std::string& body, const std::filesystem::path* file) {
  net::io_context ioc;
  tcp::resolver resolver{ioc};
  beast::tcp_stream stream{ioc};
  stream.connect(resolver.resolve(ep.host, ep.port));
  auto prepare = [&](auto& req) {
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, ep.host);
    req.set(http::field::user_agent, "otaledger-cli");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    for (const auto& [k, v] : hdrs)
      req.set(k, v);
  };
  if (file) {
    std::ifstream in{*file, std::ios::binary};
    auto size = std::filesystem::file_size(*file);
    http::request<http::buffer_body> req;
    prepare(req);
    req.set(http::field::content_type, "application/octet-stream");
    req.content_length(size);
    req.body().data = nullptr;
    req.body().more = true;
    http::request_serializer<http::buffer_body> sr{req};
    http::write_header(stream, sr);
    std::vector<char> buf(64 * 1024);
    std::uint64_t sent = 0;
    progress bar{size};
    beast::error_code ec;
    while (sent < size) {
      in.read(buf.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(buf.size(), size - sent)));
      auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) throw std::runtime_error{"cannot read " + file->string()};
      sent += n;
      req.body().data = buf.data();
      req.body().size = n;
      req.body().more = sent < size;
      http::write(stream, sr, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break; // the server refused and closed: read its answer
      bar.update(sent);
    }
    if (!ec && !sr.is_done()) {
      req.body().data = nullptr;
      req.body().size = 0;
      req.body().more = false;
      http::write(stream, sr, ec);
    }
  } else {
    http::request<http::string_body> req;
    prepare(req);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 32);
  http::read(stream, buffer, parser);
  reply r;
  r.status = static_cast<int>(parser.get().result_int());
  r.body = parser.get().body();
  r.type = std::string{parser.get()[http::field::content_type]};
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return r;
}

std::string scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

/// Lists as a table of their scalar columns; objects as "key: value" lines.
void print_human(const json& j, std::ostream& out) {
  if (j.is_object() && j.contains("items") && j["items"].is_array()) {
    std::vector<std::string> cols;
    for (const auto& item : j["items"])
      if (item.is_object())
        for (auto& [k, v] : item.items())
          if (!v.is_structured() && std::find(cols.begin(), cols.end(), k) == cols.end())
            cols.push_back(k);
    std::vector<std::vector<std::string>> rows;
    rows.push_back(cols);
    for (const auto& item : j["items"]) {
      std::vector<std::string> row;
      for (const auto& c : cols)
        row.push_back(item.is_object() && item.contains(c) ? scalar(item[c]) : "");
      rows.push_back(row);
    }
    std::vector<std::size_t> w(cols.size(), 0);
    for (const auto& row : rows)
      for (std::size_t i = 0; i < row.size(); ++i)
        w[i] = std::max(w[i], std::min<std::size_t>(row[i].size(), 40));
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i) {
        auto cell = row[i].substr(0, 40);
        out << cell << (i + 1 < row.size() ? std::string(w[i] - cell.size() + 2, ' ') : "");
      }
      out << "\n";
    }
    for (auto& [k, v] : j.items())
      if (k != "items" && !(k == "next" && v == "")) out << k << ": " << scalar(v) << "\n";
    return;
  }
  if (j.is_object()) {
    for (auto& [k, v] : j.items())
      out << k << ": " << scalar(v) << "\n";
    return;
  }
  out << j.dump(2) << "\n";
}

/// A flag's value as JSON: JSON when it parses (not a bare word), @FILE's text, else a string.
json flag_value(const std::string& v) {
  if (!v.empty() && v[0] == '@') {
    std::ifstream in{v.substr(1)};
    if (!in) throw std::runtime_error{"cannot read " + v.substr(1)};
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = json::parse(ss.str(), nullptr, false);
    return j.is_discarded() ? json(ss.str()) : j;
  }
  // Arrays, objects and true/false/null are JSON; everything else (ids,
  // version strings such as 1.0) stays a string.
  if (!v.empty() && (v[0] == '[' || v[0] == '{' || v == "true" || v == "false" || v == "null")) {
    auto j = json::parse(v, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return json(v);
}

} // namespace

int client_main(int argc, char** argv) {
  const std::string resource = argv[0];
  auto it = resources().find(resource);
  if (it == resources().end()) return 2;
  if (argc < 2 || std::string{argv[1]} == "--help" || std::string{argv[1]} == "-h") {
    usage(argc < 2 ? std::cerr : std::cout, resource);
    return argc < 2 ? 2 : 0;
  }
  const std::string verb_name = argv[1];
  const verb* v = nullptr;
  for (const auto& x : it->second)
    if (x.name == verb_name) v = &x;
  if (!v) {
    std::cerr << "otaledger " << resource << ": unknown verb '" << verb_name << "'\n";
    usage(std::cerr, resource);
    return 2;
  }
  const char* env_server = std::getenv("OTALEDGER_SERVER");
  const char* env_token = std::getenv("OTALEDGER_TOKEN");
  std::string server = env_server ? env_server : "http://127.0.0.1:8080";
  std::string token = env_token ? env_token : "";
  bool as_json = false;
  std::string out_file;
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> headers;
  json fields = json::object();
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional.push_back(a);
      continue;
    }
    if (a == "--json") {
      as_json = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      usage(std::cout, resource);
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "otaledger " << resource << " " << verb_name << ": " << a << " needs a value\n";
      return 2;
    }
    std::string value = argv[++i];
    if (a == "--server") server = value;
    else if (a == "--token") token = value;
    else if (a == "--out") out_file = value;
    else if (a == "--idempotency-key") headers.emplace_back("Idempotency-Key", value);
    else {
      std::string name = a.substr(2);
      for (auto& c : name)
        if (c == '-') c = '_';
      try {
        fields[name] = flag_value(value);
      } catch (const std::exception& e) {
        std::cerr << "otaledger " << resource << " " << verb_name << ": " << e.what() << "\n";
        return 2;
      }
    }
  }
  auto ep = parse_server(server);
  if (!ep) {
    std::cerr << "otaledger: --server wants http://HOST:PORT, got '" << server << "'\n";
    return 2;
  }
  std::string path = v->path;
  std::size_t need = (path.find("{id}") != std::string::npos ? 1 : 0) + (v->k == kind::upload ? 1 : 0);
  if (positional.size() != need) {
    std::cerr << "otaledger " << resource << " " << verb_name << ": expected " << v->summary
              << "\n";
    return 2;
  }
  if (auto at = path.find("{id}"); at != std::string::npos)
    path.replace(at, 4, url_encode(positional[0]));
  std::filesystem::path file;
  if (v->k == kind::upload) {
    file = positional.back();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      std::cerr << "otaledger: " << file.string() << " is not a readable file\n";
      return 2;
    }
    if (!fields.contains("name")) fields["name"] = file.filename().string();
  }
  if (resource == "package" && verb_name == "generate") fields["origin"] = "generated";
  std::string body;
  std::string target = path;
  if (v->k == kind::body) {
    if (!fields.empty()) body = fields.dump();
  } else {
    std::string qs;
    for (auto& [k, val] : fields.items())
      qs += (qs.empty() ? "?" : "&") + url_encode(k) + "=" + url_encode(scalar(val));
    target += qs;
  }
  reply r;
  try {
    r = send(*ep, v->method, target, token, headers, body,
             v->k == kind::upload ? &file : nullptr);
  } catch (const std::exception& e) {
    std::cerr << "otaledger: cannot talk to " << server << ": " << e.what() << "\n";
    return 3;
  }
  if (r.status >= 400) {
    auto j = json::parse(r.body, nullptr, false);
    if (as_json || j.is_discarded()) {
      std::cerr << r.body << "\n";
    } else {
      std::cerr << "otaledger: " << r.status << " " << scalar(j.value("code", json(""))) << ": "
                << scalar(j.value("message", json(""))) << "\n";
    }
    return 1;
  }
  if (v->k == kind::download) {
    if (out_file.empty()) {
      std::cout << r.body;
    } else {
      std::ofstream out{out_file, std::ios::binary};
      out << r.body;
      if (!out) {
        std::cerr << "otaledger: cannot write " << out_file << "\n";
        return 1;
      }
    }
    return 0;
  }
  auto j = json::parse(r.body, nullptr, false);
  if (as_json || j.is_discarded()) {
    std::cout << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
    return 0;
  }
  print_human(j, std::cout);
  return 0;
}

} // namespace otaledger::cli
