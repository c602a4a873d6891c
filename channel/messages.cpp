#include "channel/messages.hpp"

namespace otaledger::channel {

std::string_view to_name(instruction_kind k) {
  switch (k) {
  case instruction_kind::upgrade:
    return "upgrade";
  case instruction_kind::hold:
    return "hold";
  case instruction_kind::release:
    return "release";
  case instruction_kind::install_release:
    return "install_release";
  case instruction_kind::cancel:
    return "cancel";
  }
  return "?";
}

domain::command to_command(const std::string& device, const device_message& m) {
  struct visitor {
    const std::string& device;
    domain::command operator()(const device_report& r) const {
      return domain::report_device_state{device,   r.fota_version, r.sota_version,
                                         r.online, r.signal,       r.battery};
    }
    domain::command operator()(const device_progress& p) const {
      return domain::report_progress{device, p.task, p.phase, p.percent};
    }
    domain::command operator()(const device_result& r) const {
      return domain::report_result{device, r.task, r.succeeded, r.version, r.code, r.text};
    }
    domain::command operator()(const device_note& n) const {
      return domain::note_execution{device, n.task, n.text};
    }
  };
  return std::visit(visitor{device}, m);
}

events::event_meta to_meta(const std::string& device, const std::string& message_id) {
  events::event_meta m;
  m.principal = "device:" + device;
  m.command = "device:" + device + ":" + message_id;
  return m;
}

const std::string& message_id(const device_message& m) {
  return std::visit([](const auto& x) -> const std::string& { return x.id; }, m);
}

} // namespace otaledger::channel
