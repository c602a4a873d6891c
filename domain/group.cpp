#include "domain/group.hpp"

#include "domain/catalog_index.hpp"
#include "domain/validation.hpp"

#include <fmt/format.h>

namespace otaledger::domain {

using namespace events;

namespace {

decided<void> check_live(const group_state& s, std::string_view id) {
  if (!s.exists) return reject(errc::not_found, fmt::format("group {} does not exist", id));
  if (s.deleted) return reject(errc::invalid_state, fmt::format("group {} is deleted", id));
  return outcome::success();
}

decided<void> check_fields(std::string_view name, std::string_view description) {
  OTA_TRYV(check_text("name", name, 1, 64));
  OTA_TRYV(check_text("description", description, 0, 256));
  return outcome::success();
}

// The ids to record (validated, without repeats), split into events of at
// most max_ids_per_event ids.
template <class Event, class Keep>
decided<decision> membership_events(const group_state& s, const std::vector<std::string>& ids,
                                    const decide_context& ctx, Keep keep) {
  if (ids.empty()) return reject(errc::invalid_argument, "devices must list at least one device");
  if (ids.size() > ctx.limits.max_ids_per_command)
    return reject(errc::too_large, fmt::format("devices lists {} ids, over the limit of {} per "
                                               "command",
                                               ids.size(), ctx.limits.max_ids_per_command));
  std::set<std::string_view> seen;
  std::vector<std::string> chosen;
  for (const auto& d : ids) {
    OTA_TRYV(check_id("devices[]", d));
    if (seen.insert(d).second && keep(d)) chosen.push_back(d);
  }
  decision out;
  auto per_event = std::max<std::size_t>(1, ctx.limits.max_ids_per_event);
  for (std::size_t i = 0; i < chosen.size(); i += per_event) {
    auto end = std::min(chosen.size(), i + per_event);
    out.emplace_back(Event{s.id,
                           {chosen.begin() + static_cast<std::ptrdiff_t>(i),
                            chosen.begin() + static_cast<std::ptrdiff_t>(end)}});
  }
  return out;
}

decided<decision> decide_impl(const group_state& s, const create_group& c, const decide_context&) {
  OTA_TRYV(check_id("group", c.group));
  if (s.exists)
    return reject(errc::already_exists,
                  fmt::format("group {} already exists{}", c.group,
                              s.deleted ? " (deleted; ids are not reused)" : ""));
  OTA_TRYV(check_fields(c.name, c.description));
  return decision{group_created{c.group, c.name, c.description}};
}

decided<decision> decide_impl(const group_state& s, const edit_group& c, const decide_context&) {
  OTA_TRYV(check_live(s, c.group));
  OTA_TRYV(check_fields(c.name, c.description));
  if (c.name == s.name && c.description == s.description) return decision{};
  return decision{group_edited{s.id, c.name, c.description}};
}

decided<decision> decide_impl(const group_state& s, const delete_group& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s, c.group));
  if (ctx.catalog) {
    if (auto t = ctx.catalog->task_using_group(s.id))
      return reject(errc::in_use,
                    fmt::format("group {} is targeted by task {} ({})", s.id, t->id, t->status));
  }
  return decision{group_deleted{s.id}};
}

decided<decision> decide_impl(const group_state& s, const add_group_devices& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s, c.group));
  return membership_events<group_devices_added>(
      s, c.devices, ctx, [&](const std::string& d) { return !s.members.contains(d); });
}

decided<decision> decide_impl(const group_state& s, const remove_group_devices& c,
                              const decide_context& ctx) {
  OTA_TRYV(check_live(s, c.group));
  return membership_events<group_devices_removed>(
      s, c.devices, ctx, [&](const std::string& d) { return s.members.contains(d); });
}

} // namespace

decided<decision> decide(const group_state& s, const group_command& c, const decide_context& ctx) {
  if (s.id.empty()) {
    group_state named = s;
    named.id = std::visit([](const auto& x) { return x.group; }, c);
    return std::visit([&](const auto& x) { return decide_impl(named, x, ctx); }, c);
  }
  return std::visit([&](const auto& x) { return decide_impl(s, x, ctx); }, c);
}

group_state evolve(group_state s, const event& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (T::type_name.starts_with("group.")) {
          if (s.id.empty() ? !std::is_same_v<T, group_created> : e.group != s.id) return;
        }
        if constexpr (std::is_same_v<T, group_created>) {
          s.id = e.group;
          s.exists = true;
          s.name = e.name;
          s.description = e.description;
        } else if constexpr (std::is_same_v<T, group_edited>) {
          s.name = e.name;
          s.description = e.description;
        } else if constexpr (std::is_same_v<T, group_deleted>) {
          s.deleted = true;
        } else if constexpr (std::is_same_v<T, group_devices_added>) {
          s.members.insert(e.devices.begin(), e.devices.end());
        } else if constexpr (std::is_same_v<T, group_devices_removed>) {
          for (const auto& d : e.devices)
            s.members.erase(d);
        }
      },
      ev);
  return s;
}

} // namespace otaledger::domain
