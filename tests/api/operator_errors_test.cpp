// The one error mapping: every code has a name, a message and a status.
#include "api/errors.hpp"
#include "base/errc.hpp"
#include "domain/errc.hpp"
#include "storage/errc.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace otaledger;

BOOST_AUTO_TEST_SUITE(operator_errors)

BOOST_AUTO_TEST_CASE(every_api_code_has_a_name_and_a_message) {
  for (auto e : api::all_errc) {
    BOOST_TEST(!api::to_name(e).empty());
    BOOST_TEST(api::to_message(e) != "unknown api error");
    BOOST_TEST(api::error_name(api::make_error_code(e)) == std::string{api::to_name(e)});
  }
}

BOOST_AUTO_TEST_CASE(every_domain_code_maps_to_its_own_name_and_a_client_or_server_status) {
  for (auto e : domain::all_errc) {
    auto ec = domain::make_error_code(e);
    BOOST_TEST(api::error_name(ec) == std::string{domain::to_name(e)});
    auto s = api::http_status_of(ec);
    BOOST_TEST((s >= 400 && s < 600));
  }
}

BOOST_AUTO_TEST_CASE(the_taxonomy_maps_refusals_to_their_statuses) {
  BOOST_TEST(api::http_status_of(api::errc::malformed) == 400);
  BOOST_TEST(api::http_status_of(domain::errc::invalid_argument) == 400);
  BOOST_TEST(api::http_status_of(api::errc::unauthorized) == 401);
  BOOST_TEST(api::http_status_of(api::errc::forbidden) == 403);
  BOOST_TEST(api::http_status_of(domain::errc::not_found) == 404);
  BOOST_TEST(api::http_status_of(domain::errc::invalid_state) == 409);
  BOOST_TEST(api::http_status_of(domain::errc::already_exists) == 409);
  BOOST_TEST(api::http_status_of(domain::errc::in_use) == 409);
  BOOST_TEST(api::http_status_of(storage::errc::wrong_expected_version) == 409);
  BOOST_TEST(api::http_status_of(domain::errc::too_large) == 413);
  BOOST_TEST(api::http_status_of(domain::errc::image_missing) == 422);
  BOOST_TEST(api::http_status_of(storage::errc::closed) == 503);
  BOOST_TEST(api::http_status_of(storage::errc::io_error) == 500);
  BOOST_TEST(api::http_status_of(std::make_error_code(std::errc::io_error)) == 500);
}

BOOST_AUTO_TEST_CASE(an_error_body_has_code_message_and_details) {
  auto r = api::error_response(domain::errc::invalid_state, "cannot pause task 1: it is paused",
                               {{"stream", "task-1"}});
  BOOST_TEST(r.status == 409);
  auto j = nlohmann::json::parse(r.body);
  BOOST_TEST(j["code"] == "invalid_state");
  BOOST_TEST(j["message"] == "cannot pause task 1: it is paused");
  BOOST_TEST(j["details"]["stream"] == "task-1");
}

BOOST_AUTO_TEST_SUITE_END()
