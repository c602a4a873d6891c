// blob_store over files in <path>/blobs/<uuid> plus metadata in `blobs_meta`
// (docs/storage.md, "Blobs").
#pragma once

#include "storage/blob_store.hpp"
#include "storage/internal/rocks.hpp"

#include <filesystem>

namespace otaledger::storage::internal {

class file_blob_store final : public blob_store {
public:
  /// Creates the directory if needed and removes what a crash left behind:
  /// temporary files and files without metadata.
  static result<std::unique_ptr<file_blob_store>> open(std::shared_ptr<rocks> db,
                                                       std::filesystem::path dir);

  result<std::unique_ptr<blob_writer>> begin(std::uint64_t max_size) override;
  result<blob_info> stat(std::string_view id) override;
  result<std::string> read(std::string_view id, std::uint64_t offset, std::size_t length) override;
  result<void> remove(std::string_view id) override;

private:
  file_blob_store(std::shared_ptr<rocks> db, std::filesystem::path dir)
      : db_(std::move(db)), dir_(std::move(dir)) {}

  std::shared_ptr<rocks> db_;
  std::filesystem::path dir_;
};

} // namespace otaledger::storage::internal
