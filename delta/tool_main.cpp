// otaledger-delta: a small stand-alone tool around delta/cli.hpp, for device
// integrators and tests (the `otaledger` binary exposes the same commands).
#include "delta/cli.hpp"

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  const char* usage =
      "usage: otaledger-delta diff|patch|info [options] ARGS... (--help per command)\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "-h") == 0 || std::strcmp(cmd, "--help") == 0) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (std::strcmp(cmd, "diff") == 0) return otaledger::delta::diff_main(argc - 1, argv + 1);
  if (std::strcmp(cmd, "patch") == 0) return otaledger::delta::patch_main(argc - 1, argv + 1);
  if (std::strcmp(cmd, "info") == 0) return otaledger::delta::info_main(argc - 1, argv + 1);
  std::fprintf(stderr, "otaledger-delta: unknown command '%s'\n%s", cmd, usage);
  return 2;
}
