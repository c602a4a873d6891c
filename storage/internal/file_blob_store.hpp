#pragma once

#include "storage/blob_store.hpp"
#include "storage/internal/rocks.hpp"

namespace otaledger::storage::internal {

class file_blob_store final : public blob_store {
public:
  file_blob_store(std::shared_ptr<rocks> db, std::string dir);
  result<std::unique_ptr<blob_writer>> begin(std::uint64_t max_size) override;
  result<blob_info> stat(std::string_view id) override;
  result<std::string> read(std::string_view id, std::uint64_t offset, std::size_t length) override;
  result<void> remove(std::string_view id) override;

private:
  std::shared_ptr<rocks> db_;
  std::string dir_;
};

} // namespace otaledger::storage::internal
