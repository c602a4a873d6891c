// Commands of the group aggregate (stream "group-<id>").
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace otaledger::domain {

/// Create a group: a name (required) and a description.
struct create_group {
  static constexpr std::string_view command_name = "create_group";
  std::string group;
  std::string name;
  std::string description;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("name", s.name);
    f("description", s.description);
  }
  bool operator==(const create_group&) const = default;
};

/// Change the name and description.
struct edit_group {
  static constexpr std::string_view command_name = "edit_group";
  std::string group;
  std::string name;
  std::string description;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("name", s.name);
    f("description", s.description);
  }
  bool operator==(const edit_group&) const = default;
};

/// Delete a group (refused while a task that is not finished targets it).
struct delete_group {
  static constexpr std::string_view command_name = "delete_group";
  std::string group;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("group", s.group); }
  bool operator==(const delete_group&) const = default;
};

/// Add devices (one by one, or "all matching" resolved by the API into ids).
struct add_group_devices {
  static constexpr std::string_view command_name = "add_group_devices";
  std::string group;
  std::vector<std::string> devices;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("devices", s.devices);
  }
  bool operator==(const add_group_devices&) const = default;
};

/// Remove devices.
struct remove_group_devices {
  static constexpr std::string_view command_name = "remove_group_devices";
  std::string group;
  std::vector<std::string> devices;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("devices", s.devices);
  }
  bool operator==(const remove_group_devices&) const = default;
};

using group_command =
    std::variant<create_group, edit_group, delete_group, add_group_devices, remove_group_devices>;

} // namespace otaledger::domain
