// The otaledger binary's subcommands. Each is `int NAME_main(int argc, char** argv)`
// with argv[0] = the subcommand's name; each prints its own --help.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

namespace otaledger::cli {

struct subcommand {
  std::string_view name;
  std::string_view summary;
  std::function<int(int, char**)> run;
};

/// Every subcommand, in the order `otaledger --help` lists them.
const std::vector<subcommand>& subcommands();

int serve_main(int argc, char** argv);
int replay_main(int argc, char** argv);
int audit_main(int argc, char** argv);
int rebuild_main(int argc, char** argv);
int export_main(int argc, char** argv);
int verify_main(int argc, char** argv);
int token_main(int argc, char** argv);

} // namespace otaledger::cli
