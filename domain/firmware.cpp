#include "domain/firmware.hpp"

#include "domain/catalog_index.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>

namespace otaledger::domain {

using namespace events;

namespace {

std::string describe(const firmware_state& s) {
  return fmt::format("{} {}/{} {}", enum_name(s.kind), s.vendor, s.model, s.version);
}

decided<void> check_live(const firmware_state& s) {
  if (!s.exists) return reject(errc::not_found, fmt::format("firmware {} does not exist", s.id));
  if (s.deleted) return reject(errc::invalid_state, fmt::format("firmware {} is deleted", s.id));
  return outcome::success();
}

decided<const catalog_index*> need_catalog(const decide_context& ctx, std::string_view what) {
  if (!ctx.catalog)
    return reject(errc::catalog_missing, fmt::format("{} needs the catalog index", what));
  return ctx.catalog;
}

decided<void> check_not_in_use(const firmware_state& s, const catalog_index& cat,
                               std::string_view verb) {
  if (auto t = cat.task_using_firmware(s.id))
    return reject(errc::in_use, fmt::format("cannot {} firmware {}: task {} ({}) uses it", verb,
                                            s.id, t->id, t->status));
  return outcome::success();
}

decided<decision> decide_impl(const firmware_state& s, const create_firmware& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_id("firmware", c.firmware));
  if (s.exists)
    return reject(errc::already_exists, fmt::format("firmware {} already exists", c.firmware));
  if (!c.product.empty()) {
    OTA_TRYV(check_id("product", c.product));
  }
  OTA_TRYV(check_text("vendor", c.vendor, 1, 64));
  OTA_TRYV(check_text("model", c.model, 1, 64));
  OTA_TRYV(check_version("version", c.version));
  for (auto [field, code] :
       {std::pair{"hardware_code", &c.hardware_code}, std::pair{"software_code", &c.software_code}})
    if (!code->empty() && !is_valid_version_code(*code))
      return reject(errc::invalid_argument,
                    fmt::format("{} must be 1-32 letters or digits", field));
  if (c.image) {
    OTA_TRYV(check_file("image", *c.image, ctx.limits.max_image_bytes));
  }
  OTA_TRY(cat, need_catalog(ctx, "creating firmware"));
  if (!c.product.empty() && !cat->product(c.product))
    return reject(errc::not_found, fmt::format("product {} does not exist", c.product));
  if (auto other = cat->firmware_by_version(c.kind, c.vendor, c.model, c.version))
    return reject(errc::duplicate_version,
                  fmt::format("firmware version {} {}/{} {} already exists (firmware {})",
                              enum_name(c.kind), c.vendor, c.model, c.version, other->id));
  if (!c.hardware_code.empty() && !c.software_code.empty()) {
    if (auto other = cat->firmware_by_codes(c.product, c.hardware_code, c.software_code))
      return reject(errc::duplicate_version_codes,
                    fmt::format("hardware code {} and software code {} are already used by "
                                "firmware {} of product {}",
                                c.hardware_code, c.software_code, other->id,
                                c.product.empty() ? "(none)" : c.product));
  }
  return decision{firmware_created{c.firmware, c.product, c.kind, c.vendor, c.model, c.version,
                                   c.hardware_code, c.software_code, c.image, ctx.now}};
}

decided<decision> decide_impl(const firmware_state& s, const upload_firmware_image& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  if (s.verification == verification_status::verified)
    return reject(
        errc::firmware_verified,
        fmt::format("firmware {} ({}) is verified and can no longer be edited", s.id, describe(s)));
  OTA_TRYV(check_file("image", c.image, ctx.limits.max_image_bytes));
  OTA_TRY(cat, need_catalog(ctx, "editing firmware"));
  OTA_TRYV(check_not_in_use(s, *cat, "edit"));
  if (s.image && *s.image == c.image) return decision{};
  return decision{firmware_image_uploaded{s.id, c.image, s.image.has_value()}};
}

decided<decision> decide_impl(const firmware_state& s, const delete_firmware&,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  OTA_TRY(cat, need_catalog(ctx, "deleting firmware"));
  OTA_TRYV(check_not_in_use(s, *cat, "delete"));
  if (auto pkgs = cat->packages_of(s.id); !pkgs.empty())
    return reject(errc::in_use,
                  fmt::format("cannot delete firmware {}: it still has package(s) {}; delete "
                              "them first",
                              s.id, fmt::join(pkgs, ", ")));
  return decision{firmware_deleted{s.id}};
}

decided<decision> decide_impl(const firmware_state& s, const start_firmware_verification& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  OTA_TRYV(check_id("device", c.device));
  if (s.verification == verification_status::verified)
    return reject(errc::invalid_state,
                  fmt::format("cannot verify firmware {}: it is verified", s.id));
  if (!s.image)
    return reject(errc::image_missing,
                  fmt::format("cannot verify firmware {}: it has no full image", s.id));
  return decision{firmware_verification_started{s.id, c.device, ctx.now}};
}

decided<decision> decide_impl(const firmware_state& s, const record_firmware_verification& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  if (s.verification != verification_status::testing)
    return reject(errc::invalid_state,
                  fmt::format("cannot record a test result for firmware {}: it is {}", s.id,
                              enum_name(s.verification)));
  if (c.device != s.test_device)
    return reject(errc::invalid_argument,
                  fmt::format("device {} is not the test device of firmware {} ({})", c.device,
                              s.id, s.test_device));
  if (c.succeeded && c.version == s.version)
    return decision{firmware_verification_passed{s.id, c.device, c.version}};
  auto note = c.succeeded
                  ? fmt::format("device reports {}, the firmware is {}", c.version, s.version)
                  : truncate_utf8(c.note, ctx.limits.max_note_bytes);
  return decision{firmware_verification_failed{s.id, c.device, note}};
}

decided<decision> decide_impl(const firmware_state& s, const confirm_firmware_verification&,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s));
  if (s.verification != verification_status::test_passed)
    return reject(errc::verification_incomplete,
                  fmt::format("cannot confirm firmware {}: it is {}; the test device must report "
                              "success first",
                              s.id, enum_name(s.verification)));
  return decision{firmware_verified{s.id, ctx.now}};
}

} // namespace

std::string verification_task_id(std::string_view firmware) {
  return fmt::format("verify-{}", firmware);
}

decided<decision> decide(const firmware_state& s, const firmware_command& c,
                         const decide_context& ctx) {
  if (s.id.empty()) {
    firmware_state named = s;
    named.id = std::visit([](const auto& x) { return x.firmware; }, c);
    return std::visit([&](const auto& x) { return decide_impl(named, x, ctx); }, c);
  }
  return std::visit([&](const auto& x) { return decide_impl(s, x, ctx); }, c);
}

firmware_state evolve(firmware_state s, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("firmware.")) {
          if (s.id.empty() ? !std::is_same_v<T, firmware_created> : e.firmware != s.id) return;
        }
        if constexpr (std::is_same_v<T, firmware_created>) {
          s.id = e.firmware;
          s.exists = true;
          s.product = e.product;
          s.kind = e.kind;
          s.vendor = e.vendor;
          s.model = e.model;
          s.version = e.version;
          s.hardware_code = e.hardware_code;
          s.software_code = e.software_code;
          s.image = e.image;
          s.created_at = e.at;
        } else if constexpr (std::is_same_v<T, firmware_image_uploaded>) {
          s.image = e.image;
          s.verification = verification_status::unverified;
          s.test_device.clear();
        } else if constexpr (std::is_same_v<T, firmware_deleted>) {
          s.deleted = true;
        } else if constexpr (std::is_same_v<T, firmware_verification_started>) {
          s.verification = verification_status::testing;
          s.test_device = e.device;
          s.verification_note.clear();
        } else if constexpr (std::is_same_v<T, firmware_verification_passed>) {
          s.verification = verification_status::test_passed;
        } else if constexpr (std::is_same_v<T, firmware_verification_failed>) {
          s.verification = verification_status::test_failed;
          s.verification_note = e.note;
        } else if constexpr (std::is_same_v<T, firmware_verified>) {
          s.verification = verification_status::verified;
        }
      },
      ev);
  return s;
}

} // namespace otaledger::domain
