#define BOOST_TEST_MODULE api
#include <boost/test/unit_test.hpp>

#include "api/http.hpp"
#include "tests/api/http_client.hpp"

#include <future>
#include <thread>

using namespace otaledger;
using namespace otaledger::api;

namespace {

class counting_source final : public body_source {
public:
  explicit counting_source(std::uint64_t n) : n_(n) {}
  std::uint64_t size() const override { return n_; }
  result<std::string> read(std::uint64_t offset, std::size_t max) override {
    std::string out;
    for (std::uint64_t i = offset; i < offset + max && i < n_; ++i)
      out.push_back(static_cast<char>('a' + i % 26));
    return out;
  }

private:
  std::uint64_t n_;
};

struct fixture {
  std::shared_ptr<router> routes = std::make_shared<router>();
  std::unique_ptr<http_server> server;
  std::vector<std::thread> workers;

  fixture() {
    routes->add("GET", "/v1/tasks/{id}", [](http_request& req, responder reply) {
      reply(http_response::json(200, "{\"id\":\"" + req.param("id") + "\",\"q\":\"" +
                                         req.query_param("q").value_or("") + "\"}"));
    });
    routes->add(
        "POST", "/v1/echo",
        [](http_request& req, responder reply) { reply(http_response::text(201, req.body)); }, 16);
    routes->add("GET", "/v1/later", [this](http_request&, responder reply) {
      // Answered from another thread, as an actor's reply would be.
      workers.emplace_back([reply] { reply(http_response::text(200, "later")); });
    });
    routes->add("GET", "/v1/stream", [](http_request& req, responder reply) {
      http_response r;
      r.stream = std::make_shared<counting_source>(std::stoull(req.query_param("n").value()));
      reply(std::move(r));
    });
    server_options opts;
    opts.port = 0;
    opts.stream_chunk = 1000;
    server = std::make_unique<http_server>(opts, routes);
    BOOST_REQUIRE(server->start());
  }
  ~fixture() {
    server->stop();
    for (auto& t : workers)
      t.join();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_server_behaviour, fixture)

BOOST_AUTO_TEST_CASE(path_and_query_parameters_reach_the_handler_decoded) {
  testing::http_client c{server->port()};
  auto r = c.request("GET", "/v1/tasks/t%2D17?q=a+b%21");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"id":"t-17","q":"a b!"})");
}

BOOST_AUTO_TEST_CASE(an_unknown_path_is_404_and_a_wrong_method_is_405) {
  testing::http_client c{server->port()};
  auto r = c.request("GET", "/v1/nothing");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.body.find("\"code\":\"not_found\"") != std::string::npos);
  r = c.request("DELETE", "/v1/tasks/1");
  BOOST_TEST(r.status == 405);
}

BOOST_AUTO_TEST_CASE(a_body_over_the_route_limit_is_refused_with_413) {
  testing::http_client c{server->port()};
  auto r = c.request("POST", "/v1/echo", std::string(17, 'x'));
  BOOST_TEST(r.status == 413);
  BOOST_TEST(r.body.find("exceeds the limit of 16 bytes") != std::string::npos);
  testing::http_client c2{server->port()};
  r = c2.request("POST", "/v1/echo", std::string(16, 'x'));
  BOOST_TEST(r.status == 201);
  BOOST_TEST(r.body == std::string(16, 'x'));
}

BOOST_AUTO_TEST_CASE(one_connection_serves_many_requests_in_order) {
  testing::http_client c{server->port()};
  for (int i = 0; i < 50; ++i) {
    auto r = c.request("GET", "/v1/tasks/" + std::to_string(i));
    BOOST_TEST(r.body == "{\"id\":\"" + std::to_string(i) + "\",\"q\":\"\"}");
  }
}

BOOST_AUTO_TEST_CASE(a_handler_may_answer_later_from_another_thread) {
  testing::http_client c{server->port()};
  auto r = c.request("GET", "/v1/later");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "later");
}

BOOST_AUTO_TEST_CASE(a_streamed_body_arrives_whole_in_many_chunks) {
  testing::http_client c{server->port()};
  auto r = c.request("GET", "/v1/stream?n=123457");
  BOOST_TEST(r.status == 200);
  BOOST_REQUIRE(r.body.size() == 123457u);
  for (std::size_t i = 0; i < r.body.size(); i += 9973)
    BOOST_TEST(r.body[i] == static_cast<char>('a' + i % 26));
  // The connection is still usable afterwards.
  BOOST_TEST(c.request("GET", "/v1/tasks/x").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
