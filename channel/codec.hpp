// The canonical JSON dialect of the device messages (docs/device-protocol.md).
//
// Decoding is strict: the text must be a JSON object of at most
// codec_limits::max_message_bytes, every field must have its documented type
// and range, unknown fields are refused (a typo must not be silently
// ignored), and required fields must be present. A refusal is a channel
// `problem` (errc::malformed or errc::too_large) whose message names the
// field, so a device integrator can fix the device from the error alone.
//
// Encoding produces the server's side: instructions and replies.
//
// Thread safety: pure functions.
#pragma once

#include "channel/errc.hpp"
#include "channel/messages.hpp"

#include <boost/outcome/result.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace otaledger::channel {

/// A value or the problem to answer with.
template <class T>
using checked = boost::outcome_v2::result<T, problem, boost::outcome_v2::policy::terminate>;

struct codec_limits {
  /// Largest device message accepted (bytes of JSON). Default: 4 KiB.
  std::size_t max_message_bytes = 4096;
  /// Longest failure text accepted from a device (bytes; the domain keeps at
  /// most domain::limits::max_note_bytes of it). Default: 1024.
  std::size_t max_text_bytes = 1024;
};

/// What the `kind` of a device message on a shared transport (MQTT) is.
enum class message_type : std::uint8_t { registration, report, progress, result, note };
std::string_view to_name(message_type t);
std::optional<message_type> message_type_from_name(std::string_view name);

/// Decoded report, progress or result. `extra_field`, when not empty, is one
/// more field name the caller accepts and removes first (MQTT's "auth"); its
/// value is returned through `extra` when present (must be a string).
checked<device_message> decode_message(message_type t, std::string_view text,
                                       const codec_limits& limits = {},
                                       std::string_view extra_field = {},
                                       std::string* extra = nullptr);
checked<device_registration> decode_registration(std::string_view text,
                                                 const codec_limits& limits = {});

/// {"kind":"upgrade","task":"17",...} (docs/device-protocol.md, "Instruction").
std::string encode_instruction(const instruction& i);
/// Parses an instruction (the simulator and tests use it; strict like the rest).
checked<instruction> decode_instruction(std::string_view text);

/// {"id":"m1","accepted":true,"duplicate":false}
std::string encode_accepted(std::string_view message_id, bool duplicate);
/// {"id":"m1","accepted":false,"error":{"code":"execution_finished","message":"..."}}
/// (`message_id` may be empty when the message could not be read).
std::string encode_problem(std::string_view message_id, const problem& p);

} // namespace otaledger::channel
