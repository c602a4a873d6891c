#include "domain/package.hpp"

#include "domain/catalog_index.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>

namespace otaledger::domain {

using namespace events;

namespace {

decided<void> check_live(const package_state& s) {
  if (!s.exists) return reject(errc::not_found, fmt::format("package {} does not exist", s.id));
  if (s.deleted) return reject(errc::invalid_state, fmt::format("package {} is deleted", s.id));
  return outcome::success();
}

decided<const catalog_index*> need_catalog(const decide_context& ctx, std::string_view what) {
  if (!ctx.catalog)
    return reject(errc::catalog_missing, fmt::format("{} needs the catalog index", what));
  return ctx.catalog;
}

// The size limit of a package file: uploaded deltas are small (OneNET: 2 MiB);
// full images and generated deltas follow the image limit.
std::uint64_t max_size(package_type type, package_origin origin, const limits& l) {
  return type == package_type::delta && origin == package_origin::uploaded ? l.max_delta_bytes
                                                                           : l.max_image_bytes;
}

decided<decision> decide_impl(const package_state& s, const create_package& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_id("package", c.package));
  if (s.exists)
    return reject(errc::already_exists, fmt::format("package {} already exists", c.package));
  OTA_TRYV(check_id("firmware", c.firmware));
  OTA_TRY(cat, need_catalog(ctx, "creating a package"));
  auto target = cat->firmware(c.firmware);
  if (!target)
    return reject(errc::not_found, fmt::format("firmware {} does not exist", c.firmware));
  auto origin = c.origin;
  std::optional<file_info> file = c.file;
  if (c.type == package_type::full) {
    if (!c.initial_version.empty())
      return reject(errc::invalid_argument,
                    "a full package has no initial version (it applies to any version)");
    if (origin == package_origin::generated)
      return reject(errc::invalid_argument, "only a delta package can be generated online");
    if (!file || origin == package_origin::image) {
      if (!target->image)
        return reject(
            errc::image_missing,
            fmt::format("firmware {} has no full image: upload one or give a file", target->id));
      file = target->image;
      origin = package_origin::image;
    }
  } else {
    OTA_TRYV(check_version("initial_version", c.initial_version));
    if (c.initial_version == target->version)
      return reject(errc::invalid_argument,
                    fmt::format("a delta from {} to itself makes no sense", c.initial_version));
    if (origin == package_origin::image)
      return reject(errc::invalid_argument, "a delta package cannot reuse a full image");
    auto initial =
        cat->firmware_by_version(target->kind, target->vendor, target->model, c.initial_version);
    if (!initial)
      return reject(errc::initial_version_missing,
                    fmt::format("no firmware version {} of {} {}/{} exists to diff from",
                                c.initial_version, enum_name(target->kind), target->vendor,
                                target->model));
    if (origin == package_origin::generated) {
      for (const auto* f : {initial, target})
        if (!f->image)
          return reject(errc::image_missing,
                        fmt::format("firmware {} ({}) has no full image: upload it before "
                                    "generating the delta",
                                    f->id, f->version));
    }
    if (!file) return reject(errc::invalid_argument, "a delta package needs its file");
  }
  OTA_TRYV(check_file("file", *file, max_size(c.type, origin, ctx.limits)));
  auto initial_key = c.type == package_type::full ? std::string{} : c.initial_version;
  if (auto other = cat->package_by_origin(c.firmware, initial_key))
    return reject(
        errc::already_exists,
        c.type == package_type::full
            ? fmt::format("firmware {} already has a full package ({})", c.firmware, other->id)
            : fmt::format("firmware {} already has a delta package from {} ({})", c.firmware,
                          c.initial_version, other->id));
  return decision{package_created{c.package, target->id, target->kind, target->vendor,
                                  target->model, target->version, c.type, initial_key, origin,
                                  *file, ctx.now}};
}

decided<decision> decide_impl(const package_state& s, const replace_package_file& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  if (c.origin == package_origin::image ||
      (c.origin == package_origin::generated && s.type == package_type::full))
    return reject(errc::invalid_argument, fmt::format("origin {} does not fit a {} package",
                                                      enum_name(c.origin), enum_name(s.type)));
  OTA_TRYV(check_file("file", c.file, max_size(s.type, c.origin, ctx.limits)));
  OTA_TRY(cat, need_catalog(ctx, "editing a package"));
  if (auto t = cat->task_using_package(s.id))
    return reject(errc::in_use, fmt::format("cannot edit package {}: task {} ({}) uses it", s.id,
                                            t->id, t->status));
  if (c.file == s.file && c.origin == s.origin) return decision{};
  return decision{package_file_replaced{s.id, c.origin, c.file}};
}

decided<decision> decide_impl(const package_state& s, const delete_package&,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  OTA_TRY(cat, need_catalog(ctx, "deleting a package"));
  if (auto t = cat->task_using_package(s.id))
    return reject(errc::in_use, fmt::format("cannot delete package {}: task {} ({}) uses it", s.id,
                                            t->id, t->status));
  return decision{package_deleted{s.id}};
}

} // namespace

decided<decision> decide(const package_state& s, const package_command& c,
                         const decide_context& ctx) {
  if (s.id.empty()) {
    package_state named = s;
    named.id = std::visit([](const auto& x) { return x.package; }, c);
    return std::visit([&](const auto& x) { return decide_impl(named, x, ctx); }, c);
  }
  return std::visit([&](const auto& x) { return decide_impl(s, x, ctx); }, c);
}

package_state evolve(package_state s, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("package.")) {
          if (s.id.empty() ? !std::is_same_v<T, package_created> : e.package != s.id) return;
        }
        if constexpr (std::is_same_v<T, package_created>) {
          s.id = e.package;
          s.exists = true;
          s.firmware = e.firmware;
          s.kind = e.kind;
          s.vendor = e.vendor;
          s.model = e.model;
          s.target_version = e.target_version;
          s.type = e.type;
          s.initial_version = e.initial_version;
          s.origin = e.origin;
          s.file = e.file;
          s.created_at = e.at;
        } else if constexpr (std::is_same_v<T, package_file_replaced>) {
          s.file = e.file;
          s.origin = e.origin;
        } else if constexpr (std::is_same_v<T, package_deleted>) {
          s.deleted = true;
        }
      },
      ev);
  return s;
}

} // namespace otaledger::domain
