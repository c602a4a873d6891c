#include "storage/internal/file_blob_store.hpp"

#include "base/uuid.hpp"
#include "storage/internal/append_core.hpp"
#include "storage/record.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace otaledger::storage::internal {
namespace fs = std::filesystem;
namespace {

constexpr char meta_format = 1;
constexpr std::size_t meta_size = 1 + 8 + 32 + 16;
constexpr std::string_view tmp_prefix = "tmp-";

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(2 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 0xF];
  }
  return s;
}

std::error_code io_fail(std::string what) {
  return fail(errc::io_error, std::move(what) + ": " + std::strerror(errno));
}

bool fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool good = ::fsync(fd) == 0;
  ::close(fd);
  return good;
}

/// Only ids we generate (canonical lower-case UUID text) may reach the file
/// system; anything else ("../x", "/etc/passwd", "") is simply not a blob.
bool is_blob_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::error_code no_blob(std::string_view id) {
  return fail(errc::not_found, fmt::format("no blob {}", id));
}

class digest {
public:
  explicit digest(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    good_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, md, nullptr) == 1;
  }
  ~digest() { EVP_MD_CTX_free(ctx_); }
  digest(const digest&) = delete;
  digest& operator=(const digest&) = delete;
  bool update(std::string_view b) {
    return good_ = good_ && EVP_DigestUpdate(ctx_, b.data(), b.size()) == 1;
  }
  bool final(unsigned char* out, unsigned* n) {
    return good_ = good_ && EVP_DigestFinal_ex(ctx_, out, n) == 1;
  }
  bool good() const { return good_; }

private:
  EVP_MD_CTX* ctx_;
  bool good_;
};

class file_blob_writer final : public blob_writer {
public:
  file_blob_writer(std::shared_ptr<rocks> db, fs::path dir, std::uint64_t max)
      : db_(std::move(db)), dir_(std::move(dir)), max_(max), id_(base::uuid::random().to_string()),
        tmp_(dir_ / (std::string{tmp_prefix} + id_)), sha_(EVP_sha256()), md5_(EVP_md5()) {}
  ~file_blob_writer() override {
    if (!done_) abort();
  }

  result<void> start() {
    if (!sha_.good() || !md5_.good()) return fail(errc::io_error, "OpenSSL digest setup failed");
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) return io_fail(fmt::format("creating {}", tmp_.string()));
    return ok();
  }

  result<void> write(std::string_view chunk) override {
    if (done_) return fail(errc::invalid_argument, "the blob writer is finished or aborted");
    if (chunk.size() > max_ - size_) {
      abort();
      return fail(errc::too_large, fmt::format("the blob exceeds its limit of {} bytes", max_));
    }
    for (std::string_view left = chunk; !left.empty();) {
      auto n = ::write(fd_, left.data(), left.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        auto e = io_fail(fmt::format("writing blob {}", id_));
        abort();
        return e;
      }
      left.remove_prefix(static_cast<std::size_t>(n));
    }
    if (!sha_.update(chunk) || !md5_.update(chunk)) {
      abort();
      return fail(errc::io_error, "OpenSSL digest update failed");
    }
    size_ += chunk.size();
    return ok();
  }

  result<blob_info> finish() override {
    if (done_) return fail(errc::invalid_argument, "the blob writer is finished or aborted");
    unsigned char sha[EVP_MAX_MD_SIZE], md5[EVP_MAX_MD_SIZE];
    unsigned sha_n = 0, md5_n = 0;
    if (!sha_.final(sha, &sha_n) || !md5_.final(md5, &md5_n) || sha_n != 32 || md5_n != 16) {
      abort();
      return fail(errc::io_error, "OpenSSL digest final failed");
    }
    // Durable bytes, then an atomic rename, then a durable directory entry:
    // after a crash the final name exists only with complete contents.
    if (::fsync(fd_) != 0) {
      auto e = io_fail(fmt::format("syncing blob {}", id_));
      abort();
      return e;
    }
    ::close(fd_);
    fd_ = -1;
    const auto final_path = dir_ / id_;
    if (::rename(tmp_.c_str(), final_path.c_str()) != 0 || !fsync_dir(dir_)) {
      auto e = io_fail(fmt::format("publishing blob {}", id_));
      abort();
      ::unlink(final_path.c_str());
      return e;
    }
    std::string meta(meta_size, '\0');
    meta[0] = meta_format;
    put_be64(meta.data() + 1, size_);
    std::memcpy(meta.data() + 9, sha, 32);
    std::memcpy(meta.data() + 41, md5, 16);
    rocksdb::WriteOptions wo;
    wo.sync = db_->opts.sync;
    auto s = db_->db->Put(wo, (*db_)[cf_blobs_meta], id_, meta);
    done_ = true;
    if (!s.ok()) {
      auto e = to_error(s, fmt::format("recording the metadata of blob {}", id_));
      ::unlink(final_path.c_str());
      return e;
    }
    return blob_info{id_, size_, hex(sha, 32), hex(md5, 16)};
  }

  void abort() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!done_) ::unlink(tmp_.c_str());
    done_ = true;
  }

  std::uint64_t size() const override { return size_; }

private:
  std::shared_ptr<rocks> db_;
  fs::path dir_;
  std::uint64_t max_;
  std::string id_;
  fs::path tmp_;
  digest sha_, md5_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool done_ = false;
};

} // namespace

result<std::unique_ptr<file_blob_store>> file_blob_store::open(std::shared_ptr<rocks> db,
                                                               fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(errc::io_error,
                fmt::format("creating the blob directory {}: {}", dir.string(), ec.message()));
  // Leftovers of a crash: uploads that never finished, and files renamed
  // into place whose metadata write did not happen (or whose removal did
  // not finish).
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const auto name = it->path().filename().string();
    bool keep = false;
    if (is_blob_id(name)) {
      rocksdb::PinnableSlice v;
      auto s = db->db->Get(rocksdb::ReadOptions{}, (*db)[cf_blobs_meta], name, &v);
      if (!s.ok() && !s.IsNotFound()) return to_error(s, "checking blob metadata");
      keep = s.ok();
    } else if (name.rfind(tmp_prefix, 0) != 0) {
      keep = true; // not ours: leave it alone
    }
    if (!keep) ::unlink(it->path().c_str());
  }
  if (ec)
    return fail(errc::io_error,
                fmt::format("listing the blob directory {}: {}", dir.string(), ec.message()));
  return std::unique_ptr<file_blob_store>{new file_blob_store(std::move(db), std::move(dir))};
}

result<std::unique_ptr<blob_writer>> file_blob_store::begin(std::uint64_t max_size) {
  const auto limit = db_->opts.max_blob_bytes;
  if (max_size == 0) max_size = limit;
  if (max_size > limit)
    return fail(errc::too_large, fmt::format("a blob of up to {} bytes was asked for; the store's "
                                             "limit is {} bytes",
                                             max_size, limit));
  auto w = std::make_unique<file_blob_writer>(db_, dir_, max_size);
  OTA_TRYV(w->start());
  return std::unique_ptr<blob_writer>{std::move(w)};
}

result<blob_info> file_blob_store::stat(std::string_view id) {
  if (!is_blob_id(id)) return no_blob(id);
  rocksdb::PinnableSlice v;
  auto s = db_->db->Get(rocksdb::ReadOptions{}, (*db_)[cf_blobs_meta], id, &v);
  if (s.IsNotFound()) return no_blob(id);
  if (!s.ok()) return to_error(s, fmt::format("reading the metadata of blob {}", id));
  if (v.size() != meta_size || v.data()[0] != meta_format)
    return fail(errc::corruption, fmt::format("the metadata of blob {} is malformed", id));
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  return blob_info{std::string{id}, read_be64(v.data() + 1), hex(p + 9, 32), hex(p + 41, 16)};
}

result<std::string> file_blob_store::read(std::string_view id, std::uint64_t offset,
                                          std::size_t length) {
  OTA_TRY(info, stat(id));
  std::string out;
  if (offset >= info.size || length == 0) return out;
  length = static_cast<std::size_t>(std::min<std::uint64_t>(length, info.size - offset));
  const auto path = dir_ / info.id;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return no_blob(id); // removed meanwhile
    return io_fail(fmt::format("opening blob {}", id));
  }
  out.resize(length);
  std::size_t got = 0;
  while (got < length) {
    auto n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != length)
    return fail(errc::corruption,
                fmt::format("blob {} is shorter than its recorded {} bytes", id, info.size));
  return out;
}

result<void> file_blob_store::remove(std::string_view id) {
  OTA_TRY(info, stat(id));
  // Metadata first: a crash in between leaves a file without metadata, which
  // the next open removes; never metadata without a file.
  rocksdb::WriteOptions wo;
  wo.sync = db_->opts.sync;
  auto s = db_->db->Delete(wo, (*db_)[cf_blobs_meta], info.id);
  if (!s.ok()) return to_error(s, fmt::format("removing the metadata of blob {}", id));
  if (::unlink((dir_ / info.id).c_str()) != 0 && errno != ENOENT)
    return io_fail(fmt::format("removing blob {}", id));
  return ok();
}

} // namespace otaledger::storage::internal
