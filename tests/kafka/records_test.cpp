// Unit tests of the record layout (CloudEvents binary mode), the options and
// the error codes: no broker involved.
#include <boost/test/unit_test.hpp>

#include "events/json_codec.hpp"
#include "kafka/cli.hpp"
#include "kafka/cloudevents.hpp"
#include "kafka/errc.hpp"
#include "kafka/options.hpp"
#include "storage/memory_event_store.hpp"
#include "tests/events/random_values.hpp"
#include "tests/kafka/log_fill.hpp"
#include "tests/kafka/print.hpp"

#include <set>

using namespace otaledger;
using namespace otaledger::kafka;

namespace {

events::envelope sample_envelope() {
  auto owned = storage::make_memory_event_store();
  auto& store = *owned;
  kafka::testing::fill(store, 3, 2);
  return store.read_all(log_position{3}, 1).value().at(0);
}

} // namespace

BOOST_AUTO_TEST_SUITE(records)

BOOST_AUTO_TEST_CASE(a_record_is_keyed_by_its_stream_and_carries_the_envelope_json) {
  auto e = sample_envelope();
  auto r = make_record(e, "otaledger://node-1");
  BOOST_REQUIRE(r);
  BOOST_TEST(r.value().key == e.stream);
  auto j = events::json::parse(r.value().value);
  BOOST_TEST(r.value().value == events::envelope_to_json_line(e).value());
  std::string error;
  auto back = events::envelope_from_json(j, error);
  BOOST_REQUIRE_MESSAGE(back, error);
  BOOST_TEST((back.value() == e));
  BOOST_TEST(r.value().value.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_record_has_the_documented_cloudevents_headers_in_binary_mode) {
  auto e = sample_envelope();
  auto r = make_record(e, "otaledger://node-1").value();
  BOOST_TEST(*r.header_value("ce_specversion") == "1.0");
  BOOST_TEST(*r.header_value("ce_id") == e.id.to_string());
  BOOST_TEST(*r.header_value("ce_source") == "otaledger://node-1");
  BOOST_TEST(*r.header_value("ce_type") == "product.created.v1");
  BOOST_TEST(*r.header_value("ce_time") == base::format_rfc3339(e.time));
  BOOST_TEST(*r.header_value("ce_subject") == e.stream);
  BOOST_TEST(*r.header_value("ce_otaposition") == "3");
  BOOST_TEST(*r.header_value("ce_otaversion") == std::to_string(e.version()));
  BOOST_TEST(*r.header_value("content-type") == "application/json");
  BOOST_TEST(r.headers.size() == 9u);
  // Binary mode: content-type is not application/cloudevents*.
  BOOST_TEST(r.header_value("content-type")->rfind("application/cloudevents", 0) ==
             std::string_view::npos);
}

BOOST_AUTO_TEST_CASE(the_record_value_is_byte_for_byte_the_envelope_json_line_of_any_event) {
  // The relay writes the JSON itself (fast path); it must be exactly what
  // events::envelope_to_json_line writes, for every type of the catalog.
  otaledger::testing::random_filler gen{2024};
  for (int i = 0; i < 5000; ++i) {
    auto e = gen.envelope();
    auto rec = make_record(e, "otaledger://n");
    auto line = events::envelope_to_json_line(e);
    BOOST_REQUIRE(rec);
    BOOST_REQUIRE(line);
    BOOST_TEST(rec.value().value == line.value());
    BOOST_TEST(*rec.value().header_value("ce_id") == e.id.to_string());
    BOOST_TEST(*rec.value().header_value("ce_time") == base::format_rfc3339(e.time));
  }
}

BOOST_AUTO_TEST_CASE(control_bytes_are_escaped_as_the_json_codec_escapes_them) {
  auto e = sample_envelope();
  for (int c = 0; c < 0x80; ++c)
    e.meta.reason.push_back(static_cast<char>(c));
  e.meta.principal = "caf\xc3\xa9 \xe5\x8d\x87 \xf0\x9f\x9a\x80";
  e.time = base::timestamp{-1'234'567}; // before 1970: negative microseconds
  auto rec = make_record(e, "s");
  BOOST_REQUIRE(rec);
  BOOST_TEST(rec.value().value == events::envelope_to_json_line(e).value());
}

BOOST_AUTO_TEST_CASE(a_string_that_is_not_utf8_is_published_with_replacement_characters) {
  auto e = sample_envelope();
  e.meta.reason = "bad \xff\xfe byte and a lone \xed\xa0\x80 surrogate";
  auto rec = make_record(e, "s");
  BOOST_REQUIRE(rec);
  auto j = events::json::parse(rec.value().value);
  BOOST_TEST(j["reason"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
  BOOST_TEST(j["position"].get<std::uint64_t>() == e.position());
}

BOOST_AUTO_TEST_CASE(the_cloudevents_type_is_the_event_type_and_its_schema_version) {
  BOOST_TEST(cloudevents_type("task.paused", 1) == "task.paused.v1");
  BOOST_TEST(cloudevents_type("device.task.failed", 12) == "device.task.failed.v12");
}

BOOST_AUTO_TEST_CASE(an_event_whose_payload_does_not_decode_has_no_record) {
  auto e = sample_envelope();
  e.type = "no.such.type";
  BOOST_TEST(!make_record(e, "s"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(kafka_options)

BOOST_AUTO_TEST_CASE(relay_options_without_brokers_are_refused) {
  relay_options o;
  BOOST_TEST(validate(o).find("brokers") != std::string::npos);
  o.client.brokers = "127.0.0.1:1";
  BOOST_TEST(validate(o).empty());
}

BOOST_AUTO_TEST_CASE(a_topic_name_kafka_refuses_is_refused) {
  relay_options o;
  o.client.brokers = "127.0.0.1:1";
  o.client.topic = "bad topic";
  BOOST_TEST(!validate(o).empty());
}

BOOST_AUTO_TEST_CASE(pass_through_properties_may_not_weaken_the_delivery_guarantee) {
  relay_options o;
  o.client.brokers = "127.0.0.1:1";
  o.client.properties["acks"] = "1";
  BOOST_TEST(validate(o).find("acks") != std::string::npos);
  o.client.properties = {{"enable.idempotence", "false"}};
  BOOST_TEST(validate(o).find("enable.idempotence") != std::string::npos);
  o.client.properties = {{"security.protocol", "SASL_SSL"}, {"sasl.mechanisms", "PLAIN"}};
  BOOST_TEST(validate(o).empty());
}

BOOST_AUTO_TEST_CASE(an_unknown_compression_is_refused) {
  relay_options o;
  o.client.brokers = "127.0.0.1:1";
  o.compression = "brotli";
  BOOST_TEST(validate(o).find("compression") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_producer_is_idempotent_with_acks_all_and_pass_through_last) {
  relay_options o;
  o.client.brokers = "b:1";
  o.client.properties = {{"ssl.ca.location", "/ca.pem"}};
  auto p = producer_properties(o);
  auto find = [&](const std::string& k) -> std::string {
    for (auto& [key, v] : p)
      if (key == k) return v;
    return "<unset>";
  };
  BOOST_TEST(find("enable.idempotence") == "true");
  BOOST_TEST(find("acks") == "all");
  BOOST_TEST(find("message.timeout.ms") == "0");
  BOOST_TEST(find("enable.gapless.guarantee") == "true");
  BOOST_TEST(find("compression.codec") == "lz4");
  BOOST_TEST(p.back().first == "ssl.ca.location");
}

BOOST_AUTO_TEST_CASE(the_default_source_names_this_host) {
  relay_options o;
  BOOST_TEST(effective_source(o).rfind("otaledger://", 0) == 0u);
  o.source = "otaledger://eu-1";
  BOOST_TEST(effective_source(o) == "otaledger://eu-1");
}

BOOST_AUTO_TEST_CASE(every_kafka_error_code_has_its_own_message) {
  std::set<std::string> seen;
  for (auto e : all_errc) {
    std::error_code ec = e;
    BOOST_TEST(ec.message().find("unknown kafka error") == std::string::npos);
    BOOST_TEST(seen.insert(ec.message()).second);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(consume_command)

namespace {
int run_consume(std::vector<std::string> args) {
  args.insert(args.begin(), "consume");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return consume_main(static_cast<int>(argv.size()), argv.data());
}
} // namespace

BOOST_AUTO_TEST_CASE(help_is_printed_and_succeeds) {
  BOOST_TEST(run_consume({"--help"}) == 0);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_with_status_2) {
  BOOST_TEST(run_consume({"--brokers", "127.0.0.1:1", "--bogus"}) == 2);
  BOOST_TEST(run_consume({"--brokers", "127.0.0.1:1", "--max", "ten"}) == 2);
  BOOST_TEST(run_consume({"--brokers", "127.0.0.1:1", "--output", "xml"}) == 2);
  BOOST_TEST(run_consume({"--brokers", "127.0.0.1:1", "-X", "novalue"}) == 2);
  BOOST_TEST(run_consume({"--brokers=127.0.0.1:1", "--topic=bad topic"}) == 2);
}

BOOST_AUTO_TEST_CASE(no_brokers_is_a_usage_error_unless_the_environment_names_them) {
  const char* saved = std::getenv("OTALEDGER_KAFKA_BROKERS");
  std::string keep = saved ? saved : "";
  ::unsetenv("OTALEDGER_KAFKA_BROKERS");
  BOOST_TEST(run_consume({"--from-beginning"}) == 2);
  ::setenv("OTALEDGER_KAFKA_BROKERS", "127.0.0.1:1", 1);
  BOOST_TEST(run_consume({"--max", "0"}) == 0); // nothing to read: done at once
  if (saved)
    ::setenv("OTALEDGER_KAFKA_BROKERS", keep.c_str(), 1);
  else
    ::unsetenv("OTALEDGER_KAFKA_BROKERS");
}

BOOST_AUTO_TEST_SUITE_END()
