#include "sim/http_pool.hpp"

namespace otaledger::sim {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct http_pool::connection {
  explicit connection(boost::asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  std::unique_ptr<http::response_parser<http::string_body>> parser;
  bool open = false;
};

http_pool::http_pool(boost::asio::io_context& io, tcp::endpoint server, std::size_t connections,
                     std::chrono::seconds timeout)
    : io_(io), server_(server), timeout_(timeout) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, connections); ++i) {
    conns_.push_back(std::make_unique<connection>(io_));
    idle_.push_back(conns_.back().get());
  }
}

http_pool::~http_pool() {
  close();
}

void http_pool::close() {
  closed_ = true;
  for (auto& c : conns_) {
    beast::error_code ec;
    c->stream.socket().close(ec);
    c->open = false;
  }
  auto q = std::move(queue_);
  queue_.clear();
  for (auto& p : q) {
    http_answer a;
    a.error = boost::asio::error::operation_aborted;
    p.done(std::move(a));
  }
}

void http_pool::request(http_call call, std::function<void(http_answer)> done) {
  stats_.requests++;
  if (closed_) {
    http_answer a;
    a.error = boost::asio::error::operation_aborted;
    return done(std::move(a));
  }
  queue_.push_back({std::move(call), std::move(done)});
  dispatch();
}

void http_pool::dispatch() {
  while (!idle_.empty() && !queue_.empty()) {
    auto* c = idle_.back();
    idle_.pop_back();
    auto p = std::move(queue_.front());
    queue_.pop_front();
    run(*c, std::move(p), !c->open);
  }
}

void http_pool::run(connection& c, pending p, bool fresh) {
  auto go = [this, &c, fresh](pending p) {
    c.req = {};
    c.req.method(p.call.method);
    c.req.target(p.call.target);
    c.req.version(11);
    c.req.set(http::field::host, "otaledger");
    if (!p.call.authorization.empty()) c.req.set(http::field::authorization, p.call.authorization);
    if (!p.call.range.empty()) c.req.set(http::field::range, p.call.range);
    if (!p.call.if_range.empty()) c.req.set(http::field::if_range, p.call.if_range);
    if (p.call.method == http::verb::post) {
      c.req.set(http::field::content_type, "application/json");
      c.req.body() = p.call.body;
    }
    c.req.prepare_payload();
    c.stream.expires_after(timeout_);
    auto pp = std::make_shared<pending>(std::move(p));
    http::async_write(c.stream, c.req, [this, &c, pp, fresh](beast::error_code ec, std::size_t) {
      if (ec) {
        c.open = false;
        beast::error_code ignored;
        c.stream.socket().close(ignored);
        // A kept-alive connection the server closed meanwhile: once more on a new one.
        if (!fresh && !closed_) return run(c, std::move(*pp), true);
        http_answer a;
        a.error = ec;
        return finish(c, *pp, std::move(a));
      }
      c.parser = std::make_unique<http::response_parser<http::string_body>>();
      c.parser->body_limit(std::uint64_t{1} << 32);
      c.stream.expires_after(timeout_);
      http::async_read(c.stream, c.buffer, *c.parser,
                       [this, &c, pp, fresh](beast::error_code ec, std::size_t) {
                         if (ec) {
                           c.open = false;
                           beast::error_code ignored;
                           c.stream.socket().close(ignored);
                           c.buffer.clear();
                           if (!fresh && !closed_ &&
                               (ec == http::error::end_of_stream ||
                                ec == boost::asio::error::connection_reset ||
                                ec == boost::asio::error::eof))
                             return run(c, std::move(*pp), true);
                           http_answer a;
                           a.error = ec;
                           return finish(c, *pp, std::move(a));
                         }
                         auto res = c.parser->release();
                         http_answer a;
                         a.status = static_cast<int>(res.result_int());
                         a.etag = std::string{res[http::field::etag]};
                         a.content_range = std::string{res[http::field::content_range]};
                         a.body = std::move(res.body());
                         if (!res.keep_alive() || pp->call.close_after) {
                           c.open = false;
                           beast::error_code ignored;
                           c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                           c.stream.socket().close(ignored);
                           c.buffer.clear();
                         }
                         finish(c, *pp, std::move(a));
                       });
    });
  };
  if (c.open) return go(std::move(p));
  stats_.connects++;
  c.buffer.clear();
  c.stream.expires_after(timeout_);
  auto pp = std::make_shared<pending>(std::move(p));
  c.stream.async_connect(server_, [this, &c, pp, go](beast::error_code ec) {
    if (ec) {
      beast::error_code ignored;
      c.stream.socket().close(ignored);
      http_answer a;
      a.error = ec;
      return finish(c, *pp, std::move(a));
    }
    c.open = true;
    c.stream.socket().set_option(tcp::no_delay{true});
    go(std::move(*pp));
  });
}

void http_pool::finish(connection& c, pending& p, http_answer a) {
  if (a.status == 0) stats_.failures++;
  idle_.push_back(&c);
  auto done = std::move(p.done);
  done(std::move(a)); // may queue more
  if (!closed_) dispatch();
}

} // namespace otaledger::sim
