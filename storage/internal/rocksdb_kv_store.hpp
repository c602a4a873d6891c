// kv_store over the `views` column family: key = space NUL key, so a space is
// one contiguous, bytewise-ordered key range ("space\x01" bounds it).
// Checkpoints go to `checkpoints`, the same column family the event store uses.
#pragma once

#include "storage/internal/rocks.hpp"
#include "storage/kv_store.hpp"

namespace otaledger::storage::internal {

class rocksdb_kv_store final : public kv_store {
public:
  explicit rocksdb_kv_store(std::shared_ptr<rocks> db) : db_(std::move(db)) {}
  result<std::optional<std::string>> get(std::string_view space, std::string_view key) override;
  result<scan_page> scan(std::string_view space, const scan_range& range,
                         std::size_t limit) override;
  result<void> write(const write_batch& batch, write_mode mode) override;
  result<log_position> load_checkpoint(std::string_view name) override;
  result<void> ingest(std::string_view space, const std::vector<ingest_row>& rows) override;
  using kv_store::start_ingest;
  result<std::unique_ptr<ingest_writer>> start_ingest(std::string_view space,
                                                      ingest_kind kind) override;

private:
  std::shared_ptr<rocks> db_;
};

/// Checks a batch's names and keys (shared with the in-memory kv store).
result<void> validate(const write_batch& batch);
result<void> validate_space(std::string_view space);
/// Checks that an ingest's next key is non-empty and above the previous one.
result<std::size_t> check_ingest_key(std::string_view space, bool first, std::string_view previous,
                                     std::string_view key);

} // namespace otaledger::storage::internal
