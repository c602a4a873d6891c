// Runs every *.scenario file of this folder (OTALEDGER_SCENARIO_DIR) through
// the pure domain, and checks that the runner itself notices a wrong
// expectation (a runner that always passes would prove nothing).
#define BOOST_TEST_MODULE scenarios
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/scenarios/scenario_runner.hpp"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;
using namespace otaledger;

namespace {

std::vector<std::string> all_scenario_files() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator{OTALEDGER_SCENARIO_DIR})
    if (entry.path().extension() == ".scenario") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

void check(const testing::scenario_report& r) {
  for (const auto& f : r.failures)
    BOOST_ERROR(f.file << ":" << f.line << " [" << f.scenario << "] " << f.message);
}

const char* fixture = R"(
scenario: a paused task can be resumed
given: task.created {"task":"17"}
given: task.started {"task":"17"}
given: task.paused {"task":"17"}
)";

} // namespace

BOOST_AUTO_TEST_SUITE(scenario_files)

BOOST_AUTO_TEST_CASE(the_scenario_folder_is_not_empty) {
  BOOST_TEST(all_scenario_files().size() >= 5u);
}

BOOST_DATA_TEST_CASE(every_scenario_in_the_file_holds, bdata::make(all_scenario_files()), path) {
  BOOST_TEST_MESSAGE("scenario file " << path);
  auto report = testing::run_scenario_file(path);
  BOOST_TEST(report.scenarios > 0, path << " holds no scenario");
  BOOST_TEST_MESSAGE(path << ": " << report.scenarios << " scenarios, " << report.steps
                          << " commands");
  check(report);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scenario_runner)

BOOST_AUTO_TEST_CASE(a_correct_expectation_passes) {
  auto r = testing::run_scenarios(std::string{fixture} + R"(
when: resume_task {"task":"17"}
then: task.resumed {"task":"17","at":"2026-01-01T00:00:00Z"}
)",
                                  "inline", ".");
  BOOST_TEST(r.failures.empty());
  BOOST_TEST(r.steps == 1);
}

BOOST_AUTO_TEST_CASE(a_wrong_event_type_is_reported) {
  auto r = testing::run_scenarios(std::string{fixture} + R"(
when: resume_task {"task":"17"}
then: task.paused {"task":"17"}
)",
                                  "inline", ".");
  BOOST_TEST(r.failures.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_wrong_field_value_is_reported) {
  auto r = testing::run_scenarios(std::string{fixture} + R"(
when: resume_task {"task":"17"}
then: task.resumed {"task":"18"}
)",
                                  "inline", ".");
  BOOST_TEST(r.failures.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_unexpected_extra_event_is_reported) {
  auto r = testing::run_scenarios(std::string{fixture} + R"(
when: resume_task {"task":"17"}
then: nothing
)",
                                  "inline", ".");
  BOOST_TEST(r.failures.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_unchecked_when_is_reported) {
  auto r = testing::run_scenarios(std::string{fixture} + "when: resume_task {\"task\":\"17\"}\n",
                                  "inline", ".");
  BOOST_TEST(r.failures.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_expected_refusal_that_is_accepted_is_reported) {
  auto r = testing::run_scenarios(std::string{fixture} + R"(
when: resume_task {"task":"17"}
reject: invalid_state it is paused
)",
                                  "inline", ".");
  BOOST_TEST(r.failures.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_refusal_with_another_message_is_reported) {
  auto r = testing::run_scenarios(std::string{fixture} + R"(
when: pause_task {"task":"17"}
reject: invalid_state it is upgrading
)",
                                  "inline", ".");
  BOOST_TEST(r.failures.size() == 1u);
}

BOOST_AUTO_TEST_CASE(times_compare_as_times_not_as_text) {
  std::string where;
  BOOST_TEST(testing::json_subset(events::json("2026-01-01T00:00:00Z"),
                                  events::json("2026-01-01T00:00:00.000000Z"), where));
  BOOST_TEST(!testing::json_subset(events::json("2026-01-01T00:00:01Z"),
                                   events::json("2026-01-01T00:00:00.000000Z"), where));
}

BOOST_AUTO_TEST_SUITE_END()
