// An asynchronous HTTP/1.1 client over a bounded pool of keep-alive
// connections (Boost.Beast), for the simulated fleet: thousands of devices
// share a few connections instead of a socket (or a thread) each. Requests
// beyond the pool's size wait in a FIFO queue.
//
// A transport failure (refused, reset, timeout) answers status 0 with the
// error; the pool never retries by itself (a device retries the same message,
// which the server decides once). Threads: everything runs on the given
// io_context, which must be run by ONE thread; request() must be called on it.
#pragma once

#include <utility> // before Boost.Asio (its awaitable.hpp needs std::exchange)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace otaledger::sim {

struct http_call {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;
  std::string body;          ///< JSON body (POST)
  std::string authorization; ///< the whole header value, or empty
  std::string range;         ///< Range header, or empty
  std::string if_range;      ///< If-Range header, or empty
  /// Close the connection after the answer (a broken download: the device
  /// keeps part of the body and reconnects).
  bool close_after = false;
};

struct http_answer {
  int status = 0; ///< 0: transport failure (see error)
  std::string body;
  std::string etag;
  std::string content_range;
  boost::system::error_code error;
};

struct http_pool_stats {
  std::uint64_t requests = 0;
  std::uint64_t failures = 0; ///< transport failures
  std::uint64_t connects = 0;
};

class http_pool {
public:
  http_pool(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint server,
            std::size_t connections, std::chrono::seconds timeout = std::chrono::seconds{30});
  ~http_pool();

  void request(http_call call, std::function<void(http_answer)> done);
  /// Closes every connection; queued requests answer status 0.
  void close();

  std::size_t queued() const { return queue_.size(); }
  const http_pool_stats& stats() const { return stats_; }

  struct connection;

private:
  struct pending {
    http_call call;
    std::function<void(http_answer)> done;
  };
  void dispatch();
  void run(connection& c, pending p, bool fresh);
  void finish(connection& c, pending& p, http_answer a);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint server_;
  std::chrono::seconds timeout_;
  std::vector<std::unique_ptr<connection>> conns_;
  std::vector<connection*> idle_;
  std::deque<pending> queue_;
  http_pool_stats stats_;
  bool closed_ = false;
};

} // namespace otaledger::sim
