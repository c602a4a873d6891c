#define BOOST_TEST_MODULE events
#include <boost/test/unit_test.hpp>

#include "events/codec.hpp"
#include "events/errc.hpp"
#include "events/event.hpp"
#include "events/json_codec.hpp"
#include "tests/events/random_values.hpp"

#include <set>

using namespace otaledger;
using namespace otaledger::events;

namespace {

template <std::size_t... I> void for_each_event_type(auto&& fn, std::index_sequence<I...>) {
  (fn.template operator()<I>(), ...);
}

void for_each_event_type(auto&& fn) {
  for_each_event_type(fn, std::make_index_sequence<std::variant_size_v<event>>{});
}

} // namespace

BOOST_AUTO_TEST_SUITE(event_codecs)

BOOST_AUTO_TEST_CASE(every_events_error_code_has_its_own_message) {
  std::set<std::string> seen;
  for (auto e : all_errc) {
    std::error_code ec = e;
    BOOST_TEST(ec.message().find("unknown events error") == std::string::npos);
    BOOST_TEST(seen.insert(ec.message()).second);
  }
}

BOOST_AUTO_TEST_CASE(catalog_type_names_are_unique_and_dotted) {
  std::set<std::string_view> seen;
  for (auto name : catalog_type_names()) {
    BOOST_TEST(seen.insert(name).second, "duplicate type " << name);
    BOOST_TEST(name.find('.') != std::string_view::npos, name);
  }
  BOOST_TEST(seen.size() == std::variant_size_v<event>);
}

BOOST_AUTO_TEST_CASE(every_event_type_round_trips_through_binary_and_json) {
  testing::random_filler rnd{1};
  for_each_event_type([&]<std::size_t I>() {
    for (int round = 0; round < 200; ++round) {
      event e = round == 0 ? event{std::variant_alternative_t<I, event>{}} : rnd.event_at<I>();
      auto name = type_name_of(e);
      auto bytes = encode_payload(e);
      auto back = decode_payload(name, schema_of(e), bytes);
      BOOST_REQUIRE_MESSAGE(back, "binary decode of " << name);
      BOOST_TEST((back.value() == e), "binary round trip of " << name);
      std::string error;
      auto from_json = event_from_json(name, event_to_json(e), error);
      BOOST_REQUIRE_MESSAGE(from_json, "json decode of " << name << ": " << error);
      BOOST_TEST((from_json.value() == e), "json round trip of " << name);
    }
  });
}

BOOST_AUTO_TEST_CASE(decoding_into_a_reused_event_gives_what_a_fresh_decode_gives) {
  testing::random_filler rnd{7};
  // One event reused for every decode: the same type again (its old field
  // values must not leak into the new one), then another type.
  event reused;
  for (int i = 0; i < 3000; ++i) {
    auto e = rnd.any_event();
    auto bytes = encode_payload(e);
    for (int twice = 0; twice < 2; ++twice) {
      auto r = decode_payload_into(type_name_of(e), schema_of(e), bytes, reused);
      BOOST_REQUIRE_MESSAGE(r, "decode of " << type_name_of(e));
      BOOST_TEST((reused == e), "reused decode of " << type_name_of(e));
      e = rnd.any_event_of_type(e);
      bytes = encode_payload(e);
    }
  }
  auto bad = decode_payload_into("product.created", 1,
                                 std::string_view{"\x05"
                                                  "ab"},
                                 reused);
  BOOST_REQUIRE(!bad);
  BOOST_TEST((bad.error() == errc::malformed));
  auto unknown = decode_payload_into("no.such.type", 1, "", reused);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error() == errc::unknown_type));
}

BOOST_AUTO_TEST_CASE(random_envelopes_round_trip_through_json) {
  testing::random_filler rnd{2};
  for (int i = 0; i < 2000; ++i) {
    auto env = rnd.envelope();
    auto j = envelope_to_json(env);
    BOOST_REQUIRE(j);
    // Through text, as Kafka and export carry it.
    auto parsed = json::parse(j.value().dump());
    std::string error;
    auto back = envelope_from_json(parsed, error);
    BOOST_REQUIRE_MESSAGE(back, error);
    BOOST_TEST((back.value() == env));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(payload_bytes)

BOOST_AUTO_TEST_CASE(every_truncation_of_a_payload_is_malformed) {
  testing::random_filler rnd{3};
  for (int i = 0; i < 300; ++i) {
    auto e = rnd.any_event();
    auto bytes = encode_payload(e);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      auto r =
          decode_payload(type_name_of(e), schema_of(e), std::string_view{bytes}.substr(0, cut));
      BOOST_TEST(!r);
      if (!r) BOOST_TEST((r.error() == errc::malformed));
    }
  }
}

BOOST_AUTO_TEST_CASE(trailing_bytes_after_a_payload_are_malformed) {
  auto e = event{product_created{"p1", "meter", "", true}};
  auto bytes = encode_payload(e) + "x";
  auto r = decode_payload(type_name_of(e), schema_of(e), bytes);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::malformed));
}

BOOST_AUTO_TEST_CASE(random_bytes_never_crash_the_decoder) {
  std::mt19937_64 rng{4};
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    auto& names = catalog_type_names();
    auto name = names[rng() % names.size()];
    auto r = decode_payload(name, 1, junk);
    if (r) BOOST_TEST(type_name_of(r.value()) == name);
  }
}

BOOST_AUTO_TEST_CASE(a_huge_declared_length_is_refused_without_allocating) {
  std::string bytes;
  put_varint(bytes, std::uint64_t{1} << 60); // a string "of 2^60 bytes"
  auto r = decode_payload("product.created", 1, bytes);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::malformed));
}

BOOST_AUTO_TEST_CASE(an_unknown_type_is_reported_as_such) {
  auto r = decode_payload("no.such.type", 1, "");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::unknown_type));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_form)

BOOST_AUTO_TEST_CASE(envelope_json_has_the_documented_fields_in_order) {
  envelope env;
  env.position = log_position{42};
  env.stream = "product-p1";
  env.version = stream_version{1};
  env.id = base::uuid_generator{5}.next();
  env.type = "product.created";
  env.time = base::timestamp{1795420614000123};
  env.meta = {"operator:alice", "cmd-1", "corr-1", "first product"};
  env.data = encode_payload(product_created{"p1", "smart meter", "", true});
  auto j = envelope_to_json(env);
  BOOST_REQUIRE(j);
  std::vector<std::string> keys;
  for (auto& [k, v] : j.value().items())
    keys.push_back(k);
  std::vector<std::string> expected{"position", "stream",      "version", "id",
                                    "type",     "schema",      "time",    "principal",
                                    "command",  "correlation", "reason",  "data"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());
  BOOST_TEST(j.value()["time"] == "2026-11-23T07:56:54.000123Z");
  BOOST_TEST(j.value()["data"]["name"] == "smart meter");
}

BOOST_AUTO_TEST_CASE(a_json_error_names_the_field_and_what_was_expected) {
  std::string error;
  auto r =
      event_from_json("product.created", json::parse(R"({"product":"p","name":7,"secret_hash":"",
                                           "require_verification":true})"),
                      error);
  BOOST_TEST(!r);
  BOOST_TEST(error == "data.name must be a string");
  r = event_from_json("product.created", json::parse(R"({"product":"p"})"), error);
  BOOST_TEST(!r);
  BOOST_TEST(error == "missing field data.name");
}

BOOST_AUTO_TEST_CASE(an_envelope_with_a_bad_id_or_time_is_refused_with_the_reason) {
  testing::random_filler rnd{6};
  auto j = envelope_to_json(rnd.envelope()).value();
  std::string error;
  auto bad_id = j;
  bad_id["id"] = "nope";
  BOOST_TEST(!envelope_from_json(bad_id, error));
  BOOST_TEST(error == "id must be a UUID");
  auto bad_time = j;
  bad_time["time"] = "yesterday";
  BOOST_TEST(!envelope_from_json(bad_time, error));
  BOOST_TEST(error == "time must be an RFC 3339 time");
  auto no_stream = j;
  no_stream.erase("stream");
  BOOST_TEST(!envelope_from_json(no_stream, error));
  BOOST_TEST(error == "missing field stream");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(upcasting)

// Schema 0 of product.created, as an older build would have stored it: no
// secret and no verification flag.
struct product_created_v0 {
  std::string product;
  std::string name;
  template <class Self, class F> static void fields(Self& s, F&& f) {
    f("product", s.product);
    f("name", s.name);
  }
};

BOOST_AUTO_TEST_CASE(an_old_schema_is_read_as_the_current_one_through_its_upcaster) {
  auto old_bytes = encode_binary(product_created_v0{"p9", "legacy meter"});
  auto before = decode_payload("product.created", 0, old_bytes);
  BOOST_REQUIRE(!before);
  BOOST_TEST((before.error() == errc::unsupported_schema));

  register_upcaster("product.created", 0, [](std::string_view data) -> result<event> {
    OTA_TRY(old, decode_binary<product_created_v0>(data));
    return event{product_created{old.product, old.name, "", true}};
  });
  auto after = decode_payload("product.created", 0, old_bytes);
  BOOST_REQUIRE(after);
  BOOST_TEST((after.value() == event{product_created{"p9", "legacy meter", "", true}}));

  envelope env;
  env.type = "product.created";
  env.schema = 0;
  env.id = base::uuid_generator{8}.next();
  env.data = old_bytes;
  auto j = envelope_to_json(env);
  BOOST_REQUIRE(j);
  BOOST_TEST(j.value()["schema"] == 1); // shown in its current shape
}

BOOST_AUTO_TEST_SUITE_END()
