#define BOOST_TEST_MODULE base
#include <boost/test/unit_test.hpp>

#include "base/bytes.hpp"
#include "base/crc32c.hpp"
#include "base/errc.hpp"
#include "base/time.hpp"
#include "base/uuid.hpp"
#include "base/worker.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace otaledger;

BOOST_AUTO_TEST_SUITE(errc_codes)

BOOST_AUTO_TEST_CASE(every_base_error_code_has_its_own_message) {
  std::set<std::string> seen;
  for (auto e : base::all_errc) {
    std::error_code ec = e;
    BOOST_TEST(ec.message().find("unknown") == std::string::npos);
    BOOST_TEST(seen.insert(ec.message()).second, "duplicate message " << ec.message());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(uuids)

BOOST_AUTO_TEST_CASE(a_uuid_survives_text_round_trip) {
  base::uuid_generator gen{7};
  for (int i = 0; i < 1000; ++i) {
    auto u = gen.next();
    auto text = u.to_string();
    BOOST_TEST(text.size() == 36u);
    BOOST_TEST(text[14] == '4'); // version 4
    auto back = base::uuid::parse(text);
    BOOST_REQUIRE(back);
    BOOST_TEST((back.value() == u));
  }
}

BOOST_AUTO_TEST_CASE(malformed_uuid_text_is_refused) {
  for (auto bad : {"", "not-a-uuid", "6f1c2a3b-1234-4abc-8def-0123456789a",
                   "6f1c2a3b-1234-4abc-8def-0123456789ag", "6f1c2a3b11234-4abc-8def-0123456789ab"})
    BOOST_TEST(!base::uuid::parse(bad), bad);
}

BOOST_AUTO_TEST_CASE(seeded_generators_repeat_and_random_ones_differ) {
  base::uuid_generator a{1}, b{1};
  BOOST_TEST((a.next() == b.next()));
  BOOST_TEST((base::uuid::random() != base::uuid::random()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timestamps)

BOOST_AUTO_TEST_CASE(rfc3339_formats_microseconds_in_utc) {
  BOOST_TEST(base::format_rfc3339({0}) == "1970-01-01T00:00:00.000000Z");
  BOOST_TEST(base::format_rfc3339({1795420614000123}) == "2026-11-23T07:56:54.000123Z");
  BOOST_TEST(base::format_rfc3339({-1}) == "1969-12-31T23:59:59.999999Z");
}

BOOST_AUTO_TEST_CASE(rfc3339_parses_offsets_and_fractions) {
  auto t = base::parse_rfc3339("2026-11-23T08:56:54.5+01:00");
  BOOST_REQUIRE(t);
  BOOST_TEST(t.value().micros == 1795420614500000);
  for (std::int64_t us : {0LL, 1LL, 1795420614000123LL, 253402300799999999LL}) {
    auto back = base::parse_rfc3339(base::format_rfc3339({us}));
    BOOST_REQUIRE(back);
    BOOST_TEST(back.value().micros == us);
  }
}

BOOST_AUTO_TEST_CASE(malformed_times_are_refused) {
  for (auto bad : {"", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z",
                   "2026-11-23T00:00:00", "2026-11-23T00:00:00.Z", "2026-11-23T00:00:00Zjunk"})
    BOOST_TEST(!base::parse_rfc3339(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(crc32c_checksums)

BOOST_AUTO_TEST_CASE(crc32c_matches_the_castagnoli_check_value) {
  BOOST_TEST(base::crc32c("123456789") == 0xE3069283u);
  BOOST_TEST(base::crc32c("") == 0u);
}

BOOST_AUTO_TEST_CASE(crc32c_extends_across_split_input) {
  std::string s(1000, '\0');
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<char>(i * 31);
  auto whole = base::crc32c(s);
  for (std::size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u}) {
    auto part = base::crc32c_extend(0, s.data(), cut);
    BOOST_TEST(base::crc32c_extend(part, s.data() + cut, s.size() - cut) == whole);
  }
}

BOOST_AUTO_TEST_CASE(crc32c_detects_a_flipped_bit) {
  std::string s = "otaledger record";
  auto c = base::crc32c(s);
  s[3] ^= 0x10;
  BOOST_TEST(base::crc32c(s) != c);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(short_strings)

BOOST_AUTO_TEST_CASE(short_equal_finds_a_difference_at_every_byte_of_every_length) {
  for (std::size_t n = 0; n <= 72; ++n) {
    // Padded on both sides: reading outside the n bytes would be caught by
    // the sanitizers, and a word read past the end would see the padding.
    const std::string a = "<<<<<<<<" + std::string(n, 'x') + ">>>>>>>>";
    const std::string_view av = std::string_view{a}.substr(8, n);
    std::string b = "[[[[[[[[" + std::string(n, 'x') + "]]]]]]]]";
    BOOST_TEST(otaledger::base::short_equal(av, std::string_view{b}.substr(8, n)), "length " << n);
    for (std::size_t i = 0; i < n; ++i) {
      b[8 + i] = 'y';
      BOOST_TEST(!otaledger::base::short_equal(av, std::string_view{b}.substr(8, n)),
                 "length " << n << ", byte " << i);
      b[8 + i] = 'x';
    }
  }
}

BOOST_AUTO_TEST_CASE(short_equal_tells_strings_of_different_lengths_apart) {
  BOOST_TEST(!otaledger::base::short_equal("execution.downloaded", "execution.downloade"));
  BOOST_TEST(!otaledger::base::short_equal("", "a"));
  BOOST_TEST(otaledger::base::short_equal("", ""));
}

BOOST_AUTO_TEST_CASE(common_prefix_counts_the_bytes_before_the_first_difference) {
  for (std::size_t n = 0; n <= 40; ++n) {
    const std::string a(n, 'k');
    BOOST_TEST(otaledger::base::common_prefix(a, a) == n);
    BOOST_TEST(otaledger::base::common_prefix(a, a + "z") == n); // one extends the other
    BOOST_TEST(otaledger::base::common_prefix(a + "z", a) == n);
    for (std::size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = '\xff'; // above and below 0x80: bytes compare unsigned
      BOOST_TEST(otaledger::base::common_prefix(a, b) == i, "length " << n << ", byte " << i);
      b[i] = 'j';
      BOOST_TEST(otaledger::base::common_prefix(b, a) == i, "length " << n << ", byte " << i);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(workers)

BOOST_AUTO_TEST_CASE(a_worker_runs_its_tasks_in_order_on_one_other_thread) {
  base::worker w;
  std::vector<int> order; // touched only by the worker's thread
  std::vector<std::future<std::thread::id>> ids;
  for (int i = 0; i < 100; ++i)
    ids.push_back(w.submit([&order, i] {
      order.push_back(i);
      return std::this_thread::get_id();
    }));
  std::set<std::thread::id> threads;
  for (auto& f : ids)
    threads.insert(f.get());
  BOOST_TEST(threads.size() == 1u);
  BOOST_TEST((*threads.begin() != std::this_thread::get_id()));
  BOOST_REQUIRE(order.size() == 100u);
  for (int i = 0; i < 100; ++i)
    BOOST_TEST(order[static_cast<std::size_t>(i)] == i);
}

BOOST_AUTO_TEST_CASE(a_task_that_throws_hands_its_exception_to_the_future_and_the_worker_goes_on) {
  base::worker w;
  auto bad = w.submit([]() -> int { throw std::runtime_error("task failed"); });
  auto good = w.submit([] { return 42; });
  BOOST_CHECK_THROW(bad.get(), std::runtime_error);
  BOOST_TEST(good.get() == 42);
}

BOOST_AUTO_TEST_CASE(a_worker_finishes_its_queued_tasks_before_it_is_destroyed) {
  int done = 0;
  {
    base::worker w;
    for (int i = 0; i < 50; ++i)
      (void)w.submit([&done] { ++done; });
  }
  BOOST_TEST(done == 50);
}

BOOST_AUTO_TEST_SUITE_END()
