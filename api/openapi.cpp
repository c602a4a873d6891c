#include "api/openapi.hpp"

#include "domain/commands.hpp"

#include <nlohmann/json.hpp>

namespace otaledger::api {

namespace {

using json = nlohmann::ordered_json;

json error_schema() {
  return json{{"type", "object"},
              {"required", json::array({"code", "message", "details"})},
              {"properties",
               {{"code", {{"type", "string"}}},
                {"message", {{"type", "string"}}},
                {"details", {{"type", "object"}}}}}};
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

} // namespace

std::string render_openapi(const std::vector<route_doc>& routes) {
  json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "otaledger operators' API"}, {"version", "1"}};
  doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
  doc["components"]["schemas"]["error"] = error_schema();
  json paths = json::object();
  for (const auto& r : routes) {
    json op;
    op["summary"] = r.summary;
    op["operationId"] = lower(r.method) + r.pattern;
    json params = json::array();
    std::size_t at = 0;
    while ((at = r.pattern.find('{', at)) != std::string::npos) {
      auto end = r.pattern.find('}', at);
      params.push_back({{"name", r.pattern.substr(at + 1, end - at - 1)},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
      at = end;
    }
    for (const auto& q : r.query)
      params.push_back({{"name", q}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    if (r.min_role) {
      op["security"] = json::array({{{"bearer", json::array()}}});
      op["x-min-role"] = std::string{role_name(*r.min_role)};
      if (r.method != "GET") {
        params.push_back(
            {{"name", "Idempotency-Key"}, {"in", "header"}, {"schema", {{"type", "string"}}}});
        params.push_back(
            {{"name", "X-Reason"}, {"in", "header"}, {"schema", {{"type", "string"}}}});
      }
    }
    if (!params.empty()) op["parameters"] = params;
    if (!r.command.empty()) {
      std::string error;
      auto c = domain::command_from_json(r.command, json::object(), error, true);
      json example = c ? domain::command_to_json(c.value())["data"] : json::object();
      example["reason"] = "";
      op["requestBody"] = {
          {"content",
           {{"application/json", {{"schema", {{"type", "object"}}}, {"example", example}}}}}};
      op["x-command"] = r.command;
    }
    if (r.upload) {
      op["requestBody"] = {
          {"required", true},
          {"content",
           {{"application/octet-stream",
             {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
      op["x-upload"] = true;
    }
    op["responses"]["200"] = {{"description", "OK"}};
    if (!r.produces.empty())
      op["responses"]["200"]["content"][r.produces] = {{"schema", {{"type", "string"}}}};
    op["responses"]["default"] = {
        {"description", "error"},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/error"}}}}}}}};
    paths[r.pattern][lower(r.method)] = op;
  }
  doc["paths"] = paths;
  return doc.dump(2);
}

} // namespace otaledger::api
