// Workload `delta`: the differ and both appliers on consecutive real firmware
// releases (MCU images and Linux binaries), against the baselines a delta has
// to beat: the new image compressed whole with zstd -19, and zstd's own
// --patch-from mode (old image as prefix, long-distance matching).
//
// The corpus is downloaded by bench/corpus/fetch_delta_corpus.sh into
// <repo>/.cache/delta-corpus (or --corpus=DIR, or $OTALEDGER_DELTA_CORPUS);
// its manifest.tsv lists the pairs. Without it the workload prints one JSON
// line saying so and skips. Flags: --corpus=DIR, --pairs=SUBSTRING (filter),
// --window-log=N (lzr window, default 13), --lit-ctx-bits=N (default 3),
// --codecs=lzr,zstd (default both).
#include "bench/bench.hpp"
#include "delta/delta.hpp"

#include <zstd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
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

fs::path default_corpus() {
  if (const char* env = std::getenv("OTALEDGER_DELTA_CORPUS")) return env;
  // This file is <repo>/bench/delta_bench.cpp.
  return fs::path(__FILE__).parent_path().parent_path() / ".cache" / "delta-corpus";
}

// zstd --patch-from equivalent: the old image as a raw prefix, window covering
// the new image, long-distance matching, level 19.
std::uint64_t zstd_patch_from_size(const std::string& old_image, const std::string& new_image) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  const auto span = std::max<std::size_t>(old_image.size(), new_image.size());
  int wlog = 10;
  while ((std::size_t{1} << wlog) < span && wlog < 27)
    ++wlog;
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog + 1 > 27 ? 27 : wlog + 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
  ZSTD_CCtx_refPrefix(c, old_image.data(), old_image.size());
  std::string out(ZSTD_compressBound(new_image.size()), '\0');
  const std::size_t n =
      ZSTD_compress2(c, out.data(), out.size(), new_image.data(), new_image.size());
  ZSTD_freeCCtx(c);
  return ZSTD_isError(n) ? 0 : n;
}

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
  const std::string codecs = a.get("codecs", "lzr,zstd");
  const int window_log = std::stoi(a.get("window-log", "13"));
  const int lit_ctx_bits = std::stoi(a.get("lit-ctx-bits", "3"));

  double log_ratio_sum = 0;
  int pairs = 0, not_worthwhile = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, kind, old_rel, new_rel;
    if (!std::getline(fields, name, '\t') || !std::getline(fields, kind, '\t') ||
        !std::getline(fields, old_rel, '\t') || !std::getline(fields, new_rel, '\t'))
      continue;
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    std::string old_image, new_image;
    if (!read_file(corpus / old_rel, old_image) || !read_file(corpus / new_rel, new_image)) {
      emit("delta",
           {{"pair", name}, {"skipped", true}, {"reason", "cannot read the pair's files"}});
      continue;
    }
    const auto old_b = delta::as_bytes(old_image), new_b = delta::as_bytes(new_image);
    auto t0 = clock::now();
    const auto full = delta::compressed_full_size(new_b, 19);
    const double full_s = seconds_since(t0);
    t0 = clock::now();
    const std::uint64_t patch_from = zstd_patch_from_size(old_image, new_image);
    const double patch_from_s = seconds_since(t0);

    for (const std::string codec_name : {"lzr", "zstd"}) {
      if (codecs.find(codec_name) == std::string::npos) continue;
      delta::diff_options o;
      o.codec = codec_name == "lzr" ? delta::codec::lzr : delta::codec::zstd;
      o.window_log = static_cast<std::uint8_t>(window_log);
      o.lit_ctx_bits = static_cast<std::uint8_t>(lit_ctx_bits);
      t0 = clock::now();
      auto d = delta::make_delta(old_b, new_b, o);
      const double diff_s = seconds_since(t0);
      if (!d) {
        emit("delta", {{"pair", name}, {"error", d.error().message()}});
        continue;
      }
      const auto db = delta::as_bytes(d.value());
      t0 = clock::now();
      auto back = delta::apply_delta(old_b, db);
      const double patch_s = seconds_since(t0);
      double patch_mcu_s = -1;
      bool mcu_ok = true;
      std::uint64_t work = 0;
      if (o.codec == delta::codec::lzr) {
        t0 = clock::now();
        auto mcu = delta::apply_delta_mcu(old_b, db);
        patch_mcu_s = seconds_since(t0);
        mcu_ok = mcu && mcu.value() == new_image;
        work = delta::inspect_delta(db).value().device_work_size;
      }
      const bool ok = back && back.value() == new_image && mcu_ok;
      const std::uint64_t full_size = full ? full.value() : 0;
      const auto v = delta::worthwhile(d.value().size(), full_size);
      nlohmann::json j = {
          {"pair", name},
          {"kind", kind},
          {"codec", codec_name},
          {"window_log", o.codec == delta::codec::lzr ? window_log : 0},
          {"lit_ctx_bits", o.codec == delta::codec::lzr ? lit_ctx_bits : 0},
          {"ops_per_s", diff_s > 0 ? static_cast<double>(new_image.size()) / diff_s : 0.0},
          {"unit", "new-image bytes diffed per second"},
          {"old_bytes", old_image.size()},
          {"new_bytes", new_image.size()},
          {"delta_bytes", d.value().size()},
          {"zstd19_full_bytes", full_size},
          {"ratio_delta_to_compressed_full", v.ratio},
          {"delta_pct_of_new", 100.0 * static_cast<double>(d.value().size()) /
                                   static_cast<double>(std::max<std::size_t>(1, new_image.size()))},
          {"zstd19_patch_from_bytes", patch_from},
          {"worthwhile", v.worthwhile},
          {"diff_s", diff_s},
          {"patch_s", patch_s},
          {"patch_mcu_s", patch_mcu_s},
          {"device_work_bytes", work},
          {"zstd19_full_s", full_s},
          {"zstd19_patch_from_s", patch_from_s},
          {"verified", ok},
          {"peak_rss_bytes", peak_rss_bytes()},
      };
      emit("delta", j);
      if (o.codec == delta::codec::lzr) {
        ++pairs;
        if (!v.worthwhile) ++not_worthwhile;
        log_ratio_sum += std::log(std::max(v.ratio, 1e-9));
      }
    }
  }
  if (pairs > 0)
    emit("delta", {{"summary", true},
                   {"pairs", pairs},
                   {"geomean_ratio_delta_to_compressed_full_lzr", std::exp(log_ratio_sum / pairs)},
                   {"not_worthwhile", not_worthwhile},
                   {"peak_rss_bytes", peak_rss_bytes()}});
}

registrar reg("delta",
              "diff + patch consecutive real firmware releases (bench/corpus/"
              "fetch_delta_corpus.sh); per pair: sizes, delta vs zstd -19 full image and vs "
              "zstd --patch-from, diff/patch seconds, peak RSS. Flags: --corpus=DIR "
              "--pairs=SUBSTR --codecs=lzr,zstd --window-log=N --lit-ctx-bits=N",
              run);

} // namespace
} // namespace otaledger::bench
