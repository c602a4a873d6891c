// Builds the record of an envelope into buffers that are reused from one
// event to the next: the relay encodes every event it publishes, so the
// bytes are written once, straight where they go, with no allocation in the
// steady state. make_record (kafka/cloudevents.hpp) uses the same builder, so
// the relay and every other user produce the same bytes.
#pragma once

#include "base/result.hpp"
#include "events/envelope.hpp"
#include "kafka/cloudevents.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace otaledger::kafka::internal {

class record_builder {
public:
  explicit record_builder(std::string source) : source_(std::move(source)) {}

  /// Encodes `e`; fails when its payload does not decode.
  result<void> build(const events::envelope& e);

  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

  /// Calls f(name, value) for each header, in the documented order.
  template <class F> void for_each_header(F&& f) const {
    f(header::specversion, cloudevents_spec_version);
    f(header::id, std::string_view{id_.data(), id_.size()});
    f(header::source, std::string_view{source_});
    f(header::type, std::string_view{type_});
    f(header::time, std::string_view{time_});
    f(header::subject, key_);
    f(header::position, std::string_view{position_.data(), position_len_});
    f(header::version, std::string_view{version_.data(), version_len_});
    f(header::content_type, json_content_type);
  }
  static constexpr std::size_t header_count = 9;

private:
  std::string source_;
  std::string_view key_;
  std::string value_;
  std::array<char, 36> id_{};
  std::string type_;
  std::string time_;
  std::array<char, 24> position_{};
  std::size_t position_len_ = 0;
  std::array<char, 24> version_{};
  std::size_t version_len_ = 0;
};

} // namespace otaledger::kafka::internal
