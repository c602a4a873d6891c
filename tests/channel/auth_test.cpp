#include "channel/auth.hpp"

#include <boost/test/unit_test.hpp>

using namespace otaledger;

BOOST_AUTO_TEST_SUITE(device_credentials)

BOOST_AUTO_TEST_CASE(only_the_hash_of_a_secret_is_stored_and_it_verifies_the_secret) {
  auto kv = storage::make_memory_kv_store();
  channel::credential_store s{*kv};
  BOOST_REQUIRE(s.set("d1", "secret-0123456789"));
  auto stored = kv->get(channel::credential_store::space, "d1").value();
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST(*stored == channel::sha256_hex("secret-0123456789"));
  BOOST_TEST(stored->find("secret") == std::string::npos);
  BOOST_TEST(s.verify("d1", "secret-0123456789").value());
  BOOST_TEST(!s.verify("d1", "secret-012345678").value());
  BOOST_TEST(!s.verify("d1", "").value());
  BOOST_TEST(!s.verify("d2", "secret-0123456789").value());
}

BOOST_AUTO_TEST_CASE(a_second_store_on_the_same_space_sees_the_credential) {
  auto kv = storage::make_memory_kv_store();
  BOOST_REQUIRE(channel::credential_store{*kv}.set("d1", "abc-0123456789abcdef"));
  channel::credential_store fresh{*kv};
  BOOST_TEST(fresh.verify("d1", "abc-0123456789abcdef").value());
}

BOOST_AUTO_TEST_CASE(claim_sets_a_missing_secret_and_never_replaces_another) {
  auto kv = storage::make_memory_kv_store();
  channel::credential_store s{*kv};
  BOOST_TEST(s.claim("d1", "first-0123456789ab").value());
  BOOST_TEST(s.claim("d1", "first-0123456789ab").value());
  BOOST_TEST(!s.claim("d1", "second-0123456789a").value());
  BOOST_TEST(s.verify("d1", "first-0123456789ab").value());
  BOOST_REQUIRE(s.remove("d1"));
  BOOST_TEST(!s.has("d1").value());
}

BOOST_AUTO_TEST_CASE(generated_secrets_are_64_hex_digits_and_differ) {
  auto a = channel::generate_secret(), b = channel::generate_secret();
  BOOST_TEST(a.size() == 64u);
  BOOST_TEST(a != b);
  BOOST_TEST(channel::sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_SUITE_END()
