// Events of the group aggregate (stream "group-<id>").
//
// A group is a named set of devices that tasks target. Membership changes are
// recorded in batches: one operator action ("add all matching") may produce
// several devices_added events of at most domain::limits::max_ids_per_event ids
// each, appended atomically, so no single event outgrows the payload limit.
#pragma once

#include "events/fields.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::events {

/// A group was created.
struct group_created {
  static constexpr std::string_view type_name = "group.created";
  static constexpr std::uint16_t schema = 1;
  std::string group;       ///< group id
  std::string name;        ///< required, 1-64 characters
  std::string description; ///< may be empty, at most 256 bytes
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("name", s.name);
    f("description", s.description);
  }
  bool operator==(const group_created&) const = default;
};

/// The group's name or description changed.
struct group_edited {
  static constexpr std::string_view type_name = "group.edited";
  static constexpr std::uint16_t schema = 1;
  std::string group;
  std::string name;
  std::string description;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("name", s.name);
    f("description", s.description);
  }
  bool operator==(const group_edited&) const = default;
};

/// The group was deleted (its members are not touched).
struct group_deleted {
  static constexpr std::string_view type_name = "group.deleted";
  static constexpr std::uint16_t schema = 1;
  std::string group;
  template <class Self, class F> static void fields(Self& s, F&& f) { f("group", s.group); }
  bool operator==(const group_deleted&) const = default;
};

/// Devices joined the group (only devices that were not members already).
struct group_devices_added {
  static constexpr std::string_view type_name = "group.devices_added";
  static constexpr std::uint16_t schema = 1;
  std::string group;
  std::vector<std::string> devices; ///< device ids, in the order given
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("devices", s.devices);
  }
  bool operator==(const group_devices_added&) const = default;
};

/// Devices left the group (only devices that were members).
struct group_devices_removed {
  static constexpr std::string_view type_name = "group.devices_removed";
  static constexpr std::uint16_t schema = 1;
  std::string group;
  std::vector<std::string> devices;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("group", s.group);
    f("devices", s.devices);
  }
  bool operator==(const group_devices_removed&) const = default;
};

} // namespace otaledger::events
