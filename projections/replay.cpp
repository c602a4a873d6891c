#include "projections/replay.hpp"

#include "domain/group.hpp"
#include "domain/product.hpp"
#include "events/event.hpp"
#include "projections/internal/convert.hpp"
#include "projections/internal/errors.hpp"
#include "storage/errc.hpp"

#include <fmt/format.h>

#include <variant>

namespace otaledger::projections {

using namespace events;

namespace {

using any_state =
    std::variant<domain::task_state, domain::device_state, domain::group_state,
                 domain::product_state, domain::firmware_state, domain::package_state>;

std::optional<any_state> initial(std::string_view aggregate) {
  if (aggregate == "task") return any_state{domain::task_state{}};
  if (aggregate == "device") return any_state{domain::device_state{}};
  if (aggregate == "group") return any_state{domain::group_state{}};
  if (aggregate == "product") return any_state{domain::product_state{}};
  if (aggregate == "firmware") return any_state{domain::firmware_state{}};
  if (aggregate == "package") return any_state{domain::package_state{}};
  return std::nullopt;
}

json state_json(const any_state& s, base::timestamp last) {
  return std::visit(
      [&](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, domain::task_state>) {
          return to_json_value(internal::to_row(x));
        } else if constexpr (std::is_same_v<T, domain::device_state>) {
          json j = to_json_value(internal::to_row(x, last));
          json ex = json::array();
          for (const auto& e : x.executions)
            ex.push_back(to_json_value(internal::to_row(e, x.id)));
          j["executions"] = ex;
          return j;
        } else if constexpr (std::is_same_v<T, domain::group_state>) {
          json j = json::object();
          j["group"] = x.id;
          j["name"] = x.name;
          j["description"] = x.description;
          j["deleted"] = x.deleted;
          j["members"] = json(std::vector<std::string>(x.members.begin(), x.members.end()));
          return j;
        } else if constexpr (std::is_same_v<T, domain::product_state>) {
          json j = json::object();
          j["product"] = x.id;
          j["name"] = x.name;
          j["require_verification"] = x.require_verification;
          return j;
        } else if constexpr (std::is_same_v<T, domain::firmware_state>) {
          auto j = to_json_value(internal::to_row(x, 0));
          j.erase("package_count");
          return j;
        } else {
          return to_json_value(internal::to_row(x));
        }
      },
      s);
}

} // namespace

result<replayed_stream> replay_stream(storage::event_store& log, std::string_view stream,
                                      const replay_limit& limit,
                                      const std::function<void(const envelope&)>& on_event) {
  const auto dash = stream.find('-');
  const std::string aggregate{stream.substr(0, dash == std::string_view::npos ? 0 : dash)};
  auto state = initial(aggregate);
  if (!state)
    return internal::invalid(fmt::format(
        "stream '{}' is not one of product-P, group-G, device-D, firmware-F, package-K, task-T",
        stream));
  replayed_stream out;
  out.stream = std::string{stream};
  out.aggregate = aggregate;
  bool any = false;
  for (std::uint64_t from = 1;;) {
    auto page = log.read_stream(stream, stream_version{from}, 1024);
    if (!page)
      return internal::fail_with(
          page.error(), fmt::format("reading stream '{}': {}", stream, storage::error_detail()));
    if (page.value().empty()) break;
    any = true;
    for (const auto& env : page.value()) {
      if (limit.position() != 0 && env.position > limit.position) goto done;
      if (limit.time && env.time > *limit.time) goto done;
      auto ev = decode(env);
      if (!ev)
        return internal::fail_with(ev.error(), fmt::format("decoding {} version {}: {}", stream,
                                                           env.version(), ev.error().message()));
      std::visit([&](auto& s) { s = domain::evolve(std::move(s), ev.value()); }, *state);
      out.version = env.version;
      out.position = env.position;
      out.time = env.time;
      if (on_event) on_event(env);
    }
    from = page.value().back().version() + 1;
  }
done:
  if (!any) return internal::invalid(fmt::format("stream '{}' has no events", stream));
  if (out.version() == 0)
    return internal::invalid(fmt::format("stream '{}' has no events at or before {}", stream,
                                         limit.time
                                             ? base::format_rfc3339(*limit.time)
                                             : "position " + std::to_string(limit.position())));
  out.state = state_json(*state, out.time);
  return out;
}

} // namespace otaledger::projections
