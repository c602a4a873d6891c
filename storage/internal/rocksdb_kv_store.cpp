#include "storage/internal/rocksdb_kv_store.hpp"

#include "storage/internal/record.hpp"

#include <rocksdb/write_batch.h>

namespace otaledger::storage::internal {
namespace {

std::string view_key(std::string_view space, std::string_view key) {
  std::string k{space};
  k.push_back('\0');
  k.append(key);
  return k;
}

} // namespace

result<std::optional<std::string>> rocksdb_kv_store::get(std::string_view space,
                                                         std::string_view key) {
  std::string value;
  auto s = db_->db->Get(rocksdb::ReadOptions{}, db_->cf[cf_views], view_key(space, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return to_error(s, "reading a view");
  return std::optional<std::string>{std::move(value)};
}

result<std::vector<std::pair<std::string, std::string>>>
rocksdb_kv_store::scan(std::string_view space, std::string_view prefix, std::string_view after,
                       std::size_t limit) {
  std::vector<std::pair<std::string, std::string>> out;
  auto base = view_key(space, prefix);
  // Upper bound: the prefix with its last byte incremented (past every key
  // that starts with it); an all-0xFF prefix is bounded by the space's end.
  std::string upper_key = base;
  while (!upper_key.empty() && static_cast<unsigned char>(upper_key.back()) == 0xFF)
    upper_key.pop_back();
  if (upper_key.size() <= space.size()) {
    upper_key = std::string{space};
    upper_key.push_back('\x01');
  } else {
    upper_key.back() = static_cast<char>(static_cast<unsigned char>(upper_key.back()) + 1);
  }
  rocksdb::Slice upper{upper_key};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator(ro, db_->cf[cf_views])};
  std::string start = after.empty() ? base : view_key(space, after);
  it->Seek(start);
  if (!after.empty() && it->Valid() && it->key().ToStringView() == start) it->Next();
  for (; it->Valid() && out.size() < limit; it->Next()) {
    auto k = it->key().ToStringView();
    out.emplace_back(std::string{k.substr(space.size() + 1)},
                     std::string{it->value().ToStringView()});
  }
  if (!it->status().ok()) return to_error(it->status(), "scanning a view");
  return out;
}

result<void> rocksdb_kv_store::commit(const kv_batch& batch, bool sync) {
  rocksdb::WriteBatch wb;
  for (auto& op : batch.ops()) {
    switch (op.kind) {
    case kv_batch::op_kind::put:
      wb.Put(db_->cf[cf_views], view_key(op.space, op.key), op.value);
      break;
    case kv_batch::op_kind::erase:
      wb.Delete(db_->cf[cf_views], view_key(op.space, op.key));
      break;
    case kv_batch::op_kind::erase_space: {
      std::string from{op.space};
      from.push_back('\0');
      std::string to{op.space};
      to.push_back('\x01');
      wb.DeleteRange(db_->cf[cf_views], from, to);
      break;
    }
    case kv_batch::op_kind::checkpoint:
      wb.Put(db_->cf[cf_checkpoints], op.space, be64(std::stoull(op.value)));
      break;
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync && db_->sync;
  auto s = db_->db->Write(wo, &wb);
  if (!s.ok()) return to_error(s, "writing a view batch");
  return ok();
}

} // namespace otaledger::storage::internal
