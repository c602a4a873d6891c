#pragma once

#include "storage/event_store.hpp"
#include "storage/internal/rocks.hpp"
#include "storage/options.hpp"

namespace otaledger::storage::internal {

class rocksdb_event_store final : public event_store {
public:
  rocksdb_event_store(std::shared_ptr<rocks> db, const options& opts);
  ~rocksdb_event_store() override;

  result<append_result> append(append_request req) override;
  void append_async(append_request req, append_callback done) override;
  result<std::vector<events::envelope>> read_stream(std::string_view stream, stream_version from,
                                                    std::size_t max) override;
  result<std::vector<events::envelope>> read_all(log_position from, std::size_t max) override;
  log_position head() const override;
  result<stream_version> stream_head(std::string_view stream) override;
  std::unique_ptr<subscription> subscribe(log_position after,
                                          subscription_handler handler) override;
  result<void> save_snapshot(std::string_view stream, const snapshot& s) override;
  result<std::optional<snapshot>> load_snapshot(std::string_view stream) override;
  result<void> save_checkpoint(std::string_view name, log_position p) override;
  result<log_position> load_checkpoint(std::string_view name) override;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace otaledger::storage::internal
