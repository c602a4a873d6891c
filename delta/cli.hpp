// Command-line entry points of the delta tools, as functions so that the
// `otaledger` binary and the small `otaledger-delta` tool share them.
//
//   otaledger diff  [options] OLD NEW DELTA   make a delta, verify it, print the verdict
//   otaledger patch [options] OLD DELTA OUT   apply a delta (refuses a wrong OLD)
//   otaledger delta-info DELTA                print a delta's header
//
// argv[0] is the command's own name ("diff", "patch", "delta-info"); the
// arguments follow. Output goes to stdout, errors to stderr. Exit codes: 0 ok,
// 1 the operation failed (file missing, wrong old image, corrupt delta...),
// 2 bad usage.
#pragma once

namespace otaledger::delta {

int diff_main(int argc, char** argv);
int patch_main(int argc, char** argv);
int info_main(int argc, char** argv);

} // namespace otaledger::delta
