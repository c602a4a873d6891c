// The blob store: digests, limits, ranged reads, crash leftovers, ids.
#include <boost/test/unit_test.hpp>

#include "tests/storage/store_fixture.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace otaledger;
using namespace otaledger::storage;
using otaledger::testing::rocks_env;

namespace {

std::string digest_hex(const EVP_MD* md, const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  BOOST_REQUIRE(EVP_Digest(data.data(), data.size(), d, &n, md, nullptr) == 1);
  std::string s;
  static constexpr char h[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; ++i) {
    s.push_back(h[d[i] >> 4]);
    s.push_back(h[d[i] & 15]);
  }
  return s;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

blob_info put(blob_store& blobs, const std::string& data) {
  auto w = blobs.begin(data.size() + 1).value();
  BOOST_REQUIRE(w->write(data));
  return w->finish().value();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(blobs, rocks_env)

BOOST_AUTO_TEST_CASE(a_blob_written_in_chunks_has_the_size_and_digests_of_its_bytes) {
  auto data = random_bytes(1'000'003, 1);
  auto w = db.blobs->begin(2'000'000).value();
  for (std::size_t off = 0; off < data.size(); off += 65'536)
    BOOST_REQUIRE(w->write(std::string_view{data}.substr(off, 65'536)));
  BOOST_TEST(w->size() == data.size());
  auto info = w->finish();
  BOOST_REQUIRE(info);
  BOOST_TEST(info.value().size == data.size());
  BOOST_TEST(info.value().sha256 == digest_hex(EVP_sha256(), data));
  BOOST_TEST(info.value().md5 == digest_hex(EVP_md5(), data));
  BOOST_TEST(info.value().id.size() == 36u);
  BOOST_TEST((db.blobs->stat(info.value().id).value() == info.value()));
  BOOST_TEST(db.blobs->read(info.value().id, 0, data.size()).value() == data);
  BOOST_TEST(!w->finish()); // done once
}

BOOST_AUTO_TEST_CASE(an_empty_blob_has_the_digests_of_no_bytes) {
  auto info = db.blobs->begin(0).value()->finish().value();
  BOOST_TEST(info.size == 0u);
  BOOST_TEST(info.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(info.md5 == digest_hex(EVP_md5(), ""));
}

BOOST_AUTO_TEST_CASE(ranged_reads_return_exactly_the_requested_bytes_also_after_reopen) {
  auto data = random_bytes(10'000, 2);
  auto id = put(*db.blobs, data).id;
  BOOST_TEST(db.blobs->read(id, 0, 10).value() == data.substr(0, 10));
  BOOST_TEST(db.blobs->read(id, 9'990, 100).value() == data.substr(9'990));
  BOOST_TEST(db.blobs->read(id, 10'000, 5).value().empty());
  BOOST_TEST(db.blobs->read(id, 1ull << 40, 5).value().empty());
  BOOST_TEST(db.blobs->read(id, 5, 0).value().empty());
  reopen();
  BOOST_TEST(db.blobs->read(id, 5'000, 1'000).value() == data.substr(5'000, 1'000));
  BOOST_TEST(db.blobs->stat(id).value().sha256 == digest_hex(EVP_sha256(), data));
}

BOOST_AUTO_TEST_CASE(a_blob_over_its_limit_is_refused_and_leaves_no_file) {
  auto before = files_in(dir + "/blobs");
  auto w = db.blobs->begin(100).value();
  BOOST_REQUIRE(w->write(std::string(60, 'a')));
  BOOST_TEST(files_in(dir + "/blobs").size() == before.size() + 1); // the temporary file
  auto r = w->write(std::string(41, 'b'));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::too_large));
  BOOST_TEST(error_detail() == "the blob exceeds its limit of 100 bytes");
  BOOST_TEST(files_in(dir + "/blobs") == before, boost::test_tools::per_element());
  BOOST_TEST(!w->write("more"));
  BOOST_TEST(!w->finish());
  BOOST_TEST(files_in(dir + "/blobs") == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_limit_over_the_stores_maximum_is_refused_at_begin) {
  close(); // reopen with a small store-wide maximum
  opts.max_blob_bytes = 1000;
  open();
  auto r = db.blobs->begin(1001);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::too_large));
  auto w = db.blobs->begin(0).value(); // 0: the store's maximum
  BOOST_REQUIRE(w->write(std::string(1000, 'x')));
  BOOST_TEST(!w->write("y"));
}

BOOST_AUTO_TEST_CASE(an_abandoned_writer_leaves_nothing_behind) {
  auto before = files_in(dir + "/blobs");
  {
    auto w = db.blobs->begin(100).value();
    BOOST_REQUIRE(w->write("partial"));
  }
  BOOST_TEST(files_in(dir + "/blobs") == before, boost::test_tools::per_element());
  auto w = db.blobs->begin(100).value();
  BOOST_REQUIRE(w->write("partial"));
  w->abort();
  BOOST_TEST(!w->finish());
  BOOST_TEST(files_in(dir + "/blobs") == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(leftovers_of_a_crash_are_removed_when_the_store_opens) {
  auto kept = put(*db.blobs, "kept");
  close();
  // What a crash can leave: an unfinished upload, and a renamed file whose
  // metadata was never written.
  std::ofstream{dir + "/blobs/tmp-0b6f4c5e-1d7f-4a55-9b0e-6a8c8f9a7c11"} << "partial";
  std::ofstream{dir + "/blobs/0b6f4c5e-1d7f-4a55-9b0e-6a8c8f9a7c11"} << "orphan";
  open();
  BOOST_TEST(files_in(dir + "/blobs") == (std::vector<std::string>{kept.id}),
             boost::test_tools::per_element());
  BOOST_TEST(db.blobs->read(kept.id, 0, 100).value() == "kept");
}

BOOST_AUTO_TEST_CASE(an_id_that_is_not_ours_never_reaches_the_file_system) {
  auto id = put(*db.blobs, "abc").id;
  std::string upper = id;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string bad : {std::string{"../db/CURRENT"}, std::string{"/etc/passwd"}, std::string{},
                          "tmp-" + id, upper, id + "/", "../blobs/" + id.substr(9)}) {
    auto r = db.blobs->read(bad, 0, 10);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error() == errc::not_found), bad);
    BOOST_TEST(!db.blobs->stat(bad));
    BOOST_TEST(!db.blobs->remove(bad));
  }
  BOOST_TEST(db.blobs->read(id, 0, 10).value() == "abc");
}

BOOST_AUTO_TEST_CASE(a_removed_blob_is_gone) {
  auto id = put(*db.blobs, "abc").id;
  BOOST_REQUIRE(db.blobs->remove(id));
  auto r = db.blobs->stat(id);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::not_found));
  BOOST_TEST(!std::filesystem::exists(dir + "/blobs/" + id));
  BOOST_TEST(!db.blobs->remove(id));
  reopen();
  BOOST_TEST(!db.blobs->stat(id));
}

BOOST_AUTO_TEST_SUITE_END()
