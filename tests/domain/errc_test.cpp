#define BOOST_TEST_MODULE domain
#include <boost/test/unit_test.hpp>

#include "domain/errc.hpp"

#include <set>

using namespace otaledger;

BOOST_AUTO_TEST_SUITE(domain_errc)

BOOST_AUTO_TEST_CASE(every_domain_error_code_has_its_own_message_and_name) {
  std::set<std::string> messages;
  std::set<std::string_view> names;
  for (auto e : domain::all_errc) {
    std::error_code ec = e;
    BOOST_TEST(ec.message().find("unknown") == std::string::npos, ec.message());
    BOOST_TEST(messages.insert(ec.message()).second, "duplicate message " << ec.message());
    BOOST_TEST(domain::to_name(e) != "?");
    BOOST_TEST(names.insert(domain::to_name(e)).second, "duplicate name " << domain::to_name(e));
  }
}

BOOST_AUTO_TEST_SUITE_END()
