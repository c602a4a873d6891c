// `otaledger consume`: prints the events of the Kafka topic the relay
// publishes, one JSON envelope per line (the same JSON as the record values,
// docs/kafka.md), deduplicated. The cli/ folder wires it into the otaledger
// binary as the `consume` subcommand.
//
//   otaledger consume --brokers HOST:PORT[,...] [--topic NAME] [--from-beginning]
//                     [--max N] [--output jsonl|pretty] [--group ID] [--exit-at-end]
//                     [--no-dedupe] [-X PROPERTY=VALUE]...
//   otaledger consume --brokers HOST:PORT[,...] [--topic NAME] --views DIR
//                     [--exit-at-end] [--stats] [-X PROPERTY=VALUE]...
//
// --views DIR builds the server's views in DIR from the topic alone
// (kafka/views.hpp) and prints one JSON line per view with its digest.
//
// Exit status: 0 when it stopped as asked (--max reached, end reached with
// --exit-at-end, SIGINT or SIGTERM), 1 on an error (a position missing from
// the topic with --views), 2 on a usage error.
#pragma once

namespace otaledger::kafka {

/// Runs `consume` with argv[0] = the subcommand's name; prints --help.
int consume_main(int argc, char** argv);

} // namespace otaledger::kafka
