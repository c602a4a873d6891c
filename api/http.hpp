// A small HTTP/1.1 server on Boost.Beast, shared by the operators' API and the
// devices' channel.
//
// Threads: `options::threads` I/O threads run the accept loop and every
// connection. A handler runs on an I/O thread and must not block: it answers
// through its `responder`, which may be called later from any thread (e.g. when
// an actor replies). Each connection handles one request at a time
// (keep-alive, no pipelining), so a responder is called at most once per request.
//
// Bodies: requests are read whole up to the route's body limit (a body over it
// is answered 413 before it is read), except on streaming routes
// (router::add_streaming, uploads): their handler sees the headers first and
// returns a `body_sink` that receives the body chunk by chunk as it arrives; a
// body cut short (connection closed, idle timeout) destroys the sink
// unfinished. Responses are either a string body or a `body_source` streamed
// in chunks (downloads: never loaded whole).
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otaledger::api {

/// One parsed request. Header names are lower case.
struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string target; ///< path and query as received
  std::string path;   ///< percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query; ///< decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::map<std::string, std::string> params; ///< path parameters set by the router ({id})
  std::string remote;                        ///< peer address

  /// The first header of that (lower-case) name, or empty.
  std::string_view header(std::string_view name) const;
  /// The first query parameter of that name.
  std::optional<std::string> query_param(std::string_view name) const;
  /// A path parameter ({name} in the route); empty if absent.
  const std::string& param(const std::string& name) const;
};

/// A streamed response body (e.g. a firmware image in the blob store).
class body_source {
public:
  virtual ~body_source() = default;
  /// Total bytes this body will produce.
  virtual std::uint64_t size() const = 0;
  /// Up to `max` bytes starting at `offset` (relative to the body's start).
  virtual result<std::string> read(std::uint64_t offset, std::size_t max) = 0;
};

struct http_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                    ///< used when `stream` is null
  std::shared_ptr<body_source> stream; ///< a body streamed in chunks

  http_response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  static http_response json(int status, std::string body) {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    r.header("content-type", "application/json");
    return r;
  }
  static http_response text(int status, std::string body, std::string type = "text/plain") {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    r.header("content-type", std::move(type));
    return r;
  }
};

/// Answers a request exactly once, from any thread.
using responder = std::function<void(http_response)>;
using handler = std::function<void(http_request&, responder)>;

/// Receives a streamed request body (an upload). Destroying a sink before
/// finish() (the body was cut short, or a write refused it) must drop
/// everything it wrote.
class body_sink {
public:
  virtual ~body_sink() = default;
  /// The next bytes of the body, on an I/O thread. An answer (e.g. 413)
  /// refuses the upload: it is sent, the sink is destroyed, the connection closes.
  virtual std::optional<http_response> write(std::string_view chunk) = 0;
  /// The whole body arrived; answer through `respond` (now or later).
  virtual void finish(http_request& req, responder respond) = 0;
};

/// A streaming route's handler, called once the headers are read (req.body is
/// empty). Returns the sink for the body, or nullptr after answering through
/// `respond` (refused before the body is read; the connection then closes).
using stream_handler = std::function<std::unique_ptr<body_sink>(http_request&, responder&)>;

/// Maps (method, path pattern) to handlers. Patterns are literal segments and
/// `{name}` parameters: "/v1/tasks/{id}/pause". When several routes match a
/// path, the one with the most literal segments wins.
class router {
public:
  /// Adds a route; `max_body` bounds the request body (bytes) for this route.
  void add(std::string method, std::string pattern, handler h, std::size_t max_body = 1 << 20);
  /// Adds a streaming route (uploads): the body goes to the handler's sink
  /// chunk by chunk; `max_body` bounds a declared Content-Length.
  void add_streaming(std::string method, std::string pattern, stream_handler h,
                     std::size_t max_body);

  struct match_result {
    const handler* h = nullptr;
    const stream_handler* stream = nullptr; ///< set instead of h on a streaming route
    std::size_t max_body = 0;
    bool path_known = false; ///< the path matched some route, with another method
  };
  /// Finds the route for a request and fills its path parameters.
  match_result match(std::string_view method, std::string_view path,
                     std::map<std::string, std::string>& params) const;
  /// The largest body any route accepts for this method and path (for reading).
  std::size_t body_limit(std::string_view method, std::string_view path) const;
  /// Every (method, pattern), for the OpenAPI test.
  std::vector<std::pair<std::string, std::string>> routes() const;

private:
  struct route {
    std::string method;
    std::vector<std::string> segments;
    std::string pattern;
    handler h;
    stream_handler stream;
    std::size_t max_body;
  };
  std::vector<route> routes_;
};

struct server_options {
  /// Address to listen on. Default: "127.0.0.1".
  std::string address = "127.0.0.1";
  /// TCP port; 0 picks a free one (see http_server::port). Default: 8080.
  std::uint16_t port = 8080;
  /// I/O threads. Default: 2.
  unsigned threads = 2;
  /// Bytes of a streamed body sent per write. Default: 64 KiB.
  std::size_t stream_chunk = 64 * 1024;
  /// A connection idle this long between requests is closed. Default: 120 s.
  unsigned idle_timeout_seconds = 120;
};

/// The server. start() binds and returns; stop() closes every connection and
/// joins the I/O threads. A responder still held elsewhere (a command in
/// flight in the actor runtime) keeps its connection alive; such holders must
/// be stopped (they then answer or drop their responders) before the server is
/// destroyed, because a connection cannot be destroyed after its I/O context.
class http_server {
public:
  http_server(server_options opts, std::shared_ptr<const router> routes);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts the I/O threads; an address in use is an error.
  result<void> start();
  void stop();
  /// The bound port (useful with port 0).
  std::uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Percent-decodes a URL component ('+' is a space in queries); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

} // namespace otaledger::api
