// The otaledger_bench driver (db_bench style): workloads register themselves
// by name; `otaledger_bench --benchmarks=a,b --num=N` runs them in order and
// each prints one JSON object per line to stdout.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace otaledger::bench {

struct args {
  std::uint64_t num = 0;                    ///< workload size (0: the workload's default)
  std::uint64_t seed = 42;                  ///< random seed
  std::string dir;                          ///< scratch directory for this run (removed afterwards)
  std::map<std::string, std::string> extra; ///< any other --key=value flag
  /// An extra flag's value, or `fallback`.
  std::string get(const std::string& key, const std::string& fallback = {}) const {
    auto i = extra.find(key);
    return i == extra.end() ? fallback : i->second;
  }
};

using workload_fn = std::function<void(const args&)>;

/// Registers a workload at static-initialisation time.
struct registrar {
  registrar(std::string name, std::string description, workload_fn fn);
};

/// Prints one JSON line (adds "benchmark" first when missing) and flushes.
void emit(const std::string& benchmark, nlohmann::json fields);

/// Peak resident set size of this process so far, in bytes (VmHWM).
std::uint64_t peak_rss_bytes();

/// CPU time (user + system, every thread) this process used so far, in seconds.
double process_cpu_seconds();

/// Percentile (0..100) of a sample of latencies, in the sample's unit.
double percentile(std::vector<double> sample, double p);

} // namespace otaledger::bench
