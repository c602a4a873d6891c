#include "api/http.hpp"

#include "base/errc.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <iostream>
#include <thread>

namespace otaledger::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------- requests

std::string_view http_request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::optional<std::string> http_request::query_param(std::string_view name) const {
  for (auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

const std::string& http_request::param(const std::string& name) const {
  static const std::string empty;
  auto it = params.find(name);
  return it == params.end() ? empty : it->second;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------- router

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

} // namespace

void router::add(std::string method, std::string pattern, handler h, std::size_t max_body) {
  route r;
  r.method = std::move(method);
  for (auto seg : split_path(pattern))
    r.segments.emplace_back(seg);
  r.pattern = std::move(pattern);
  r.h = std::move(h);
  r.max_body = max_body;
  routes_.push_back(std::move(r));
}

void router::add_streaming(std::string method, std::string pattern, stream_handler h,
                           std::size_t max_body) {
  add(std::move(method), std::move(pattern), handler{}, max_body);
  routes_.back().stream = std::move(h);
}

router::match_result router::match(std::string_view method, std::string_view path,
                                   std::map<std::string, std::string>& params) const {
  // The route with the most literal segments wins ("/v1/devices/search"
  // before "/v1/devices/{id}"); among equals, the first added.
  auto segs = split_path(path);
  match_result out;
  const route* best = nullptr;
  std::size_t best_literals = 0;
  std::map<std::string, std::string> best_params;
  for (auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> found;
    bool ok = true;
    std::size_t literals = 0;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      auto& want = r.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        found[want.substr(1, want.size() - 2)] = std::string{segs[i]};
      } else {
        ok = want == segs[i];
        ++literals;
      }
    }
    if (!ok) continue;
    out.path_known = true;
    if (r.method != method) continue;
    if (!best || literals > best_literals) {
      best = &r;
      best_literals = literals;
      best_params = std::move(found);
    }
  }
  if (!best) return out;
  params = std::move(best_params);
  if (best->stream)
    out.stream = &best->stream;
  else
    out.h = &best->h;
  out.max_body = best->max_body;
  return out;
}

std::size_t router::body_limit(std::string_view method, std::string_view path) const {
  std::map<std::string, std::string> ignored;
  auto m = match(method, path, ignored);
  return m.h || m.stream ? m.max_body : 0;
}

std::vector<std::pair<std::string, std::string>> router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& r : routes_)
    out.emplace_back(r.method, r.pattern);
  return out;
}

// ---------------------------------------------------------------- sessions

namespace {

http_request to_request(const http::request_header<>& req, std::string body, std::string remote) {
  http_request r;
  r.method = std::string{req.method_string()};
  r.target = std::string{req.target()};
  auto q = r.target.find('?');
  r.path = percent_decode(std::string_view{r.target}.substr(0, q), false).value_or("\x01");
  if (q != std::string::npos) {
    std::string_view qs = std::string_view{r.target}.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      auto part = qs.substr(0, amp);
      auto eq = part.find('=');
      auto k = percent_decode(part.substr(0, eq), true);
      auto v = eq == std::string_view::npos ? std::optional<std::string>{""}
                                            : percent_decode(part.substr(eq + 1), true);
      if (k && v && !k->empty()) r.query.emplace_back(std::move(*k), std::move(*v));
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
  for (auto& f : req) {
    std::string name{f.name_string()};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string{f.value()});
  }
  r.body = std::move(body);
  r.remote = std::move(remote);
  return r;
}

std::string error_body(std::string_view code, std::string_view message) {
  std::string out = "{\"code\":\"";
  out += code;
  out += "\",\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out += "\",\"details\":{}}";
  return out;
}

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<const router> routes, const server_options& opts)
      : stream_(std::move(socket)), routes_(std::move(routes)), opts_(opts) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max()); // checked per route below
    stream_.expires_after(std::chrono::seconds(opts_.idle_timeout_seconds));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return close();
    auto& h = parser_->get();
    std::string method{h.method_string()};
    std::string target{h.target()};
    auto path = percent_decode(std::string_view{target}.substr(0, target.find('?')), false);
    std::size_t limit = path ? routes_->body_limit(method, *path) : 0;
    auto declared = parser_->content_length();
    if (declared && *declared > limit && limit > 0) {
      keep_alive_ = false;
      return send(http_response::json(
          413, error_body("too_large", "request body of " + std::to_string(*declared) +
                                           " bytes exceeds the limit of " + std::to_string(limit) +
                                           " bytes for " + method + " " + *path)));
    }
    if (path) {
      std::map<std::string, std::string> params;
      auto m = routes_->match(method, *path, params);
      if (m.stream) return start_stream(*m.stream);
    }
    parser_->body_limit(std::max<std::size_t>(limit, 1));
    continue_then([self = shared_from_this()] {
      self->stream_.expires_after(std::chrono::seconds(self->opts_.idle_timeout_seconds));
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, std::size_t) { self->on_read(ec); });
    });
  }

  // A client that sent "Expect: 100-continue" (curl does for large uploads)
  // waits for an interim "100 Continue" before it sends the body; the answer
  // goes out only once the headers passed every check, so a refused upload is
  // never sent. Without the header, `next` runs at once.
  template <class F> void continue_then(F next) {
    auto expect = parser_->get()[http::field::expect];
    if (!beast::iequals(expect, "100-continue")) return next();
    static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(interim.data(), interim.size()),
                     [self = shared_from_this(), next = std::move(next)](beast::error_code ec,
                                                                         std::size_t) mutable {
                       if (ec) return self->close();
                       next();
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return send(http_response::json(413, error_body("too_large", "request body too large")));
    }
    if (ec) return close();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    auto req = std::make_shared<http_request>(to_request(msg, std::move(msg.body()), remote_));
    auto m = routes_->match(req->method, req->path, req->params);
    if (!m.h) {
      if (m.path_known)
        return send(
            http_response::json(405, error_body("method_not_allowed",
                                                req->method + " is not allowed on " + req->path)));
      return send(http_response::json(404, error_body("not_found", "no route for " + req->path)));
    }
    auto answered = std::make_shared<std::atomic<bool>>(false);
    responder reply = [self = shared_from_this(), answered](http_response r) {
      if (answered->exchange(true)) return; // at most once
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    };
    try {
      (*m.h)(*req, reply);
    } catch (const std::exception& e) {
      std::cerr << "otaledger: handler for " << req->method << " " << req->path
                << " threw: " << e.what() << "\n";
      reply(http_response::json(500, error_body("internal", "internal error")));
    }
  }

  responder make_responder() {
    auto answered = std::make_shared<std::atomic<bool>>(false);
    return [self = shared_from_this(), answered](http_response r) {
      if (answered->exchange(true)) return; // at most once
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    };
  }

  // ---- streaming routes (uploads)

  void start_stream(const stream_handler& h) {
    stream_req_ = std::make_shared<http_request>(to_request(parser_->get(), {}, remote_));
    routes_->match(stream_req_->method, stream_req_->path, stream_req_->params);
    responder reply = make_responder();
    try {
      sink_ = h(*stream_req_, reply);
    } catch (const std::exception& e) {
      std::cerr << "otaledger: handler for " << stream_req_->method << " " << stream_req_->path
                << " threw: " << e.what() << "\n";
      sink_.reset();
      reply(http_response::json(500, error_body("internal", "internal error")));
    }
    if (!sink_) {
      keep_alive_ = false; // the body is not read: close after the answer
      return;
    }
    continue_then([self = shared_from_this()] {
      self->sparser_.emplace(std::move(*self->parser_));
      self->sparser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      self->read_chunk();
    });
  }

  void read_chunk() {
    auto& body = sparser_->get().body();
    body.data = in_buf_.data();
    body.size = in_buf_.size();
    stream_.expires_after(std::chrono::seconds(opts_.idle_timeout_seconds));
    http::async_read_some(
        stream_, buffer_, *sparser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_chunk(ec); });
  }

  void on_chunk(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) { // cut short: the sink drops what it wrote
      sink_.reset();
      sparser_.reset();
      return close();
    }
    std::size_t got = in_buf_.size() - sparser_->get().body().size;
    if (got > 0) {
      if (auto refused = sink_->write(std::string_view{in_buf_.data(), got})) {
        sink_.reset();
        sparser_.reset();
        keep_alive_ = false;
        return send(std::move(*refused));
      }
    }
    if (!sparser_->is_done()) return read_chunk();
    keep_alive_ = sparser_->get().keep_alive();
    sparser_.reset();
    auto sink = std::move(sink_);
    auto req = stream_req_;
    responder reply = make_responder();
    try {
      sink->finish(*req, reply);
    } catch (const std::exception& e) {
      std::cerr << "otaledger: upload to " << req->path << " threw: " << e.what() << "\n";
      reply(http_response::json(500, error_body("internal", "internal error")));
    }
  }

  void send(http_response r) {
    if (r.stream) return send_stream(std::move(r));
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(11);
    res->set(http::field::server, "otaledger");
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->after_write(ec);
                      });
  }

  void send_stream(http_response r) {
    stream_res_ = std::make_unique<http::response<http::buffer_body>>();
    auto& res = *stream_res_;
    res.result(static_cast<unsigned>(r.status));
    res.version(11);
    res.set(http::field::server, "otaledger");
    for (auto& [k, v] : r.headers)
      res.set(k, v);
    res.keep_alive(keep_alive_);
    res.content_length(r.stream->size());
    res.body().data = nullptr;
    res.body().more = true;
    source_ = std::move(r.stream);
    sent_ = 0;
    serializer_ = std::make_unique<http::response_serializer<http::buffer_body>>(res);
    http::async_write_header(stream_, *serializer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->write_chunk();
                             });
  }

  void write_chunk() {
    auto total = source_->size();
    auto& body = stream_res_->body();
    if (sent_ >= total) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      auto chunk = source_->read(sent_, static_cast<std::size_t>(std::min<std::uint64_t>(
                                            opts_.stream_chunk, total - sent_)));
      if (!chunk || chunk.value().empty()) return close(); // cannot finish: drop the connection
      chunk_ = std::move(chunk.value());
      sent_ += chunk_.size();
      body.data = chunk_.data();
      body.size = chunk_.size();
      body.more = sent_ < total;
    }
    stream_.expires_after(std::chrono::seconds(opts_.idle_timeout_seconds));
    http::async_write(stream_, *serializer_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec == http::error::need_buffer) ec = {};
                        if (ec) return self->close();
                        if (self->serializer_->is_done()) {
                          self->serializer_.reset();
                          self->stream_res_.reset();
                          self->source_.reset();
                          return self->after_write({});
                        }
                        self->write_chunk();
                      });
  }

  void after_write(beast::error_code ec) {
    if (ec || !keep_alive_) return close();
    read_header();
  }

  // A lingering close: stop sending, then drain what the peer still sends
  // (e.g. the rest of a refused body) for a few seconds, so the kernel does not
  // answer unread data with a reset that would destroy our last response.
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) return self->drain();
                              beast::error_code ignored;
                              self->stream_.socket().close(ignored);
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<const router> routes_;
  server_options opts_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> sparser_;
  std::unique_ptr<body_sink> sink_;
  std::shared_ptr<http_request> stream_req_;
  std::array<char, 64 * 1024> in_buf_{};
  std::string remote_;
  bool keep_alive_ = true;
  std::unique_ptr<http::response<http::buffer_body>> stream_res_;
  std::unique_ptr<http::response_serializer<http::buffer_body>> serializer_;
  std::shared_ptr<body_source> source_;
  std::uint64_t sent_ = 0;
  std::string chunk_;
  std::array<char, 4096> drain_buf_{};
};

} // namespace

struct http_server::impl {
  server_options opts;
  std::shared_ptr<const router> routes;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool running = false;

  void accept() {
    acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<session>(std::move(s), routes, opts)->run();
      }
      accept();
    });
  }
};

http_server::http_server(server_options opts, std::shared_ptr<const router> routes)
    : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
  impl_->routes = std::move(routes);
}

http_server::~http_server() {
  stop();
}

result<void> http_server::start() {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->opts.address, ec);
  if (ec) return make_error_code(base::errc::invalid_argument);
  tcp::endpoint ep{addr, impl_->opts.port};
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(ep.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "otaledger: cannot listen on " << impl_->opts.address << ":" << impl_->opts.port
              << ": " << ec.message() << "\n";
    impl_->acceptor.reset();
    return ec;
  }
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->accept();
  impl_->running = true;
  for (unsigned i = 0; i < std::max(1u, impl_->opts.threads); ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return ok();
}

void http_server::stop() {
  if (!impl_ || !impl_->running) return;
  impl_->running = false;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

std::uint16_t http_server::port() const {
  return impl_->port;
}

} // namespace otaledger::api
