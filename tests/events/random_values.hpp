// Random values of any reflectable type, for property tests.
#pragma once

#include "events/catalog.hpp"
#include "events/envelope.hpp"
#include "events/event.hpp"
#include "events/fields.hpp"

#include <random>

namespace otaledger::testing {

class random_filler {
public:
  explicit random_filler(std::uint64_t seed) : rng_(seed) {}

  template <class T> void operator()(std::string_view, T& v) { fill(v); }

  template <class T> void fill(T& v) {
    using namespace events;
    if constexpr (std::is_same_v<T, bool>) {
      v = rng_() & 1;
    } else if constexpr (events::named_enum<T>) {
      v = static_cast<T>(rng_() % enum_names(T{}).size());
    } else if constexpr (std::is_enum_v<T>) {
      v = static_cast<T>(rng_() % 2);
    } else if constexpr (std::is_integral_v<T>) {
      // Mix small values and the extremes, where varint and zigzag bugs live.
      switch (rng_() % 4) {
      case 0:
        v = std::numeric_limits<T>::max();
        break;
      case 1:
        v = std::numeric_limits<T>::min();
        break;
      default:
        v = static_cast<T>(rng_());
      }
    } else if constexpr (std::is_same_v<T, double>) {
      v = static_cast<double>(rng_() % 1000000) / 7.0;
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = string(rng_() % 24);
    } else if constexpr (std::is_same_v<T, base::timestamp>) {
      v.micros = static_cast<std::int64_t>(rng_() % 4102444800000000ull); // before 2100
    } else if constexpr (is_optional<T>::value) {
      if (rng_() & 1) {
        v.emplace();
        fill(*v);
      } else {
        v.reset();
      }
    } else if constexpr (is_vector<T>::value) {
      v.resize(rng_() % 4);
      for (auto& x : v)
        fill(x);
    } else {
      T::fields(v, *this);
    }
  }

  /// Printable UTF-8 with a few multi-byte characters and JSON-special bytes.
  std::string string(std::size_t n) {
    static const std::string alphabet = "abcXYZ019_-.\"\\/ \n\t";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      if (rng_() % 10 == 0)
        s += "\xe5\x8d\x87"; // 升
      else
        s.push_back(alphabet[rng_() % alphabet.size()]);
    }
    return s;
  }

  /// A random event of the catalog's alternative I.
  template <std::size_t I> events::event event_at() {
    std::variant_alternative_t<I, events::event> e{};
    fill(e);
    return e;
  }

  events::event any_event() {
    return pick(rng_() % std::variant_size_v<events::event>,
                std::make_index_sequence<std::variant_size_v<events::event>>{});
  }

  /// Another random event of `e`'s type.
  events::event any_event_of_type(const events::event& e) {
    return pick(e.index(), std::make_index_sequence<std::variant_size_v<events::event>>{});
  }

  events::envelope envelope() {
    auto ev = any_event();
    events::envelope e;
    e.position = log_position{rng_() >> 1};
    e.stream = "stream-" + std::to_string(rng_() % 1000);
    e.version = stream_version{rng_() >> 1};
    e.id = gen_.next();
    e.type = std::string{events::type_name_of(ev)};
    e.schema = events::schema_of(ev);
    e.time.micros = static_cast<std::int64_t>(rng_() % 4102444800000000ull);
    e.meta = {string(rng_() % 10), string(rng_() % 10), string(rng_() % 10), string(rng_() % 10)};
    e.data = events::encode_payload(ev);
    return e;
  }

private:
  template <std::size_t... I> events::event pick(std::size_t k, std::index_sequence<I...>) {
    events::event out;
    ((k == I ? (out = event_at<I>(), 0) : 0), ...);
    return out;
  }

  std::mt19937_64 rng_;
  base::uuid_generator gen_{99};
};

} // namespace otaledger::testing
