// A fresh RocksDB store in a temporary directory, removed afterwards.
#pragma once

#include "storage/open.hpp"

#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>

namespace otaledger::testing {

inline std::string temp_dir(const std::string& tag) {
  static std::mt19937_64 rng{std::random_device{}()};
  auto p = std::filesystem::temp_directory_path() /
           ("otaledger-" + tag + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(rng() % 1000000));
  std::filesystem::remove_all(p);
  return p.string();
}

inline storage::new_event make_event(std::string type = "test.happened",
                                     std::string data = "payload") {
  storage::new_event e;
  e.type = std::move(type);
  e.data = std::move(data);
  e.meta.principal = "operator:test";
  return e;
}

inline storage::append_request make_append(std::string stream, storage::expected_version x,
                                           std::size_t n = 1, std::string command = {}) {
  storage::append_request r;
  r.stream = std::move(stream);
  r.expected = x;
  for (std::size_t i = 0; i < n; ++i)
    r.events.push_back(make_event());
  r.command_id = std::move(command);
  for (auto& e : r.events)
    e.meta.command = r.command_id;
  return r;
}

struct store_fixture {
  std::string dir = temp_dir("store");
  storage::options opts;
  storage::database db;

  store_fixture() {
    opts.path = dir;
    open();
  }
  ~store_fixture() {
    db = {};
    std::filesystem::remove_all(dir);
  }
  void open() {
    auto r = storage::open_database(opts);
    if (!r) throw std::runtime_error("cannot open store: " + storage::error_detail());
    db = std::move(r).value();
  }
  void reopen() {
    db = {};
    open();
  }
  storage::event_store& store() { return *db.events; }
};

} // namespace otaledger::testing
