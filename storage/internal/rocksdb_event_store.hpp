// The RocksDB event store (storage/event_store.hpp has the contract,
// docs/storage.md the layout and the group commit).
//
// Threads: one writer thread per store owns every write to the log, the
// stream heads, the stream index and the command ids; it takes all queued
// appends, checks them in order against its in-memory stream heads, writes the
// accepted ones in one WriteBatch (synced in durable mode) and only then
// publishes the new head to readers and subscriptions. Readers go straight to
// RocksDB, bounded by the published head. Each subscription has its own thread.
#pragma once

#include "storage/event_store.hpp"
#include "storage/internal/rocks.hpp"

#include <memory>

namespace otaledger::storage::internal {

/// The published end of the log, shared by the store and its subscriptions
/// (which may outlive the store).
class log_state;
class append_writer;

class rocksdb_event_store final : public event_store {
public:
  /// Recovers the head position from the last key of `log` (no scan) and
  /// starts the writer thread.
  static result<std::unique_ptr<rocksdb_event_store>> open(std::shared_ptr<rocks> db);
  /// Drains the write queue (every queued append completes), stops the
  /// writer and ends subscriptions' delivery.
  ~rocksdb_event_store() override;

  result<append_result> append(append_request req) override;
  void append_async(append_request req, append_callback done) override;
  result<std::vector<events::envelope>> read_stream(std::string_view stream, stream_version from,
                                                    std::size_t max) override;
  result<std::vector<events::envelope>> read_all(log_position from, std::size_t max) override;
  result<void> read_page(log_position from, std::size_t max, log_page& page) override;
  std::unique_ptr<log_reader> read_forward(log_position from, log_position until) override;
  log_position head() const override;
  result<stream_version> stream_head(std::string_view stream) override;
  result<std::optional<append_result>> find_command(std::string_view command_id) override;
  std::unique_ptr<subscription> subscribe(log_position after,
                                          subscription_handler handler) override;
  result<void> save_snapshot(std::string_view stream, const snapshot& s) override;
  result<std::optional<snapshot>> load_snapshot(std::string_view stream) override;
  result<void> save_checkpoint(std::string_view name, log_position p) override;
  result<log_position> load_checkpoint(std::string_view name) override;

private:
  rocksdb_event_store(std::shared_ptr<rocks> db, std::uint64_t head);

  std::shared_ptr<rocks> db_;
  std::shared_ptr<log_state> log_;
  std::unique_ptr<append_writer> writer_;
};

} // namespace otaledger::storage::internal
