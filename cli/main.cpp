// otaledger: the one binary. `otaledger SUBCOMMAND [args]`; main only dispatches.
#include "cli/commands.hpp"

#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  using otaledger::cli::subcommands;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::cout << "usage: otaledger SUBCOMMAND [ARGS...]\n\nsubcommands:\n";
    for (auto& s : subcommands())
      std::cout << "  " << s.name << std::string(12 - std::min<std::size_t>(s.name.size(), 11), ' ')
                << s.summary << "\n";
    std::cout << "\n`otaledger SUBCOMMAND --help` describes each one.\n";
    return argc < 2 ? 2 : 0;
  }
  for (auto& s : subcommands())
    if (s.name == argv[1]) return s.run(argc - 1, argv + 1);
  std::cerr << "otaledger: unknown subcommand '" << argv[1] << "' (see otaledger --help)\n";
  return 2;
}
