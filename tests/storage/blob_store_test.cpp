#include <boost/test/unit_test.hpp>

#include "storage/errc.hpp"
#include "tests/storage/store_fixture.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <random>

using namespace otaledger;
using namespace otaledger::storage;

namespace {

std::string digest_hex(const EVP_MD* md, const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, md, nullptr);
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

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir))
    (void)e, ++n;
  return n;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(blobs, otaledger::testing::store_fixture)

BOOST_AUTO_TEST_CASE(a_blob_written_in_chunks_has_the_size_and_digests_of_its_bytes) {
  auto data = random_bytes(1'000'003, 1);
  auto w = db.blobs->begin(2'000'000).value();
  for (std::size_t off = 0; off < data.size(); off += 65536)
    BOOST_REQUIRE(w->write(std::string_view{data}.substr(off, 65536)));
  auto info = w->finish();
  BOOST_REQUIRE(info);
  BOOST_TEST(info.value().size == data.size());
  BOOST_TEST(info.value().sha256 == digest_hex(EVP_sha256(), data));
  BOOST_TEST(info.value().md5 == digest_hex(EVP_md5(), data));
  BOOST_TEST((db.blobs->stat(info.value().id).value() == info.value()));
}

BOOST_AUTO_TEST_CASE(ranged_reads_return_exactly_the_requested_bytes) {
  auto data = random_bytes(10'000, 2);
  std::string id;
  {
    auto w = db.blobs->begin(10'000).value();
    BOOST_REQUIRE(w->write(data));
    id = w->finish().value().id;
  }
  BOOST_TEST(db.blobs->read(id, 0, 10).value() == data.substr(0, 10));
  BOOST_TEST(db.blobs->read(id, 9'990, 100).value() == data.substr(9'990));
  BOOST_TEST(db.blobs->read(id, 10'000, 5).value().empty());
  reopen();
  BOOST_TEST(db.blobs->read(id, 5'000, 1'000).value() == data.substr(5'000, 1'000));
}

BOOST_AUTO_TEST_CASE(a_blob_over_its_limit_is_refused_and_leaves_no_file) {
  auto before = files_in(dir + "/blobs");
  auto w = db.blobs->begin(100).value();
  BOOST_REQUIRE(w->write(std::string(60, 'a')));
  auto r = w->write(std::string(41, 'b'));
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::too_large));
  BOOST_TEST(error_detail() == "the blob exceeds its limit of 100 bytes");
  BOOST_TEST(!w->finish());
  BOOST_TEST(files_in(dir + "/blobs") == before);
}

BOOST_AUTO_TEST_CASE(an_abandoned_writer_leaves_nothing_behind) {
  auto before = files_in(dir + "/blobs");
  {
    auto w = db.blobs->begin(100).value();
    BOOST_REQUIRE(w->write("partial"));
  }
  BOOST_TEST(files_in(dir + "/blobs") == before);
}

BOOST_AUTO_TEST_CASE(an_id_that_is_not_ours_never_reaches_the_file_system) {
  for (auto bad : {"../db/CURRENT", "/etc/passwd", "", "tmp-x"}) {
    auto r = db.blobs->read(bad, 0, 10);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error() == errc::not_found));
  }
}

BOOST_AUTO_TEST_CASE(a_removed_blob_is_gone) {
  auto w = db.blobs->begin(10).value();
  BOOST_REQUIRE(w->write("abc"));
  auto id = w->finish().value().id;
  BOOST_REQUIRE(db.blobs->remove(id));
  BOOST_TEST(!db.blobs->stat(id));
  BOOST_TEST(!std::filesystem::exists(dir + "/blobs/" + id));
}

BOOST_AUTO_TEST_SUITE_END()
