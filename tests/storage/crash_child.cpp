// storage_crash_child DIR ROUND: the process the crash test kills.
//
// Opens the durable store at DIR and appends from four threads until it is
// killed. Each thread owns four streams and appends with exact expected
// versions (recovered with stream_head, so a reopen's stream heads are
// exercised too). Each command carries 1-4 events and an id that says how
// many ("r<round>-t<thread>-<i>-n<count>"). After append() returns, the child
// writes "<first> <last> <command>\n" to stdout: every line the parent reads
// is an acknowledged append. Exit codes other than death by signal are
// failures: 2 usage, 3 open, 4 append.
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace otaledger;
using namespace otaledger::storage;

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  options o;
  o.path = argv[1];
  const std::string round = argv[2];
  auto db = open_event_store(o);
  if (!db) {
    std::fprintf(stderr, "crash child: open: %s\n", error_detail().c_str());
    return 3;
  }
  auto& store = *db.value();
  std::mutex out_mtx;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<std::string> streams;
      std::vector<std::uint64_t> versions;
      for (int k = 0; k < 4; ++k) {
        streams.push_back("t" + std::to_string(t) + "-s" + std::to_string(k));
        auto h = store.stream_head(streams.back());
        if (!h) std::_Exit(4);
        versions.push_back(h.value()());
      }
      for (std::uint64_t i = 0;; ++i) {
        const auto k = i % streams.size();
        const auto n = 1 + (i * 7 + static_cast<std::uint64_t>(t)) % 4;
        append_request req;
        req.stream = streams[k];
        req.expected = expected_version::at(stream_version{versions[k]});
        req.command_id = "r" + round + "-t" + std::to_string(t) + "-" + std::to_string(i) + "-n" +
                         std::to_string(n);
        for (std::uint64_t e = 0; e < n; ++e) {
          new_event ev;
          ev.type = "crash.test";
          ev.meta.command = req.command_id;
          ev.data = std::string(100 + e * 50, static_cast<char>('a' + e));
          req.events.push_back(std::move(ev));
        }
        auto r = store.append(std::move(req));
        if (!r || r.value().duplicate) {
          std::fprintf(stderr, "crash child: append: %s\n", error_detail().c_str());
          std::_Exit(4);
        }
        versions[k] = r.value().version();
        auto line = std::to_string(r.value().first()) + " " + std::to_string(r.value().last()) +
                    " r" + round + "-t" + std::to_string(t) + "-" + std::to_string(i) + "-n" +
                    std::to_string(n) + "\n";
        std::lock_guard lock{out_mtx};
        if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
          std::_Exit(0); // the parent stopped listening
      }
    });
  for (auto& t : threads)
    t.join();
  return 0;
}
