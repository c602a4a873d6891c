// The in-memory kv_store (storage/kv_store.hpp, make_memory_kv_store): one
// ordered map keyed like the `views` column family (space NUL key), so scans
// behave exactly as they do on RocksDB.
#include "storage/internal/append_core.hpp"
#include "storage/internal/rocksdb_kv_store.hpp"
#include "storage/kv_store.hpp"

#include <map>
#include <mutex>

namespace otaledger::storage {
namespace {

std::string view_key(std::string_view space, std::string_view key) {
  std::string k{space};
  k.push_back('\0');
  k.append(key);
  return k;
}

class memory_kv_store final : public kv_store {
public:
  result<std::optional<std::string>> get(std::string_view space, std::string_view key) override {
    OTA_TRYV(internal::validate_space(space));
    std::lock_guard lock{mtx_};
    auto it = rows_.find(view_key(space, key));
    if (it == rows_.end()) return std::optional<std::string>{};
    return std::optional<std::string>{it->second};
  }

  result<scan_page> scan(std::string_view space, const scan_range& range,
                         std::size_t limit) override {
    OTA_TRYV(internal::validate_space(space));
    std::lock_guard lock{mtx_};
    scan_page page;
    const auto strip = space.size() + 1;
    for (auto it = rows_.lower_bound(view_key(space, range.prefix)); it != rows_.end(); ++it) {
      std::string_view full{it->first};
      if (full.substr(0, strip) != view_key(space, {})) break;
      auto key = full.substr(strip);
      if (key.substr(0, range.prefix.size()) != range.prefix) break;
      if (!range.before.empty() && key >= range.before) break;
      if (!range.after.empty() && key <= range.after) continue;
      if (page.rows.size() == limit) {
        page.more = true;
        break;
      }
      page.rows.emplace_back(std::string{key}, it->second);
    }
    return page;
  }

  result<void> write(const write_batch& batch, write_mode) override {
    OTA_TRYV(internal::validate(batch));
    std::lock_guard lock{mtx_};
    for (const auto& op : batch.ops()) {
      switch (op.kind) {
      case write_batch::op_kind::put:
        rows_.insert_or_assign(view_key(op.space, op.key), op.value);
        break;
      case write_batch::op_kind::erase:
        rows_.erase(view_key(op.space, op.key));
        break;
      case write_batch::op_kind::erase_space: {
        auto from = rows_.lower_bound(view_key(op.space, {}));
        std::string end{op.space};
        end.push_back('\x01');
        rows_.erase(from, rows_.lower_bound(end));
        break;
      }
      case write_batch::op_kind::checkpoint:
        checkpoints_.insert_or_assign(op.space, op.position);
        break;
      }
    }
    return ok();
  }

  result<log_position> load_checkpoint(std::string_view name) override {
    std::lock_guard lock{mtx_};
    auto it = checkpoints_.find(name);
    return it == checkpoints_.end() ? log_position{0} : it->second;
  }

private:
  std::mutex mtx_;
  std::map<std::string, std::string, std::less<>> rows_;
  std::map<std::string, log_position, std::less<>> checkpoints_;
};

} // namespace

std::unique_ptr<kv_store> make_memory_kv_store() {
  return std::make_unique<memory_kv_store>();
}

} // namespace otaledger::storage
