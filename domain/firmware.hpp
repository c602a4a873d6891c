// The firmware aggregate: a version of a module (FOTA) or MCU (SOTA) firmware,
// its full image, and its verification (Gizwits):
//
//   unverified --start--> testing --device ok--> test_passed --confirm--> verified
//                            \--device failed--> test_failed --start--> testing
//
// A new image makes it unverified again; verified firmware can no longer be
// edited.
#pragma once

#include "domain/decide.hpp"
#include "domain/firmware_commands.hpp"

#include <optional>
#include <span>

namespace otaledger::domain {

enum class verification_status : std::uint8_t {
  unverified,
  testing,
  test_passed,
  test_failed,
  verified
};

inline std::span<const std::string_view> enum_names(verification_status) {
  static constexpr std::string_view names[] = {"unverified", "testing", "test_passed",
                                               "test_failed", "verified"};
  return names;
}

/// The task id of a verification push (the device's execution of it).
std::string verification_task_id(std::string_view firmware);

struct firmware_state {
  std::string id;
  bool exists = false;
  bool deleted = false;
  std::string product;
  events::firmware_kind kind = events::firmware_kind::fota;
  std::string vendor;
  std::string model;
  std::string version;
  std::string hardware_code;
  std::string software_code;
  std::optional<events::file_info> image;
  verification_status verification = verification_status::unverified;
  std::string test_device;
  std::string verification_note;
  base::timestamp created_at;
  bool operator==(const firmware_state&) const = default;
};

[[nodiscard]] decided<decision> decide(const firmware_state& s, const firmware_command& c,
                                       const decide_context& ctx);
[[nodiscard]] firmware_state evolve(firmware_state s, const events::event& e);

} // namespace otaledger::domain
