#include "domain/dispatch.hpp"

#include "domain/device.hpp"
#include "domain/firmware.hpp"
#include "domain/group.hpp"
#include "domain/package.hpp"
#include "domain/product.hpp"
#include "domain/task.hpp"

namespace otaledger::domain {

namespace {

aggregate_kind kind_from_prefix(std::string_view prefix) {
  for (std::size_t i = 0; i < enum_names(aggregate_kind{}).size(); ++i)
    if (enum_names(aggregate_kind{})[i] == prefix) return static_cast<aggregate_kind>(i);
  return aggregate_kind::product; // unreachable for catalog events (a unit test checks)
}

template <class T> constexpr std::string_view prefix_of() {
  if constexpr (requires { T::aggregate; })
    return T::aggregate;
  else
    return T::type_name.substr(0, T::type_name.find('.'));
}

struct first_string {
  const std::string* value = nullptr;
  template <class V> void operator()(std::string_view, const V& v) {
    if constexpr (std::is_same_v<V, std::string>)
      if (!value) value = &v;
  }
};

template <class State, class Command, class Any>
decided<decision> fold_and_decide(std::span<const events::event> history, const Any& c,
                                  const stream_ref& ref, const decide_context& ctx) {
  State s;
  for (const auto& e : history)
    if (stream_of(e) == ref) s = evolve(std::move(s), e);
  return decide(s, Command{c}, ctx);
}

} // namespace

std::string stream_ref::stream() const {
  return std::string{enum_names(aggregate_kind{})[static_cast<std::size_t>(kind)]} + "-" + id;
}

stream_ref stream_of(const events::event& ev) {
  return std::visit(
      [](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        first_string f;
        T::fields(e, f);
        return stream_ref{kind_from_prefix(prefix_of<T>()), f.value ? *f.value : std::string{}};
      },
      ev);
}

stream_ref stream_of(const command& c) {
  return std::visit(
      [](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        first_string f;
        T::fields(x, f);
        auto id = f.value ? *f.value : std::string{};
        if constexpr (is_alternative_v<T, product_command>)
          return stream_ref{aggregate_kind::product, id};
        else if constexpr (is_alternative_v<T, group_command>)
          return stream_ref{aggregate_kind::group, id};
        else if constexpr (is_alternative_v<T, device_command>)
          return stream_ref{aggregate_kind::device, id};
        else if constexpr (is_alternative_v<T, firmware_command>)
          return stream_ref{aggregate_kind::firmware, id};
        else if constexpr (is_alternative_v<T, package_command>)
          return stream_ref{aggregate_kind::package, id};
        else
          return stream_ref{aggregate_kind::task, id};
      },
      c);
}

decided<decision> decide_on(std::span<const events::event> history, const command& c,
                            const decide_context& ctx) {
  auto ref = stream_of(c);
  return std::visit(
      [&](const auto& x) -> decided<decision> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (is_alternative_v<T, product_command>)
          return fold_and_decide<product_state, product_command>(history, x, ref, ctx);
        else if constexpr (is_alternative_v<T, group_command>)
          return fold_and_decide<group_state, group_command>(history, x, ref, ctx);
        else if constexpr (is_alternative_v<T, device_command>)
          return fold_and_decide<device_state, device_command>(history, x, ref, ctx);
        else if constexpr (is_alternative_v<T, firmware_command>)
          return fold_and_decide<firmware_state, firmware_command>(history, x, ref, ctx);
        else if constexpr (is_alternative_v<T, package_command>)
          return fold_and_decide<package_state, package_command>(history, x, ref, ctx);
        else
          return fold_and_decide<task_state, task_command>(history, x, ref, ctx);
      },
      c);
}

} // namespace otaledger::domain
