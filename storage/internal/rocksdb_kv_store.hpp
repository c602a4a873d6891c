#pragma once

#include "storage/internal/rocks.hpp"
#include "storage/kv_store.hpp"

namespace otaledger::storage::internal {

class rocksdb_kv_store final : public kv_store {
public:
  explicit rocksdb_kv_store(std::shared_ptr<rocks> db) : db_(std::move(db)) {}
  result<std::optional<std::string>> get(std::string_view space, std::string_view key) override;
  result<std::vector<std::pair<std::string, std::string>>> scan(std::string_view space,
                                                                std::string_view prefix,
                                                                std::string_view after,
                                                                std::size_t limit) override;
  result<void> commit(const kv_batch& batch, bool sync) override;

private:
  std::shared_ptr<rocks> db_;
};

} // namespace otaledger::storage::internal
