#include "domain/catalog_index.hpp"

#include <type_traits>

namespace otaledger::domain {

using namespace events;

std::string catalog_index::version_key(firmware_kind kind, std::string_view vendor,
                                       std::string_view model, std::string_view version) {
  std::string k{enum_name(kind)};
  for (auto part : {vendor, model, version}) {
    k.push_back('\x1f');
    k.append(part);
  }
  return k;
}

std::string catalog_index::codes_key(std::string_view product, std::string_view hardware,
                                     std::string_view software) {
  std::string k{product};
  k.push_back('\x1f');
  k.append(hardware);
  k.push_back('\x1f');
  k.append(software);
  return k;
}

std::string catalog_index::origin_key(std::string_view firmware, std::string_view initial) {
  std::string k{firmware};
  k.push_back('\x1f');
  k.append(initial);
  return k;
}

void catalog_index::apply(const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, product_created> || std::is_same_v<T, product_edited>) {
          products_[e.product] = {e.product, e.name, e.secret_hash, e.require_verification};
        } else if constexpr (std::is_same_v<T, firmware_created>) {
          firmware_entry f{e.firmware, e.product,       e.kind,          e.vendor, e.model,
                           e.version,  e.hardware_code, e.software_code, e.image,  false};
          firmware_by_version_[version_key(e.kind, e.vendor, e.model, e.version)] = e.firmware;
          if (!e.hardware_code.empty() && !e.software_code.empty())
            firmware_by_codes_[codes_key(e.product, e.hardware_code, e.software_code)] = e.firmware;
          firmware_[e.firmware] = std::move(f);
        } else if constexpr (std::is_same_v<T, firmware_image_uploaded>) {
          if (auto it = firmware_.find(e.firmware); it != firmware_.end()) {
            it->second.image = e.image;
            it->second.verified = false;
          }
        } else if constexpr (std::is_same_v<T, firmware_verified>) {
          if (auto it = firmware_.find(e.firmware); it != firmware_.end())
            it->second.verified = true;
        } else if constexpr (std::is_same_v<T, firmware_deleted>) {
          if (auto it = firmware_.find(e.firmware); it != firmware_.end()) {
            auto& f = it->second;
            firmware_by_version_.erase(version_key(f.kind, f.vendor, f.model, f.version));
            firmware_by_codes_.erase(codes_key(f.product, f.hardware_code, f.software_code));
            firmware_.erase(it);
          }
        } else if constexpr (std::is_same_v<T, package_created>) {
          packages_[e.package] = {
              e.package, e.firmware,        e.kind,   e.vendor, e.model, e.target_version,
              e.type,    e.initial_version, e.origin, e.file};
          packages_by_origin_[origin_key(e.firmware, e.initial_version)] = e.package;
        } else if constexpr (std::is_same_v<T, package_file_replaced>) {
          if (auto it = packages_.find(e.package); it != packages_.end()) {
            it->second.file = e.file;
            it->second.origin = e.origin;
          }
        } else if constexpr (std::is_same_v<T, package_deleted>) {
          if (auto it = packages_.find(e.package); it != packages_.end()) {
            packages_by_origin_.erase(origin_key(it->second.firmware, it->second.initial_version));
            packages_.erase(it);
          }
        } else if constexpr (std::is_same_v<T, group_created>) {
          groups_[e.group] = true;
        } else if constexpr (std::is_same_v<T, group_deleted>) {
          groups_.erase(e.group);
        } else if constexpr (std::is_same_v<T, task_created> || std::is_same_v<T, task_edited>) {
          auto& t = tasks_[e.task];
          t.id = e.task;
          t.package = e.settings.package;
          t.summary = e.package_info;
          t.groups = e.settings.targets.groups;
        } else if constexpr (std::is_same_v<T, task_started> || std::is_same_v<T, task_resumed>) {
          if (auto it = tasks_.find(e.task); it != tasks_.end()) it->second.status = "upgrading";
        } else if constexpr (std::is_same_v<T, task_paused>) {
          if (auto it = tasks_.find(e.task); it != tasks_.end()) it->second.status = "paused";
        } else if constexpr (std::is_same_v<T, task_canceled> ||
                             std::is_same_v<T, task_deadline_reached> ||
                             std::is_same_v<T, task_completed> || std::is_same_v<T, task_deleted>) {
          tasks_.erase(e.task);
        }
      },
      ev);
}

namespace {
template <class Map> auto find_ptr(const Map& m, std::string_view key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}
} // namespace

const catalog_index::product_entry* catalog_index::product(std::string_view id) const {
  return find_ptr(products_, id);
}

const catalog_index::firmware_entry* catalog_index::firmware(std::string_view id) const {
  return find_ptr(firmware_, id);
}

const catalog_index::firmware_entry*
catalog_index::firmware_by_version(firmware_kind kind, std::string_view vendor,
                                   std::string_view model, std::string_view version) const {
  auto id = find_ptr(firmware_by_version_, version_key(kind, vendor, model, version));
  return id ? firmware(*id) : nullptr;
}

const catalog_index::firmware_entry*
catalog_index::firmware_by_codes(std::string_view product, std::string_view hardware,
                                 std::string_view software) const {
  auto id = find_ptr(firmware_by_codes_, codes_key(product, hardware, software));
  return id ? firmware(*id) : nullptr;
}

const catalog_index::package_entry* catalog_index::package(std::string_view id) const {
  return find_ptr(packages_, id);
}

const catalog_index::package_entry*
catalog_index::package_by_origin(std::string_view firmware,
                                 std::string_view initial_version) const {
  auto id = find_ptr(packages_by_origin_, origin_key(firmware, initial_version));
  return id ? package(*id) : nullptr;
}

std::vector<std::string> catalog_index::packages_of(std::string_view firmware) const {
  std::vector<std::string> out;
  for (const auto& [id, p] : packages_)
    if (p.firmware == firmware) out.push_back(id);
  return out;
}

bool catalog_index::group_exists(std::string_view id) const {
  return groups_.find(id) != groups_.end();
}

const catalog_index::task_entry* catalog_index::task(std::string_view id) const {
  return find_ptr(tasks_, id);
}

const catalog_index::task_entry* catalog_index::task_using_package(std::string_view package) const {
  for (const auto& [id, t] : tasks_)
    if (t.package == package) return &t;
  return nullptr;
}

const catalog_index::task_entry*
catalog_index::task_using_firmware(std::string_view firmware_id) const {
  // From the task's own record of its package, so the answer does not depend
  // on the package still being live.
  auto f = firmware(firmware_id);
  for (const auto& [id, t] : tasks_) {
    const auto& p = t.summary;
    if (p.firmware == firmware_id) return &t;
    if (f && p.type == package_type::delta && p.kind == f->kind && p.vendor == f->vendor &&
        p.model == f->model && p.initial_version == f->version)
      return &t;
  }
  return nullptr;
}

const catalog_index::task_entry* catalog_index::task_using_group(std::string_view group) const {
  for (const auto& [id, t] : tasks_)
    for (const auto& g : t.groups)
      if (g == group) return &t;
  return nullptr;
}

} // namespace otaledger::domain
