// The documentation names everything the code defines: every event type in
// docs/events.md, every command and error code in docs/domain.md.
#include <boost/test/unit_test.hpp>

#include "domain/commands.hpp"
#include "domain/errc.hpp"
#include "events/event.hpp"

#include <fstream>
#include <sstream>

using namespace otaledger;

namespace {
std::string read_doc(const char* name) {
  std::ifstream f{std::string{OTALEDGER_SOURCE_DIR} + "/docs/" + name};
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
} // namespace

BOOST_AUTO_TEST_SUITE(documentation)

BOOST_AUTO_TEST_CASE(the_event_catalog_documents_every_event_type) {
  auto doc = read_doc("events.md");
  BOOST_REQUIRE(!doc.empty());
  for (auto name : events::catalog_type_names())
    BOOST_TEST(doc.find("### `" + std::string{name} + "`") != std::string::npos,
               name << " is not documented in docs/events.md");
}

BOOST_AUTO_TEST_CASE(the_domain_doc_names_every_command_and_error_code) {
  auto doc = read_doc("domain.md");
  BOOST_REQUIRE(!doc.empty());
  for (auto name : domain::command_names())
    BOOST_TEST(doc.find(std::string{name}) != std::string::npos,
               name << " is not named in docs/domain.md");
  for (auto e : domain::all_errc)
    BOOST_TEST(doc.find("`" + std::string{domain::to_name(e)} + "`") != std::string::npos,
               domain::to_name(e) << " is not in docs/domain.md's error table");
}

BOOST_AUTO_TEST_SUITE_END()
