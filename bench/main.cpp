#include "bench/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

namespace otaledger::bench {
namespace {

struct entry {
  std::string description;
  workload_fn fn;
};

std::map<std::string, entry>& registry() {
  static std::map<std::string, entry> r;
  return r;
}

} // namespace

registrar::registrar(std::string name, std::string description, workload_fn fn) {
  registry().emplace(std::move(name), entry{std::move(description), std::move(fn)});
}

void emit(const std::string& benchmark, nlohmann::json fields) {
  nlohmann::ordered_json out;
  out["benchmark"] = benchmark;
  for (auto& [k, v] : fields.items())
    if (k != "benchmark") out[k] = v;
  std::cout << out.dump() << std::endl;
}

std::uint64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

double percentile(std::vector<double> s, double p) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(s.size() - 1) + 0.5);
  return s[std::min(i, s.size() - 1)];
}

} // namespace otaledger::bench

int main(int argc, char** argv) {
  using namespace otaledger::bench;
  args a;
  std::string names;
  std::string base_dir = std::filesystem::temp_directory_path() / "otaledger_bench";
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto eq = s.find('=');
    std::string key = s.substr(0, eq);
    std::string val = eq == std::string::npos ? "" : s.substr(eq + 1);
    if (key == "--help" || key == "-h") {
      std::cout << "usage: otaledger_bench --benchmarks=NAME[,NAME...] [--num=N] [--seed=S] "
                   "[--dir=PATH] [--key=value...]\n\nworkloads:\n";
      for (auto& [n, e] : registry())
        std::cout << "  " << n << "\n      " << e.description << "\n";
      return 0;
    }
    if (key == "--benchmarks")
      names = val;
    else if (key == "--num")
      a.num = std::stoull(val);
    else if (key == "--seed")
      a.seed = std::stoull(val);
    else if (key == "--dir")
      base_dir = val;
    else if (key.rfind("--", 0) == 0)
      a.extra[key.substr(2)] = val;
    else {
      std::cerr << "otaledger_bench: unexpected argument '" << s << "' (see --help)\n";
      return 2;
    }
  }
  if (names.empty()) {
    std::cerr << "otaledger_bench: --benchmarks=NAME[,NAME...] is required (see --help)\n";
    return 2;
  }
#ifndef NDEBUG
  std::cerr << "WARNING: assertions are enabled; figures are not representative\n";
#endif
  std::stringstream ss(names);
  std::string name;
  int rc = 0;
  while (std::getline(ss, name, ',')) {
    auto it = registry().find(name);
    if (it == registry().end()) {
      std::cerr << "otaledger_bench: unknown benchmark '" << name << "' (see --help)\n";
      rc = 2;
      continue;
    }
    a.dir = (std::filesystem::path(base_dir) / (name + "-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(a.dir);
    std::filesystem::create_directories(a.dir);
    it->second.fn(a);
    std::filesystem::remove_all(a.dir);
  }
  return rc;
}
