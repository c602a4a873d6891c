// The scenario runner: reads *.scenario files (format in README.md) and checks
// each `when` against the pure domain: given events -> command -> expected
// events or rejection. No store, no actors, no clock: the domain alone.
#pragma once

#include "domain/commands.hpp"
#include "domain/decide.hpp"
#include "events/json_codec.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace otaledger::testing {

/// One failed expectation, with where it was written.
struct scenario_failure {
  std::string file;
  int line = 0;
  std::string scenario;
  std::string message;
};

struct scenario_report {
  int scenarios = 0;
  int steps = 0; ///< `when` and `do` lines run
  std::vector<scenario_failure> failures;
};

/// Runs every scenario of a file's text; `name` is used in failures and
/// `include_dir` resolves `include:` lines.
scenario_report run_scenarios(const std::string& text, const std::string& name,
                              const std::filesystem::path& include_dir);

/// Runs a file.
scenario_report run_scenario_file(const std::filesystem::path& path);

/// Whether `expected` is a subset of `actual`: objects key by key, arrays
/// element by element with equal length, scalars equal; two strings that both
/// parse as RFC 3339 times compare as times.
bool json_subset(const events::json& expected, const events::json& actual, std::string& where,
                 const std::string& path = "data");

} // namespace otaledger::testing
