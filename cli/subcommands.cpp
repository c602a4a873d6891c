#include "cli/commands.hpp"
#include "delta/cli.hpp"
#include "kafka/cli.hpp"

namespace otaledger::cli {

const std::vector<subcommand>& subcommands() {
  static const std::vector<subcommand> all = {
      {"serve", "run the server on a data directory", serve_main},
      {"diff", "make a delta package: otaledger diff OLD NEW DELTA", delta::diff_main},
      {"patch", "apply a delta package: otaledger patch OLD DELTA OUT", delta::patch_main},
      {"consume", "read otaledger's events from a Kafka topic", kafka::consume_main},
  };
  return all;
}

} // namespace otaledger::cli
