#include "channel/codec.hpp"
#include "channel/http_routes.hpp"

#include <boost/test/unit_test.hpp>

using namespace otaledger;
using namespace otaledger::channel;

namespace {

std::string code_of(const problem& p) {
  return std::string{p.code_name()};
}

template <class T> std::string refusal(const checked<T>& r) {
  BOOST_REQUIRE(!r);
  return code_of(r.error()) + ": " + r.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(device_codec)

BOOST_AUTO_TEST_CASE(a_full_report_decodes_into_the_canonical_message) {
  auto m = decode_message(message_type::report,
                          R"({"id":"r1","fota_version":"1.0","sota_version":"2.0-b",)"
                          R"("online":true,"signal":20,"battery":80})");
  BOOST_REQUIRE(m);
  auto r = std::get<device_report>(m.value());
  BOOST_TEST(r.id == "r1");
  BOOST_TEST(*r.fota_version == "1.0");
  BOOST_TEST(*r.sota_version == "2.0-b");
  BOOST_TEST(*r.online);
  BOOST_TEST(*r.signal == 20u);
  BOOST_TEST(*r.battery == 80u);
}

BOOST_AUTO_TEST_CASE(absent_report_fields_stay_unreported) {
  auto m = decode_message(message_type::report, R"({"id":"r1","battery":null})");
  BOOST_REQUIRE(m);
  auto r = std::get<device_report>(m.value());
  BOOST_TEST(!r.fota_version.has_value());
  BOOST_TEST(!r.battery.has_value());
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_refused_naming_the_field) {
  using t = message_type;
  BOOST_TEST(
      refusal(decode_message(t::report, "{")).starts_with("malformed: message is not valid"));
  BOOST_TEST(refusal(decode_message(t::report, "[1]")) ==
             "malformed: message must be a JSON object");
  BOOST_TEST(refusal(decode_message(t::report, R"({"fota_version":"1"})")) ==
             "malformed: id is required");
  BOOST_TEST(
      refusal(decode_message(t::report, R"({"id":"a b"})")).starts_with("malformed: id must"));
  BOOST_TEST(refusal(decode_message(t::report, R"({"id":"r","batery":5})")) ==
             "malformed: unknown field 'batery'");
  BOOST_TEST(refusal(decode_message(t::report, R"({"id":"r","battery":101})")) ==
             "malformed: battery must be an integer 0-100");
  BOOST_TEST(refusal(decode_message(t::report, R"({"id":"r","signal":-1})")) ==
             "malformed: signal must be an integer 0-255");
  BOOST_TEST(refusal(decode_message(t::report, R"({"id":"r","signal":"5"})")) ==
             "malformed: signal must be an integer 0-255");
  BOOST_TEST(refusal(decode_message(t::report, R"({"id":"r","online":1})")) ==
             "malformed: online must be true or false");
  BOOST_TEST(refusal(decode_message(t::report, R"({"id":"r","fota_version":"1 0"})"))
                 .starts_with("malformed: fota_version must be 1-50"));
  BOOST_TEST(refusal(decode_message(t::report, "{\"id\":\"r\",\"fota_version\":\"\xff\"}"))
                 .starts_with("malformed: message is not valid JSON"));
}

BOOST_AUTO_TEST_CASE(an_oversized_message_is_refused_before_it_is_parsed) {
  codec_limits l;
  l.max_message_bytes = 64;
  auto text = R"({"id":"r1","fota_version":")" + std::string(100, 'a') + "\"}";
  BOOST_TEST(refusal(decode_message(message_type::report, text, l)) ==
             "too_large: message is " + std::to_string(text.size()) +
                 " bytes, the limit is 64 bytes");
}

BOOST_AUTO_TEST_CASE(progress_needs_a_task_a_device_phase_and_a_percent_while_downloading) {
  using t = message_type;
  auto m =
      decode_message(t::progress, R"({"id":"p1","task":"17","phase":"downloading","percent":40})");
  BOOST_REQUIRE(m);
  BOOST_TEST(std::get<device_progress>(m.value()).percent == 40u);
  auto d = decode_message(t::progress, R"({"id":"p2","task":"17","phase":"downloaded"})");
  BOOST_REQUIRE(d);
  BOOST_TEST(std::get<device_progress>(d.value()).percent == 100u);
  BOOST_TEST(
      refusal(decode_message(t::progress, R"({"id":"p","task":"17","phase":"downloading"})")) ==
      "malformed: percent is required with phase downloading");
  BOOST_TEST(
      refusal(decode_message(t::progress, R"({"id":"p","task":"17","phase":"succeeded"})")) ==
      "malformed: phase must be downloading, downloaded or installing");
  BOOST_TEST(refusal(decode_message(t::progress, R"({"id":"p","task":"17","phase":"flying"})"))
                 .starts_with("malformed: phase 'flying' is not one of"));
  BOOST_TEST(refusal(decode_message(t::progress, R"({"id":"p","phase":"downloaded"})")) ==
             "malformed: task is required");
}

BOOST_AUTO_TEST_CASE(results_carry_a_version_on_success_and_a_device_code_on_failure) {
  using t = message_type;
  auto ok =
      decode_message(t::result, R"({"id":"x1","task":"17","status":"succeeded","version":"1.1"})");
  BOOST_REQUIRE(ok);
  BOOST_TEST(std::get<device_result>(ok.value()).succeeded);
  auto bad = decode_message(
      t::result,
      R"({"id":"x1","task":"17","status":"failed","code":"checksum_mismatch","text":"md5"})");
  BOOST_REQUIRE(bad);
  BOOST_TEST(
      (std::get<device_result>(bad.value()).code == events::failure_code::checksum_mismatch));
  BOOST_TEST(refusal(decode_message(t::result, R"({"id":"x","task":"17","status":"succeeded"})")) ==
             "malformed: version is required when status is succeeded");
  BOOST_TEST(refusal(decode_message(
                 t::result, R"({"id":"x","task":"17","status":"failed","code":"timed_out"})")) ==
             "malformed: code timed_out is set by the platform, not reported by devices");
  BOOST_TEST(refusal(decode_message(t::result, R"({"id":"x","task":"17","status":"done"})")) ==
             "malformed: status must be succeeded or failed");
}

BOOST_AUTO_TEST_CASE(mqtt_messages_may_carry_an_auth_field_only_when_asked) {
  std::string auth;
  auto m = decode_message(message_type::report, R"({"id":"r","auth":"s3cret"})", {}, "auth", &auth);
  BOOST_REQUIRE(m);
  BOOST_TEST(auth == "s3cret");
  BOOST_TEST(refusal(decode_message(message_type::report, R"({"id":"r","auth":"s"})")) ==
             "malformed: unknown field 'auth'");
}

BOOST_AUTO_TEST_CASE(a_registration_needs_the_product_secret_and_a_long_enough_own_secret) {
  auto r = decode_registration(R"({"id":"g1","device":"d1","product":"p1","product_secret":"ps",)"
                               R"("secret":"0123456789abcdef","region":{"province":"广东省"}})");
  BOOST_REQUIRE(r);
  BOOST_TEST(r.value().region.province == "广东省");
  BOOST_TEST(refusal(decode_registration(R"({"id":"g1","device":"d1","product":"p1"})")) ==
             "malformed: product_secret is required");
  BOOST_TEST(
      refusal(
          decode_registration(
              R"({"id":"g1","device":"d1","product":"p1","product_secret":"x","secret":"short"})"))
          .starts_with("malformed: secret must be 16-256 bytes"));
  BOOST_TEST(
      refusal(decode_registration(
          R"({"id":"g1","device":"d1","product":"p1","product_secret":"x","region":{"x":1}})")) ==
      "malformed: unknown field 'region.x'");
}

BOOST_AUTO_TEST_CASE(an_instruction_survives_encoding_and_decoding) {
  instruction i;
  i.kind = instruction_kind::hold;
  i.task = "17";
  i.attempt = 2;
  i.download_only = true;
  i.install_allowed = false;
  i.package = {"k1",
               events::package_type::delta,
               events::firmware_kind::sota,
               "1.0",
               "1.1",
               1234,
               std::string(32, 'a'),
               std::string(64, 'b'),
               "/v1/devices/d1/packages/k1"};
  auto back = decode_instruction(encode_instruction(i));
  BOOST_REQUIRE(back);
  BOOST_TEST((back.value() == i));
}

BOOST_AUTO_TEST_CASE(replies_name_the_machine_code_and_the_sentence) {
  BOOST_TEST(encode_accepted("m1", true) == R"({"id":"m1","accepted":true,"duplicate":true})");
  auto p = make_problem(errc::out_of_order, "behind");
  BOOST_TEST(encode_problem("m1", p) ==
             R"({"id":"m1","accepted":false,"error":{"code":"out_of_order","message":"behind"}})");
  BOOST_TEST(p.http_status() == 409);
  BOOST_TEST(http_status_of(domain::make_error_code(domain::errc::execution_finished)) == 410);
  BOOST_TEST(http_status_of(domain::make_error_code(domain::errc::no_execution)) == 404);
  BOOST_TEST(http_status_of(make_error_code(errc::unauthorized)) == 401);
  BOOST_TEST(http_status_of(make_error_code(errc::too_large)) == 413);
}

BOOST_AUTO_TEST_CASE(every_channel_code_has_a_name_and_a_message) {
  for (auto e : all_errc) {
    BOOST_TEST(to_name(e) != "");
    BOOST_TEST(to_message(e) != "unknown channel error");
  }
}

BOOST_AUTO_TEST_CASE(ranges_are_one_satisfiable_bytes_range_or_refused) {
  auto r = [](std::string_view h, std::uint64_t size) { return parse_range(h, size); };
  BOOST_TEST(!r("", 10).value().has_value());
  BOOST_TEST((*r("bytes=0-3", 10).value() == byte_range{0, 3}));
  BOOST_TEST((*r("bytes=4-", 10).value() == byte_range{4, 9}));
  BOOST_TEST((*r("bytes=-3", 10).value() == byte_range{7, 9}));
  BOOST_TEST((*r("bytes=5-100", 10).value() == byte_range{5, 9}));
  for (auto bad :
       {"bytes=10-", "bytes=3-2", "items=0-1", "bytes=0-1,3-4", "bytes=x-", "bytes=-0"}) {
    auto p = r(bad, 10);
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!p);
    if (!p) BOOST_TEST(p.error().http_status() == 416);
  }
}

BOOST_AUTO_TEST_CASE(bearer_and_target_token_schemes_carry_the_secret) {
  BOOST_TEST(bearer_secret("Bearer abc") == "abc");
  BOOST_TEST(bearer_secret("TargetToken abc") == "abc");
  BOOST_TEST(bearer_secret("Basic abc") == "");
  BOOST_TEST(bearer_secret("") == "");
}

BOOST_AUTO_TEST_SUITE_END()
