#include "bench/raw_log_baseline.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace otaledger::bench {

raw_log_result raw_put_synced_batched(storage::event_store& store, log_position from,
                                      log_position to, const std::string& dir) {
  using clock_type = std::chrono::steady_clock;
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, dir, &raw);
  if (!st.ok()) throw std::runtime_error("raw RocksDB: " + st.ToString());
  std::unique_ptr<rocksdb::DB> db{raw};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  double seconds = 0;
  std::uint64_t count = 0;
  for (auto p = from; p <= to;) {
    auto page = store.read_all(p, 4096).value();
    if (page.empty()) break;
    auto t = clock_type::now();
    rocksdb::WriteBatch batch;
    std::size_t in_batch = 0;
    for (const auto& e : page) {
      if (e.position > to) break;
      char key[8];
      for (int i = 0; i < 8; ++i)
        key[i] = static_cast<char>(e.position() >> (56 - 8 * i));
      batch.Put(rocksdb::Slice{key, 8}, e.data);
      ++count;
      if (++in_batch == 1000) {
        db->Write(wo, &batch);
        batch.Clear();
        in_batch = 0;
      }
    }
    if (in_batch) db->Write(wo, &batch);
    seconds += std::chrono::duration<double>(clock_type::now() - t).count();
    p = log_position{page.back().position() + 1};
  }
  return {seconds > 0 ? count / seconds : 0, count};
}

} // namespace otaledger::bench
