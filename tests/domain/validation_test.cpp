#include <boost/test/unit_test.hpp>

#include "domain/validation.hpp"

using namespace otaledger;
using namespace otaledger::domain;

namespace {
base::timestamp at(const char* text) {
  return base::parse_rfc3339(text).value();
}
} // namespace

BOOST_AUTO_TEST_SUITE(field_validation)

BOOST_AUTO_TEST_CASE(a_version_is_one_to_fifty_letters_digits_underscores_dashes_and_dots) {
  BOOST_TEST(is_valid_version("1"));
  BOOST_TEST(is_valid_version("V1.2.3_rc-4"));
  BOOST_TEST(is_valid_version(std::string(50, 'a')));
  BOOST_TEST(!is_valid_version(std::string(51, 'a')));
  BOOST_TEST(!is_valid_version(""));
  BOOST_TEST(!is_valid_version("1.0 beta"));
  BOOST_TEST(!is_valid_version("1.0/2"));
  BOOST_TEST(!is_valid_version("版本1"));
}

BOOST_AUTO_TEST_CASE(an_id_is_one_to_sixty_four_safe_characters) {
  BOOST_TEST(is_valid_id("task-17"));
  BOOST_TEST(is_valid_id("verify-F12"));
  BOOST_TEST(is_valid_id("a:b.c_d"));
  BOOST_TEST(is_valid_id(std::string(64, 'x')));
  BOOST_TEST(!is_valid_id(std::string(65, 'x')));
  BOOST_TEST(!is_valid_id(""));
  BOOST_TEST(!is_valid_id("a b"));
  BOOST_TEST(!is_valid_id("../etc"));
}

BOOST_AUTO_TEST_CASE(text_length_counts_characters_not_bytes) {
  BOOST_TEST(is_valid_text("春季升级", 1, 4));
  BOOST_TEST(!is_valid_text("春季升级!", 1, 4));
  BOOST_TEST(utf8_length("升级").value() == 2u);
  BOOST_TEST(!is_valid_text("", 1, 10));
  BOOST_TEST(is_valid_text("", 0, 10));
}

BOOST_AUTO_TEST_CASE(text_with_control_characters_or_broken_utf8_is_refused) {
  BOOST_TEST(!is_valid_text("a\nb", 0, 10));
  BOOST_TEST(!is_valid_text("a\x7f", 0, 10));
  BOOST_TEST(!utf8_length("\xe5\x8d"));     // truncated
  BOOST_TEST(!utf8_length("\xc0\xaf"));     // overlong '/'
  BOOST_TEST(!utf8_length("\xed\xa0\x80")); // surrogate
  BOOST_TEST(!utf8_length("\xff"));
}

BOOST_AUTO_TEST_CASE(digests_are_lower_case_hex_of_the_right_length) {
  BOOST_TEST(is_lower_hex("0123456789abcdef0123456789abcdef", 32));
  BOOST_TEST(!is_lower_hex("0123456789ABCDEF0123456789abcdef", 32));
  BOOST_TEST(!is_lower_hex("0123", 32));
  BOOST_TEST(!is_lower_hex("0123456789abcdeg0123456789abcdef", 32));
}

BOOST_AUTO_TEST_CASE(a_mac_is_normalized_from_any_common_form) {
  BOOST_TEST(normalize_mac("AC:CF:23:A1:B2:C3").value() == "ac:cf:23:a1:b2:c3");
  BOOST_TEST(normalize_mac("ac-cf-23-a1-b2-c3").value() == "ac:cf:23:a1:b2:c3");
  BOOST_TEST(normalize_mac("ACCF23A1B2C3").value() == "ac:cf:23:a1:b2:c3");
  BOOST_TEST(!normalize_mac("ac:cf-23:a1:b2:c3"));
  BOOST_TEST(!normalize_mac("ac:cf:23:a1:b2"));
  BOOST_TEST(!normalize_mac("gg:cf:23:a1:b2:c3"));
}

BOOST_AUTO_TEST_CASE(an_imei_is_fifteen_digits) {
  BOOST_TEST(is_valid_imei("861234567890123"));
  BOOST_TEST(!is_valid_imei("86123456789012"));
  BOOST_TEST(!is_valid_imei("86123456789012x"));
}

BOOST_AUTO_TEST_CASE(gizwits_version_codes_are_letters_and_digits) {
  BOOST_TEST(is_valid_version_code("00MX3162"));
  BOOST_TEST(is_valid_version_code("04000008"));
  BOOST_TEST(!is_valid_version_code(""));
  BOOST_TEST(!is_valid_version_code("00-MX"));
  BOOST_TEST(!is_valid_version_code(std::string(33, '0')));
}

BOOST_AUTO_TEST_CASE(images_are_bin_hex_zip_rar_or_swu_in_any_case) {
  for (auto n : {"a.bin", "a.HEX", "a.b.Zip", "x.rar", "gw-1.1.swu", "GW.SWU"})
    BOOST_TEST(has_image_extension(n), n);
  for (auto n : {"a.exe", "bin", ".bin", "a.bin.txt", "a.", "a.swux", ".swu"})
    BOOST_TEST(!has_image_extension(n), n);
}

BOOST_AUTO_TEST_CASE(truncation_never_splits_a_character) {
  BOOST_TEST(truncate_utf8("升级失败", 4) == "升");
  BOOST_TEST(truncate_utf8("升级失败", 6) == "升级");
  BOOST_TEST(truncate_utf8("abc", 10) == "abc");
  BOOST_TEST(truncate_utf8("abc", 0) == "");
}

BOOST_AUTO_TEST_CASE(a_file_over_the_limit_is_too_large_and_names_the_sizes) {
  events::file_info f{"a.bin", (2u << 20) + 1, std::string(32, 'a'), std::string(64, 'b'), "k"};
  auto r = check_file("file", f, 2u << 20);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::too_large));
  BOOST_TEST(r.error().message == "file of 2.0 MiB is over the 2 MiB limit");
  f.size = 2u << 20;
  BOOST_TEST(check_file("file", f, 2u << 20).has_value());
}

BOOST_AUTO_TEST_CASE(a_daily_window_is_utc_hours_and_may_wrap_past_midnight) {
  events::daily_window day{9, 17};
  BOOST_TEST(in_daily_window(day, at("2026-01-01T09:00:00Z")));
  BOOST_TEST(in_daily_window(day, at("2026-01-01T16:59:59Z")));
  BOOST_TEST(!in_daily_window(day, at("2026-01-01T17:00:00Z")));
  events::daily_window night{22, 6};
  BOOST_TEST(in_daily_window(night, at("2026-01-01T23:30:00Z")));
  BOOST_TEST(in_daily_window(night, at("2026-01-01T05:59:59Z")));
  BOOST_TEST(!in_daily_window(night, at("2026-01-01T06:00:00Z")));
  events::daily_window all{0, 24};
  BOOST_TEST(in_daily_window(all, at("2026-01-01T23:59:59Z")));
}

BOOST_AUTO_TEST_CASE(the_next_window_opening_is_today_or_tomorrow) {
  events::daily_window day{9, 17};
  BOOST_TEST((next_window_opening(day, at("2026-01-01T08:15:00Z")) == at("2026-01-01T09:00:00Z")));
  BOOST_TEST((next_window_opening(day, at("2026-01-01T18:00:00Z")) == at("2026-01-02T09:00:00Z")));
  BOOST_TEST((next_window_opening(day, at("2026-01-01T10:00:00Z")) == at("2026-01-01T10:00:00Z")));
  events::daily_window night{22, 6};
  BOOST_TEST(
      (next_window_opening(night, at("2026-01-01T12:00:00Z")) == at("2026-01-01T22:00:00Z")));
}

BOOST_AUTO_TEST_CASE(window_validity) {
  BOOST_TEST(is_valid_window({0, 24}));
  BOOST_TEST(is_valid_window({22, 6}));
  BOOST_TEST(!is_valid_window({8, 8}));
  BOOST_TEST(!is_valid_window({24, 3}));
  BOOST_TEST(!is_valid_window({3, 0}));
  BOOST_TEST(!is_valid_window({3, 25}));
}

BOOST_AUTO_TEST_SUITE_END()
