// Workload `delta`: our differ and appliers on consecutive real firmware
// releases (MCU images and Linux binaries), in the same run as the tools a
// delta has to beat: Debian's `bsdiff` / `bspatch`, `xdelta3 -9` and the
// `zstd -19 --patch-from` CLI, plus the new image compressed whole with
// zstd -19 (the verdict's reference).
//
// Per pair and tool one JSON line: patch size as a share of the new image,
// diff speed (MB = 10^6 bytes of new image per second, by the wall clock and
// by CPU time: user + system of the child, this thread's CPU time for ours;
// on a loaded machine only the CPU figure compares), and apply memory. The
// external tools run as child processes under /usr/bin/time, which reports
// their peak RSS (wait4 rusage). Ours: the diff runs in this process (timed
// around make_delta, no file I/O); the apply runs as a child
// `otaledger-delta patch OLD DELTA OUT` (the C++ applier, whole images in
// memory), measured like bspatch; for lzr the C99 device applier's fixed work
// buffer (`device_work_bytes`) is reported beside it, that being all the RAM
// it needs apart from ~260 bytes of stack. Then one total line per tool.
//
// The corpus is downloaded by bench/corpus/fetch_delta_corpus.sh into
// <repo>/.cache/delta-corpus (or --corpus=DIR, or $OTALEDGER_DELTA_CORPUS);
// its manifest.tsv lists the pairs. Without it the workload prints one JSON
// line saying so and skips. Flags: --corpus=DIR, --pairs=SUBSTRING (filter),
// --window-log=N (lzr window, default 13), --lit-ctx-bits=N (default 3),
// --codecs=lzr,lzr1,zstd (default all), --finders=hash,sa (our match
// finders, default hash; sa adds tools named otaledger-CODEC-sa),
// --tools=bsdiff,xdelta3,zstd (external tools, default all; "none" for
// none), --delta-tool=PATH (otaledger-delta, default: next to this binary's
// build tree).
#include "bench/bench.hpp"
#include "delta/delta.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace otaledger::bench {
namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

bool write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out);
}

fs::path default_corpus() {
  if (const char* env = std::getenv("OTALEDGER_DELTA_CORPUS")) return env;
  // This file is <repo>/bench/delta_bench.cpp (__FILE__ may be relative to the
  // build directory); else this binary is <repo>/<build>/bench/otaledger_bench.
  const fs::path from_source =
      fs::path(__FILE__).parent_path().parent_path() / ".cache" / "delta-corpus";
  std::error_code ec;
  if (from_source.is_absolute() || fs::exists(from_source / "manifest.tsv", ec)) return from_source;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return from_source;
  return self.parent_path().parent_path().parent_path() / ".cache" / "delta-corpus";
}

fs::path default_delta_tool() {
  // This binary is <build>/bench/otaledger_bench; the tool <build>/delta/otaledger-delta.
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "otaledger-delta";
  return self.parent_path().parent_path() / "delta" / "otaledger-delta";
}

// CPU time of this thread and of the whole process: on a shared, loaded
// machine the wall clock measures the other processes too. make_delta runs
// on two threads for images of 256 KiB and more (the calling thread sorts
// and scans the first half, a second thread counts buckets and scans the
// second half): the process figure is all the work, the calling thread's is
// close to the critical path, i.e. what the wall clock would be on two idle
// cores (a little under it when the second half takes longer).
double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double process_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// One make_delta, timed three ways.
struct timed_diff {
  result<std::string> delta = std::string();
  double wall_s = 0, cpu_s = 0, main_cpu_s = 0;
};

timed_diff time_diff(std::span<const std::byte> old_b, std::span<const std::byte> new_b,
                     const delta::diff_options& o) {
  timed_diff t;
  const auto t0 = clock::now();
  const double p0 = process_cpu_s(), c0 = thread_cpu_s();
  t.delta = delta::make_delta(old_b, new_b, o);
  t.main_cpu_s = thread_cpu_s() - c0;
  t.cpu_s = process_cpu_s() - p0;
  t.wall_s = seconds_since(t0);
  return t;
}

double mb_per_s(std::uint64_t bytes, double s) {
  return s > 0 ? static_cast<double>(bytes) / 1e6 / s : 0.0;
}

// One child process: exit code (127: could not be started), wall time, and
// its peak RSS from wait4()'s rusage (ru_maxrss, KiB on Linux).
struct child_run {
  int exit_code = -1;
  double wall_s = 0;
  double cpu_s = 0; // user + system
  std::uint64_t peak_rss_bytes = 0;
};

// Linux keeps a process's peak RSS across exec, and a child forked from this
// (large) process starts with a copy of its page tables: wait4's ru_maxrss of
// a child forked from here is at least this process's size at fork time. So
// the tool runs under /usr/bin/time (Debian package `time`), itself a small
// process, whose own child is measured cleanly (%M, from wait4); without it
// the figure comes from our wait4 and is marked as an upper bound.
const char* const time_tool = "/usr/bin/time";

bool have_time_tool() {
  return ::access(time_tool, X_OK) == 0;
}

child_run run_child_raw(const std::vector<std::string>& argv);

child_run run_child(const std::vector<std::string>& argv, const fs::path& scratch) {
  if (!have_time_tool()) return run_child_raw(argv);
  const fs::path report = scratch / "time.out";
  fs::remove(report);
  std::vector<std::string> wrapped = {time_tool, "-f", "%x %M %U %S", "-o", report.string()};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  child_run r = run_child_raw(wrapped);
  std::ifstream in(report);
  int code = -1;
  std::uint64_t kib = 0;
  double user = 0, sys = 0;
  // "Command exited with non-zero status N" precedes the line on failure.
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  std::istringstream fields(last);
  if (fields >> code >> kib >> user >> sys) {
    r.exit_code = r.exit_code == 0 ? code : r.exit_code;
    r.peak_rss_bytes = kib * 1024;
    r.cpu_s = user + sys;
  }
  return r;
}

child_run run_child_raw(const std::vector<std::string>& argv) {
  child_run r;
  std::vector<char*> cargv;
  for (const auto& s : argv)
    cargv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  const auto t0 = clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return r;
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  if (::wait4(pid, &status, 0, &ru) != pid) return r;
  r.wall_s = seconds_since(t0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
  r.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return r;
}

bool same_file_content(const fs::path& p, const std::string& expected) {
  std::string got;
  return read_file(p, got) && got == expected;
}

struct external_tool {
  std::string name;    // as reported in "tool"
  std::string flag;    // as named in --tools
  std::string command; // for the JSON line
  std::vector<std::string> (*diff)(const std::string& old_p, const std::string& new_p,
                                   const std::string& patch);
  std::vector<std::string> (*apply)(const std::string& old_p, const std::string& patch,
                                    const std::string& out);
};

const std::vector<external_tool>& external_tools() {
  static const std::vector<external_tool> tools = {
      {"bsdiff", "bsdiff", "bsdiff OLD NEW PATCH; bspatch OLD OUT PATCH",
       [](const std::string& o, const std::string& n, const std::string& p) {
         return std::vector<std::string>{"bsdiff", o, n, p};
       },
       [](const std::string& o, const std::string& p, const std::string& out) {
         return std::vector<std::string>{"bspatch", o, out, p};
       }},
      {"xdelta3-9", "xdelta3", "xdelta3 -9 -e -s OLD NEW PATCH; xdelta3 -d -s OLD PATCH OUT",
       [](const std::string& o, const std::string& n, const std::string& p) {
         return std::vector<std::string>{"xdelta3", "-9", "-e", "-f", "-s", o, n, p};
       },
       [](const std::string& o, const std::string& p, const std::string& out) {
         return std::vector<std::string>{"xdelta3", "-d", "-f", "-s", o, p, out};
       }},
      {"zstd-19-patch-from", "zstd",
       "zstd -19 --patch-from=OLD NEW -o PATCH; zstd -d --patch-from=OLD PATCH -o OUT",
       [](const std::string& o, const std::string& n, const std::string& p) {
         return std::vector<std::string>{"zstd", "-q", "-f", "-19", "--patch-from=" + o,
                                         n,      "-o", p};
       },
       [](const std::string& o, const std::string& p, const std::string& out) {
         return std::vector<std::string>{"zstd", "-q", "-d", "-f", "--patch-from=" + o,
                                         p,      "-o", out};
       }},
  };
  return tools;
}

struct total {
  int pairs = 0, verified = 0;
  std::uint64_t new_bytes = 0, patch_bytes = 0, apply_peak_rss_max = 0, diff_peak_rss_max = 0;
  double diff_s = 0, diff_cpu_s = 0, apply_s = 0;
  double diff_main_cpu_s = 0, cached_s = 0, cached_cpu_s = 0, cached_main_cpu_s = 0;
  // ours only
  int smaller_than_bsdiff = 0, compared_with_bsdiff = 0;
  std::uint64_t bsdiff_bytes = 0;
  std::vector<std::string> not_smaller_than_bsdiff;
  double log_ratio_full_sum = 0;
  int not_worthwhile = 0;
};

void run(const args& a) {
  const fs::path corpus = a.get("corpus").empty() ? default_corpus() : fs::path(a.get("corpus"));
  const fs::path manifest = corpus / "manifest.tsv";
  std::ifstream in(manifest);
  if (!in) {
    emit("delta", {{"skipped", true},
                   {"reason", "no corpus: " + manifest.string() +
                                  " not found; run bench/corpus/fetch_delta_corpus.sh"}});
    return;
  }
  const std::string filter = a.get("pairs");
  const std::string codecs = a.get("codecs", "lzr,lzr1,zstd");
  const std::string tools = a.get("tools", "bsdiff,xdelta3,zstd");
  // Match finders of ours to run: hash (the default, tool otaledger-CODEC)
  // and sa (the suffix array, tool otaledger-CODEC-sa).
  const std::string finders = a.get("finders", "hash");
  const int window_log = std::stoi(a.get("window-log", "12"));
  const int lit_ctx_bits = std::stoi(a.get("lit-ctx-bits", "3"));
  const std::string delta_tool =
      a.get("delta-tool").empty() ? default_delta_tool().string() : a.get("delta-tool");
  const fs::path scratch = a.dir.empty() ? fs::temp_directory_path() : fs::path(a.dir);

  std::map<std::string, total> totals;
  std::vector<std::string> tool_order;
  auto totals_for = [&](const std::string& tool) -> total& {
    if (!totals.count(tool)) tool_order.push_back(tool);
    return totals[tool];
  };

  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, kind, old_rel, new_rel;
    if (!std::getline(fields, name, '\t') || !std::getline(fields, kind, '\t') ||
        !std::getline(fields, old_rel, '\t') || !std::getline(fields, new_rel, '\t'))
      continue;
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    const fs::path old_path = corpus / old_rel, new_path = corpus / new_rel;
    std::string old_image, new_image;
    if (!read_file(old_path, old_image) || !read_file(new_path, new_image)) {
      emit("delta",
           {{"pair", name}, {"skipped", true}, {"reason", "cannot read the pair's files"}});
      continue;
    }
    const auto old_b = delta::as_bytes(old_image), new_b = delta::as_bytes(new_image);
    const double new_bytes = static_cast<double>(std::max<std::size_t>(1, new_image.size()));
    auto t0 = clock::now();
    const auto full = delta::compressed_full_size(new_b, 19);
    const double full_s = seconds_since(t0);
    const std::uint64_t full_size = full ? full.value() : 0;
    const fs::path out_path = scratch / "out.bin";

    // The external tools first, so our lines can carry the ratio to bsdiff.
    std::uint64_t bsdiff_bytes = 0;
    for (const auto& t : external_tools()) {
      if (tools.find(t.flag) == std::string::npos) continue;
      const fs::path patch = scratch / (t.flag + ".patch");
      fs::remove(patch);
      fs::remove(out_path);
      const auto d =
          run_child(t.diff(old_path.string(), new_path.string(), patch.string()), scratch);
      std::error_code ec;
      const auto patch_size = fs::file_size(patch, ec);
      if (d.exit_code != 0 || ec) {
        emit("delta", {{"pair", name},
                       {"tool", t.name},
                       {"skipped", true},
                       {"reason", d.exit_code == 127
                                      ? "'" + t.flag +
                                            "' not installed (apt-get "
                                            "install bsdiff xdelta3 zstd)"
                                      : "diff failed, exit code " + std::to_string(d.exit_code)}});
        continue;
      }
      const auto p =
          run_child(t.apply(old_path.string(), patch.string(), out_path.string()), scratch);
      const bool ok = p.exit_code == 0 && same_file_content(out_path, new_image);
      if (t.flag == "bsdiff") bsdiff_bytes = patch_size;
      emit("delta", {{"pair", name},
                     {"kind", kind},
                     {"tool", t.name},
                     {"command", t.command},
                     {"new_bytes", new_image.size()},
                     {"patch_bytes", patch_size},
                     {"patch_pct_of_new", 100.0 * static_cast<double>(patch_size) / new_bytes},
                     {"diff_s", d.wall_s},
                     {"diff_cpu_s", d.cpu_s},
                     {"diff_mb_per_s", mb_per_s(new_image.size(), d.wall_s)},
                     {"diff_cpu_mb_per_s", mb_per_s(new_image.size(), d.cpu_s)},
                     {"diff_peak_rss_bytes", d.peak_rss_bytes},
                     {"apply_s", p.wall_s},
                     {"apply_peak_rss_bytes", p.peak_rss_bytes},
                     {"apply_memory",
                      have_time_tool() ? "peak RSS of the applying child (/usr/bin/time %M, wait4)"
                                       : "upper bound: wait4 ru_maxrss of a child of this process"},
                     {"verified", ok}});
      auto& tt = totals_for(t.name);
      ++tt.pairs;
      tt.verified += ok ? 1 : 0;
      tt.new_bytes += new_image.size();
      tt.patch_bytes += patch_size;
      tt.diff_s += d.wall_s;
      tt.diff_cpu_s += d.cpu_s;
      tt.apply_s += p.wall_s;
      tt.diff_peak_rss_max = std::max(tt.diff_peak_rss_max, d.peak_rss_bytes);
      tt.apply_peak_rss_max = std::max(tt.apply_peak_rss_max, p.peak_rss_bytes);
    }

    // lzr: format 2 (the default); lzr1: format 1 as the previous release
    // made it (window_log 13, lit_ctx_bits 3); zstd: format 1, level 19.
    const auto listed = [](const std::string& list_text, const std::string& c) {
      std::istringstream list(list_text);
      std::string item;
      while (std::getline(list, item, ','))
        if (item == c) return true;
      return false;
    };
    std::vector<std::pair<std::string, std::string>> ours; // (finder, codec)
    for (const std::string finder : {"hash", "sa"})
      for (const std::string codec_name : {"lzr", "lzr1", "zstd"})
        if (listed(finders, finder) && listed(codecs, codec_name))
          ours.emplace_back(finder, codec_name);
    for (const auto& [finder, codec_name] : ours) {
      const std::string tool_name =
          (codec_name == "lzr1" ? "otaledger-lzr-v1" : "otaledger-" + codec_name) +
          (finder == "sa" ? "-sa" : "");
      delta::diff_options o;
      o.finder = finder == "sa" ? delta::match_finder::suffix_array : delta::match_finder::hash;
      o.codec = codec_name == "zstd" ? delta::codec::zstd : delta::codec::lzr;
      o.window_log = static_cast<std::uint8_t>(codec_name == "lzr1" ? 13 : window_log);
      o.lit_ctx_bits = static_cast<std::uint8_t>(codec_name == "lzr1" ? 3 : lit_ctx_bits);
      o.format_version = codec_name == "lzr1" ? 1 : 2;
      // Cold: no suffix array kept from before. Cached: the same diff again,
      // reusing the old image's suffix array (the server's case of several
      // new images against one old image).
      delta::drop_suffix_array_cache();
      timed_diff cold = time_diff(old_b, new_b, o);
      timed_diff cached = time_diff(old_b, new_b, o);
      delta::drop_suffix_array_cache();
      auto& d = cold.delta;
      const double diff_s = cold.wall_s, diff_cpu_s = cold.cpu_s;
      const bool same_cached = cached.delta && d && cached.delta.value() == d.value();
      if (!d) {
        emit("delta", {{"pair", name}, {"tool", tool_name}, {"error", d.error().message()}});
        continue;
      }
      const auto db = delta::as_bytes(d.value());
      const std::uint64_t delta_size = d.value().size();
      t0 = clock::now();
      auto back = delta::apply_delta(old_b, db);
      const double patch_s = seconds_since(t0);
      double patch_mcu_s = -1;
      bool mcu_ok = true;
      std::uint64_t work = 0;
      const auto info = delta::inspect_delta(db);
      if (o.codec == delta::codec::lzr) {
        t0 = clock::now();
        auto mcu = delta::apply_delta_mcu(old_b, db);
        patch_mcu_s = seconds_since(t0);
        mcu_ok = mcu && mcu.value() == new_image;
        work = delta::inspect_delta(db).value().device_work_size;
      }
      // The C++ applier's memory, measured like bspatch's: a child process.
      const fs::path delta_path = scratch / ("ours-" + codec_name + ".delta");
      fs::remove(out_path);
      child_run p;
      if (write_file(delta_path, d.value()))
        p = run_child(
            {delta_tool, "patch", old_path.string(), delta_path.string(), out_path.string()},
            scratch);
      const bool child_ok = p.exit_code == 0 && same_file_content(out_path, new_image);
      const bool ok = back && back.value() == new_image && mcu_ok && child_ok && same_cached;
      const auto v = delta::worthwhile(delta_size, full_size);
      nlohmann::json j = {
          {"pair", name},
          {"kind", kind},
          {"tool", tool_name},
          {"codec", codec_name == "zstd" ? "zstd" : "lzr"},
          {"finder", finder},
          {"format_version", info ? info.value().format_version : 0},
          {"window_log", o.codec == delta::codec::lzr ? o.window_log : 0},
          {"lit_ctx_bits", o.codec == delta::codec::lzr ? o.lit_ctx_bits : 0},
          {"ops_per_s", diff_s > 0 ? static_cast<double>(new_image.size()) / diff_s : 0.0},
          {"unit", "new-image bytes diffed per second"},
          {"old_bytes", old_image.size()},
          {"new_bytes", new_image.size()},
          {"patch_bytes", delta_size},
          {"patch_pct_of_new", 100.0 * static_cast<double>(delta_size) / new_bytes},
          {"diff_s", diff_s},
          {"diff_cpu_s", diff_cpu_s},
          {"diff_mb_per_s", mb_per_s(new_image.size(), diff_s)},
          {"diff_cpu_mb_per_s", mb_per_s(new_image.size(), diff_cpu_s)},
          {"diff_main_thread_cpu_s", cold.main_cpu_s},
          {"diff_main_thread_mb_per_s", mb_per_s(new_image.size(), cold.main_cpu_s)},
          {"diff_cached_s", cached.wall_s},
          {"diff_cached_cpu_s", cached.cpu_s},
          {"diff_cached_main_thread_cpu_s", cached.main_cpu_s},
          {"diff_cached_main_thread_mb_per_s", mb_per_s(new_image.size(), cached.main_cpu_s)},
          {"diff_timing",
           "cold (no suffix array kept); diff_cpu_s = all threads, diff_main_thread_cpu_s = "
           "the calling thread (about the wall time on two idle cores); cached = the same "
           "diff again reusing the old image's suffix array"},
          {"apply_s", p.wall_s},
          {"apply_peak_rss_bytes", p.peak_rss_bytes},
          {"apply_memory",
           std::string(have_time_tool() ? "peak RSS" : "upper bound of the peak RSS") +
               " of a child 'otaledger-delta patch' (C++ applier, whole images in "
               "memory); the device applier needs device_work_bytes + ~260 B stack"},
          {"device_work_bytes", work},
          {"patch_inproc_s", patch_s},
          {"patch_mcu_s", patch_mcu_s},
          {"zstd19_full_bytes", full_size},
          {"zstd19_full_s", full_s},
          {"ratio_delta_to_compressed_full", v.ratio},
          {"worthwhile", v.worthwhile},
          {"verified", ok},
      };
      if (bsdiff_bytes > 0) {
        j["bsdiff_bytes"] = bsdiff_bytes;
        j["ratio_to_bsdiff"] = static_cast<double>(delta_size) / static_cast<double>(bsdiff_bytes);
        j["smaller_than_bsdiff"] = delta_size < bsdiff_bytes;
      }
      emit("delta", j);
      auto& tt = totals_for(tool_name);
      ++tt.pairs;
      tt.verified += ok ? 1 : 0;
      tt.new_bytes += new_image.size();
      tt.patch_bytes += delta_size;
      tt.diff_s += diff_s;
      tt.diff_cpu_s += diff_cpu_s;
      tt.diff_main_cpu_s += cold.main_cpu_s;
      tt.cached_s += cached.wall_s;
      tt.cached_cpu_s += cached.cpu_s;
      tt.cached_main_cpu_s += cached.main_cpu_s;
      tt.apply_s += p.wall_s;
      tt.apply_peak_rss_max = std::max(tt.apply_peak_rss_max, p.peak_rss_bytes);
      tt.log_ratio_full_sum += std::log(std::max(v.ratio, 1e-9));
      if (!v.worthwhile) ++tt.not_worthwhile;
      if (bsdiff_bytes > 0) {
        ++tt.compared_with_bsdiff;
        tt.bsdiff_bytes += bsdiff_bytes;
        if (delta_size < bsdiff_bytes)
          ++tt.smaller_than_bsdiff;
        else
          tt.not_smaller_than_bsdiff.push_back(name);
      }
    }
  }

  for (const auto& tool : tool_order) {
    const total& t = totals.at(tool);
    nlohmann::json j = {
        {"summary", true},
        {"tool", tool},
        {"pairs", t.pairs},
        {"verified_pairs", t.verified},
        {"new_bytes", t.new_bytes},
        {"patch_bytes", t.patch_bytes},
        {"patch_pct_of_new", 100.0 * static_cast<double>(t.patch_bytes) /
                                 static_cast<double>(std::max<std::uint64_t>(1, t.new_bytes))},
        {"diff_s", t.diff_s},
        {"diff_mb_per_s", mb_per_s(t.new_bytes, t.diff_s)},
        {"diff_cpu_s", t.diff_cpu_s},
        {"diff_cpu_mb_per_s", mb_per_s(t.new_bytes, t.diff_cpu_s)},
        {"apply_s", t.apply_s},
        {"apply_peak_rss_max_bytes", t.apply_peak_rss_max},
    };
    if (tool.rfind("otaledger-", 0) == 0) {
      j["geomean_ratio_delta_to_compressed_full"] = std::exp(t.log_ratio_full_sum / t.pairs);
      j["not_worthwhile"] = t.not_worthwhile;
      j["diff_main_thread_cpu_s"] = t.diff_main_cpu_s;
      j["diff_main_thread_mb_per_s"] = mb_per_s(t.new_bytes, t.diff_main_cpu_s);
      j["diff_cached_s"] = t.cached_s;
      j["diff_cached_cpu_s"] = t.cached_cpu_s;
      j["diff_cached_mb_per_s"] = mb_per_s(t.new_bytes, t.cached_s);
      j["diff_cached_cpu_mb_per_s"] = mb_per_s(t.new_bytes, t.cached_cpu_s);
      j["diff_cached_main_thread_mb_per_s"] = mb_per_s(t.new_bytes, t.cached_main_cpu_s);
      if (t.compared_with_bsdiff > 0) {
        j["bsdiff_bytes"] = t.bsdiff_bytes;
        j["ratio_to_bsdiff"] =
            static_cast<double>(t.patch_bytes) / static_cast<double>(t.bsdiff_bytes);
        j["pairs_smaller_than_bsdiff"] = t.smaller_than_bsdiff;
        j["pairs_not_smaller_than_bsdiff"] = t.not_smaller_than_bsdiff;
      }
      j["peak_rss_bytes"] = peak_rss_bytes();
    } else {
      j["diff_peak_rss_max_bytes"] = t.diff_peak_rss_max;
    }
    emit("delta", j);
  }
}

registrar reg("delta",
              "diff + patch consecutive real firmware releases (bench/corpus/"
              "fetch_delta_corpus.sh) with ours (lzr format 2, lzr format 1, zstd) and, in "
              "the same run, bsdiff, "
              "xdelta3 -9 and zstd -19 --patch-from; per pair and in total: patch size as a "
              "share of the new image, diff MB/s, apply peak RSS. Flags: --corpus=DIR "
              "--pairs=SUBSTR --codecs=lzr,lzr1,zstd --finders=hash,sa --tools=bsdiff,xdelta3,zstd "
              "--window-log=N "
              "--lit-ctx-bits=N --delta-tool=PATH",
              run);

} // namespace
} // namespace otaledger::bench
