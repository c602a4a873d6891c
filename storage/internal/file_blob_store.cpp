#include "storage/internal/file_blob_store.hpp"

#include "base/uuid.hpp"
#include "storage/internal/record.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>

namespace otaledger::storage::internal {
namespace fs = std::filesystem;
namespace {

std::string hex(const unsigned char* p, unsigned n) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 0xF]);
  }
  return s;
}

std::error_code io_fail(std::string what) {
  set_error_detail(std::move(what));
  return make_error_code(errc::io_error);
}

bool fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// A blob id is a UUID we generated: anything else is refused before it can
// reach the file system.
bool valid_id(std::string_view id) {
  return base::uuid::parse(id).has_value();
}

std::string encode_info(const blob_info& b) {
  return be64(b.size) + b.sha256 + b.md5;
}

blob_info decode_info(std::string_view id, std::string_view v) {
  blob_info b;
  b.id = std::string{id};
  if (v.size() == 8 + 64 + 32) {
    b.size = read_be64(v.substr(0, 8));
    b.sha256 = std::string{v.substr(8, 64)};
    b.md5 = std::string{v.substr(72, 32)};
  }
  return b;
}

class file_blob_writer final : public blob_writer {
public:
  file_blob_writer(std::shared_ptr<rocks> db, fs::path dir, std::uint64_t max)
      : db_(std::move(db)), dir_(std::move(dir)), max_(max) {
    id_ = base::uuid::random().to_string();
    tmp_ = dir_ / ("tmp-" + id_);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    sha_ = EVP_MD_CTX_new();
    md5_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
    EVP_DigestInit_ex(md5_, EVP_md5(), nullptr);
  }
  ~file_blob_writer() override {
    if (!done_) abort();
    EVP_MD_CTX_free(sha_);
    EVP_MD_CTX_free(md5_);
  }

  bool opened() const { return fd_ >= 0; }

  result<void> write(std::string_view chunk) override {
    if (done_ || fd_ < 0) return io_fail("the blob writer is closed");
    if (size_ + chunk.size() > max_) {
      abort();
      set_error_detail(fmt::format("the blob exceeds its limit of {} bytes", max_));
      return make_error_code(errc::too_large);
    }
    const char* p = chunk.data();
    std::size_t left = chunk.size();
    while (left > 0) {
      auto n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        auto e = io_fail(fmt::format("writing blob {}: {}", id_, std::strerror(errno)));
        abort();
        return e;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    EVP_DigestUpdate(sha_, chunk.data(), chunk.size());
    EVP_DigestUpdate(md5_, chunk.data(), chunk.size());
    size_ += chunk.size();
    return ok();
  }

  result<blob_info> finish() override {
    if (done_ || fd_ < 0) return io_fail("the blob writer is closed");
    if (::fsync(fd_) != 0) {
      auto e = io_fail(fmt::format("syncing blob {}: {}", id_, std::strerror(errno)));
      abort();
      return e;
    }
    ::close(fd_);
    fd_ = -1;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    blob_info info;
    info.id = id_;
    info.size = size_;
    EVP_DigestFinal_ex(sha_, d, &n);
    info.sha256 = hex(d, n);
    EVP_DigestFinal_ex(md5_, d, &n);
    info.md5 = hex(d, n);
    std::error_code ec;
    fs::rename(tmp_, dir_ / id_, ec);
    if (ec || !fsync_dir(dir_)) {
      auto e = io_fail(fmt::format("publishing blob {}: {}", id_, ec.message()));
      abort();
      return e;
    }
    rocksdb::WriteOptions wo;
    wo.sync = db_->sync;
    auto s = db_->db->Put(wo, db_->cf[cf_blobs], id_, encode_info(info));
    if (!s.ok()) {
      fs::remove(dir_ / id_, ec);
      done_ = true;
      return to_error(s, "recording blob metadata");
    }
    done_ = true;
    return info;
  }

  void abort() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    fs::remove(tmp_, ec);
    done_ = true;
  }

private:
  std::shared_ptr<rocks> db_;
  fs::path dir_;
  std::uint64_t max_;
  std::string id_;
  fs::path tmp_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool done_ = false;
  EVP_MD_CTX* sha_;
  EVP_MD_CTX* md5_;
};

} // namespace

file_blob_store::file_blob_store(std::shared_ptr<rocks> db, std::string dir)
    : db_(std::move(db)), dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  // Leftovers of writers that never finished (a crash mid-upload).
  for (auto& entry : fs::directory_iterator(dir_, ec))
    if (entry.path().filename().string().rfind("tmp-", 0) == 0) fs::remove(entry.path(), ec);
}

result<std::unique_ptr<blob_writer>> file_blob_store::begin(std::uint64_t max_size) {
  auto w = std::make_unique<file_blob_writer>(db_, dir_, max_size);
  if (!w->opened()) return io_fail(fmt::format("cannot create a blob in {}", dir_));
  return std::unique_ptr<blob_writer>{std::move(w)};
}

result<blob_info> file_blob_store::stat(std::string_view id) {
  if (!valid_id(id)) {
    set_error_detail(fmt::format("'{}' is not a blob id", id));
    return make_error_code(errc::not_found);
  }
  std::string v;
  auto s = db_->db->Get(rocksdb::ReadOptions{}, db_->cf[cf_blobs], id, &v);
  if (s.IsNotFound()) {
    set_error_detail(fmt::format("no blob {}", id));
    return make_error_code(errc::not_found);
  }
  if (!s.ok()) return to_error(s, "reading blob metadata");
  return decode_info(id, v);
}

result<std::string> file_blob_store::read(std::string_view id, std::uint64_t offset,
                                          std::size_t length) {
  OTA_TRY(info, stat(id));
  std::string out;
  if (offset >= info.size) return out;
  length = static_cast<std::size_t>(std::min<std::uint64_t>(length, info.size - offset));
  int fd = ::open((fs::path(dir_) / std::string{id}).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_fail(fmt::format("blob {} is recorded but its file is missing", id));
  out.resize(length);
  std::size_t got = 0;
  while (got < length) {
    auto n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != length) return io_fail(fmt::format("blob {} is shorter than recorded", id));
  return out;
}

result<void> file_blob_store::remove(std::string_view id) {
  OTA_TRY(info, stat(id));
  rocksdb::WriteOptions wo;
  wo.sync = db_->sync;
  auto s = db_->db->Delete(wo, db_->cf[cf_blobs], info.id);
  if (!s.ok()) return to_error(s, "removing blob metadata");
  std::error_code ec;
  fs::remove(fs::path(dir_) / info.id, ec);
  return ok();
}

} // namespace otaledger::storage::internal
