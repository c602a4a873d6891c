#include "cli/commands.hpp"
#include "delta/cli.hpp"
#include "kafka/cli.hpp"
#include "sim/fleet.hpp"

namespace otaledger::cli {

int client_main(int argc, char** argv); // cli/client.cpp: the operators' HTTP client

const std::vector<subcommand>& subcommands() {
  static const std::vector<subcommand> all = {
      {"serve", "run the server on a data directory", serve_main},
      {"diff", "make a delta package: otaledger diff OLD NEW DELTA", delta::diff_main},
      {"patch", "apply a delta package: otaledger patch OLD DELTA OUT", delta::patch_main},
      {"consume", "read otaledger's events from a Kafka topic", kafka::consume_main},
      {"replay", "an aggregate's state and timeline, now or as of a time/position", replay_main},
      {"audit", "the audit trail of a stream or a correlation id (JSON Lines)", audit_main},
      {"rebuild", "rebuild views from the log; --verify proves live == rebuilt", rebuild_main},
      {"export", "the log, or one stream, as JSON Lines", export_main},
      {"verify", "check the whole log: CRCs, dense positions and versions", verify_main},
      {"token", "create an API token: otaledger token create --name N --role R", token_main},
      {"product", "client: products (create, get, edit) on --server", client_main},
      {"device", "client: devices (register, list, search, get, edit)", client_main},
      {"group", "client: groups (create, edit, delete, members, add, add-matching, remove)",
       client_main},
      {"firmware", "client: firmware (create, list, upload, verify, confirm, delete)", client_main},
      {"package", "client: packages (create, upload, generate an online delta, delete)",
       client_main},
      {"task", "client: tasks (create, start, pause, resume, cancel, devices, export)",
       client_main},
      {"server", "client: audit trails, replay as of, health", client_main},
      {"simulate", "a fleet of simulated devices (HTTP/MQTT) against a running server",
       sim::simulate_main},
  };
  return all;
}

} // namespace otaledger::cli
