// projections_crash_child DIR: the process the projector crash test kills.
//
// Opens the data directory DIR (filled by the test), runs every view's
// projector from its checkpoint to the head in small pages (200 events) and
// batches (600 events per commit), and after every page prints the last
// position it folded ("<position>\n"), so the parent can SIGKILL it in the
// middle of a batch. Exit codes: 0 done, 2 usage, 3 open, 4 projector error.
#include "projections/projector.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <cstdio>

using namespace otaledger;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  storage::options o;
  o.path = argv[1];
  o.sync = false;
  auto db = storage::open_database(o);
  if (!db) {
    std::fprintf(stderr, "crash child: open: %s\n", storage::error_detail().c_str());
    return 3;
  }
  projections::projector_options po;
  po.read_page = 200;
  po.batch_events = 600;
  projections::projector p{*db.value().events, *db.value().views, projections::make_all_views(),
                           po};
  if (!p.open()) return 4;
  auto r = p.catch_up({}, [&](std::uint64_t done, std::uint64_t) {
    std::printf("%llu\n", static_cast<unsigned long long>(done));
    std::fflush(stdout);
  });
  if (!r) {
    std::fprintf(stderr, "crash child: %s\n", projections::error_detail().c_str());
    return 4;
  }
  return 0;
}
