// Uploads and online deltas over loopback: bodies stream into the blob store
// with their size, MD5 and SHA-256; oversize, truncated, mistyped and
// path-like uploads are refused and leave no blob and no event behind; an
// online delta applies to the exact target image and says when it is not
// worth it.
#include "delta/delta.hpp"
#include "tests/api/operator_fixture.hpp"

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

using namespace otaledger;
using namespace otaledger::testing;

namespace {

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 g{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(g() & 0xff);
  return s;
}

/// A "next release": the image with a few edits and an insertion.
std::string next_release(std::string s) {
  for (std::size_t i = 100; i < s.size(); i += 9973)
    s[i] = static_cast<char>(s[i] ^ 0x5a);
  s.insert(s.size() / 2, "version 1.1 changes");
  return s;
}

std::string hex_digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

/// Waits until `cond` holds, for at most 10 s.
template <class F> bool eventually(F cond) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::yield();
  }
  return cond();
}

struct firmware_pair : operator_fixture {
  explicit firmware_pair(std::uint64_t image_limit = 30ull << 20,
                         std::uint64_t delta_limit = 2ull << 20)
      : operator_fixture(image_limit, delta_limit) {
    must("POST", "/v1/products", R"({"product":"P1","name":"Meter","require_verification":false})",
         201);
    for (auto [id, v] : {std::pair{"F10", "1.0"}, std::pair{"F11", "1.1"}})
      must("POST", "/v1/firmware",
           std::string{R"({"firmware":")"} + id +
               R"(","product":"P1","vendor":"CMCC","model":"M5330","version":")" + v + "\"}",
           201);
  }
};

struct small_limits : firmware_pair {
  small_limits() : firmware_pair(64 * 1024, 16 * 1024) {}
};

/// A raw connection, for bodies a well-behaved client would not send.
struct raw_conn {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s{ioc};
  explicit raw_conn(std::uint16_t port) {
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }
  void send(const std::string& bytes) { boost::asio::write(s, boost::asio::buffer(bytes)); }
  /// What the server sends up to the end of one response head ("\r\n\r\n").
  std::string read_head() {
    std::string out;
    std::array<char, 256> buf;
    while (out.find("\r\n\r\n") == std::string::npos) {
      boost::system::error_code ec;
      auto n = s.read_some(boost::asio::buffer(buf), ec);
      out.append(buf.data(), n);
      if (ec) break;
    }
    return out;
  }
  /// Everything the server sends until it closes (it closes after refusing).
  std::string read_until_close() {
    std::string out;
    boost::system::error_code ec;
    std::array<char, 4096> buf;
    while (!ec) {
      auto n = s.read_some(boost::asio::buffer(buf), ec);
      out.append(buf.data(), n);
    }
    return out;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(operator_uploads)

BOOST_FIXTURE_TEST_CASE(a_firmware_image_streams_into_the_blob_store_with_its_size_md5_and_sha256,
                        firmware_pair) {
  auto image = random_bytes(300 * 1024 + 7, 1);
  auto r = upload("PUT", "/v1/firmware/F10/image?name=m5330-1.0.bin", image);
  BOOST_TEST_INFO(r.body);
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto j = json::parse(r.body);
  BOOST_TEST(j["file"]["size"] == image.size());
  BOOST_TEST(j["file"]["sha256"] == hex_digest(EVP_sha256(), image));
  BOOST_TEST(j["file"]["md5"] == hex_digest(EVP_md5(), image));
  BOOST_TEST(j["file"]["name"] == "m5330-1.0.bin");
  auto f = must("GET", "/v1/firmware/F10");
  BOOST_TEST(f["image"]["sha256"] == hex_digest(EVP_sha256(), image));
  auto blob = f["image"]["blob"].get<std::string>();
  BOOST_TEST(blob.find('/') == std::string::npos);
  BOOST_TEST((db.blobs->read(blob, 0, image.size() + 1).value() == image));
}

BOOST_FIXTURE_TEST_CASE(replacing_an_image_with_a_chunked_upload_keeps_the_new_bytes,
                        firmware_pair) {
  BOOST_REQUIRE_EQUAL(upload("PUT", "/v1/firmware/F10/image?name=a.bin", random_bytes(1000, 2)).status,
                      200);
  raw_conn c{server->port()};
  std::string body = random_bytes(5000, 3);
  c.send("PUT /v1/firmware/F10/image?name=b.hex HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         op + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  for (std::size_t at = 0; at < body.size(); at += 1024) {
    auto part = body.substr(at, 1024);
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", part.size());
    c.send(len + part + "\r\n");
  }
  c.send("0\r\n\r\n");
  auto answer = c.read_until_close();
  BOOST_TEST_INFO(answer);
  BOOST_TEST(answer.rfind("HTTP/1.1 200", 0) == 0);
  auto f = must("GET", "/v1/firmware/F10");
  BOOST_TEST(f["image"]["name"] == "b.hex");
  BOOST_TEST(f["image"]["size"] == body.size());
  BOOST_TEST(f["image"]["sha256"] == hex_digest(EVP_sha256(), body));
}

BOOST_FIXTURE_TEST_CASE(an_upload_that_expects_100_continue_is_told_to_continue_before_it_sends_its_body,
                        firmware_pair) {
  raw_conn c{server->port()};
  std::string body = random_bytes(200 * 1024, 5);
  c.send("PUT /v1/firmware/F10/image?name=c.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         op + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  BOOST_TEST(c.read_head() == "HTTP/1.1 100 Continue\r\n\r\n");
  c.send(body);
  auto answer = c.read_until_close();
  BOOST_TEST_INFO(answer);
  BOOST_TEST(answer.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_TEST(must("GET", "/v1/firmware/F10")["image"]["sha256"] == hex_digest(EVP_sha256(), body));
}

BOOST_FIXTURE_TEST_CASE(a_command_that_expects_100_continue_is_told_to_continue_and_then_answered,
                        firmware_pair) {
  raw_conn c{server->port()};
  std::string body = R"({"product":"P2","name":"Lamp","require_verification":false})";
  c.send("POST /v1/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + op +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  BOOST_TEST(c.read_head() == "HTTP/1.1 100 Continue\r\n\r\n");
  c.send(body);
  auto answer = c.read_until_close();
  BOOST_TEST_INFO(answer);
  BOOST_TEST(answer.rfind("HTTP/1.1 201", 0) == 0);
  BOOST_TEST(must("GET", "/v1/products/P2")["name"] == "Lamp");
}

BOOST_FIXTURE_TEST_CASE(an_oversize_upload_that_expects_100_continue_is_refused_without_a_continue,
                        small_limits) {
  auto head = settle();
  raw_conn c{server->port()};
  c.send("PUT /v1/firmware/F10/image?name=big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         op + "\r\nContent-Length: " + std::to_string(64 * 1024 + 1) +
         "\r\nExpect: 100-continue\r\n\r\n");
  auto answer = c.read_until_close();
  BOOST_TEST_INFO(answer);
  BOOST_TEST(answer.rfind("HTTP/1.1 413", 0) == 0);
  BOOST_TEST(answer.find("100 Continue") == std::string::npos);
  BOOST_TEST(settle() == head);
  BOOST_TEST(blob_files() == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_image_over_the_limit_is_refused_before_it_is_read_and_leaves_nothing,
                        small_limits) {
  auto head = settle();
  auto r = upload("PUT", "/v1/firmware/F10/image?name=big.bin", random_bytes(64 * 1024 + 1, 4));
  BOOST_TEST_INFO(r.body);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(json::parse(r.body)["code"] == "too_large");
  BOOST_TEST(settle() == head);
  BOOST_TEST(blob_files() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_chunked_upload_that_grows_over_the_limit_is_cut_off_and_leaves_nothing,
                        small_limits) {
  auto head = settle();
  raw_conn c{server->port()};
  c.send("PUT /v1/firmware/F10/image?name=big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         op + "\r\nTransfer-Encoding: chunked\r\n\r\n");
  auto chunk = random_bytes(8192, 5);
  boost::system::error_code ec;
  for (int i = 0; i < 10 && !ec; ++i) // 80 KiB > 64 KiB
    boost::asio::write(c.s, boost::asio::buffer("2000\r\n" + chunk + "\r\n"), ec);
  auto answer = c.read_until_close();
  BOOST_TEST_INFO(answer);
  BOOST_TEST(answer.rfind("HTTP/1.1 413", 0) == 0);
  BOOST_TEST(answer.find("too_large") != std::string::npos);
  BOOST_TEST(eventually([&] { return blob_files() == 0; }));
  BOOST_TEST(settle() == head);
}

BOOST_FIXTURE_TEST_CASE(a_truncated_upload_leaves_no_blob_and_no_event, firmware_pair) {
  auto head = settle();
  {
    raw_conn c{server->port()};
    c.send("PUT /v1/firmware/F10/image?name=m.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           op + "\r\nContent-Length: 200000\r\n\r\n" + random_bytes(70000, 6));
    // The upload has started: its temporary file exists.
    BOOST_REQUIRE(eventually([&] { return blob_files() == 1; }));
  } // the connection closes with 130000 bytes missing
  BOOST_TEST(eventually([&] { return blob_files() == 0; }));
  BOOST_TEST(settle() == head);
  auto f = must("GET", "/v1/firmware/F10");
  BOOST_TEST(f["image"].is_null());
}

BOOST_FIXTURE_TEST_CASE(path_like_names_wrong_types_and_unknown_ids_are_refused_leaving_nothing,
                        firmware_pair) {
  struct bad {
    std::string method, target, content_type;
    int status;
    std::string code;
  };
  const bad cases[] = {
      {"PUT", "/v1/firmware/F10/image?name=../../etc/passwd.bin", "", 400, "invalid_argument"},
      {"PUT", "/v1/firmware/F10/image?name=%2Ftmp%2Fx.bin", "", 400, "invalid_argument"},
      {"PUT", "/v1/firmware/F10/image?name=..%5Cwin.bin", "", 400, "invalid_argument"},
      {"PUT", "/v1/firmware/F10/image?name=.hidden.bin", "", 400, "invalid_argument"},
      {"PUT", "/v1/firmware/F10/image", "", 400, "invalid_argument"},
      {"PUT", "/v1/firmware/F10/image?name=evil.exe", "", 415, "unsupported_type"},
      {"PUT", "/v1/firmware/F10/image?name=m.bin", "text/html", 415, "unsupported_type"},
      {"PUT", "/v1/firmware/nope/image?name=m.bin", "", 404, "not_found"},
      {"POST", "/v1/packages/upload?name=m.bin&firmware=F11&type=sideways", "", 400, "malformed"},
      {"POST", "/v1/packages/upload?name=m.bin&firmware=nope&type=full", "", 404, "not_found"},
      {"PUT", "/v1/packages/nope/file?name=m.bin", "", 404, "not_found"},
  };
  for (const auto& c : cases) {
    auto head = settle();
    http_client cl{server->port()};
    auto h = bearer(op);
    h.emplace_back("content-type",
                   c.content_type.empty() ? "application/octet-stream" : c.content_type);
    auto r = cl.request(c.method, c.target, random_bytes(2000, 7), h);
    BOOST_TEST_CONTEXT(c.method << " " << c.target << " -> " << r.status << " " << r.body) {
      BOOST_TEST(r.status == c.status);
      auto j = json::parse(r.body, nullptr, false);
      BOOST_TEST(j["code"] == c.code);
      BOOST_TEST(j["details"].is_object());
      BOOST_TEST(settle() == head);
      BOOST_TEST(eventually([&] { return blob_files() == 0; }));
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_viewer_cannot_upload, firmware_pair) {
  http_client c{server->port()};
  auto r = c.request("PUT", "/v1/firmware/F10/image?name=m.bin", random_bytes(100, 8),
                     bearer(viewer));
  BOOST_TEST(r.status == 403);
  BOOST_TEST(blob_files() == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_uploaded_delta_is_bounded_by_the_delta_limit, small_limits) {
  BOOST_REQUIRE_EQUAL(upload("PUT", "/v1/firmware/F10/image?name=a.bin", random_bytes(1000, 9)).status,
                      200);
  auto head = settle();
  auto big = upload("POST",
                    "/v1/packages/upload?name=d.bin&firmware=F11&type=delta&initial_version=1.0",
                    random_bytes(16 * 1024 + 1, 10));
  BOOST_TEST_INFO(big.body);
  BOOST_TEST(big.status == 413);
  BOOST_TEST(settle() == head);
  auto ok = upload(
      "POST",
      "/v1/packages/upload?package=K1&name=d.bin&firmware=F11&type=delta&initial_version=1.0",
      random_bytes(16 * 1024, 11));
  BOOST_TEST_INFO(ok.body);
  BOOST_REQUIRE_EQUAL(ok.status, 201);
  auto k = must("GET", "/v1/packages/K1");
  BOOST_TEST(k["type"] == "delta");
  BOOST_TEST(k["origin"] == "uploaded");
  BOOST_TEST(k["file"]["size"] == 16 * 1024);
  // Re-uploading the delta package's file keeps the delta limit.
  auto re = upload("PUT", "/v1/packages/K1/file?name=d2.bin", random_bytes(20 * 1024, 12));
  BOOST_TEST(re.status == 413);
  BOOST_TEST(must("GET", "/v1/packages/K1")["file"]["size"] == 16 * 1024);
  BOOST_TEST(eventually([&] { return blob_files() == 2; })); // F10's image and K1's file
}

BOOST_FIXTURE_TEST_CASE(an_online_delta_applies_to_the_exact_target_and_records_its_digests,
                        firmware_pair) {
  auto v10 = random_bytes(256 * 1024, 13);
  auto v11 = next_release(v10);
  BOOST_REQUIRE_EQUAL(upload("PUT", "/v1/firmware/F10/image?name=a.bin", v10).status, 200);
  BOOST_REQUIRE_EQUAL(upload("PUT", "/v1/firmware/F11/image?name=b.bin", v11).status, 200);
  refresh(); // initial_version is looked up in the catalog view
  auto r = must("POST", "/v1/packages",
                R"({"package":"KD","firmware":"F11","origin":"generated","initial_version":"1.0"})",
                201);
  BOOST_TEST(r["delta"]["worthwhile"] == true);
  BOOST_TEST(r["delta"]["delta_size"].get<std::uint64_t>() < v11.size() / 10);
  auto k = must("GET", "/v1/packages/KD");
  BOOST_TEST(k["type"] == "delta");
  BOOST_TEST(k["origin"] == "generated");
  BOOST_TEST(k["initial_version"] == "1.0");
  auto d = db.blobs->read(k["file"]["blob"].get<std::string>(), 0, 1 << 24).value();
  BOOST_TEST(k["file"]["sha256"] == hex_digest(EVP_sha256(), d));
  BOOST_TEST(k["file"]["md5"] == hex_digest(EVP_md5(), d));
  auto applied = delta::apply_delta(delta::as_bytes(v10), delta::as_bytes(d));
  BOOST_REQUIRE(applied);
  BOOST_TEST((applied.value() == v11));
}

BOOST_FIXTURE_TEST_CASE(an_online_delta_between_unrelated_images_says_it_is_not_worth_it,
                        firmware_pair) {
  upload("PUT", "/v1/firmware/F10/image?name=a.bin", random_bytes(64 * 1024, 14));
  upload("PUT", "/v1/firmware/F11/image?name=b.bin", random_bytes(64 * 1024, 15));
  auto r = must("POST", "/v1/packages",
                R"({"package":"KD","firmware":"F11","origin":"generated","from":"F10"})", 201);
  BOOST_TEST(r["delta"]["worthwhile"] == false);
  BOOST_TEST(!r["delta"]["message"].get<std::string>().empty());
}

BOOST_FIXTURE_TEST_CASE(an_online_delta_without_the_initial_image_is_refused_and_changes_nothing,
                        firmware_pair) {
  upload("PUT", "/v1/firmware/F11/image?name=b.bin", random_bytes(1000, 16));
  auto head = settle();
  refresh();
  auto files = blob_files();
  auto r = call("POST", "/v1/packages",
                R"({"firmware":"F11","origin":"generated","initial_version":"1.0"})", op);
  BOOST_TEST_INFO(r.body);
  BOOST_TEST(r.status == 422);
  BOOST_TEST(json::parse(r.body)["code"] == "image_missing");
  BOOST_TEST(json::parse(r.body)["message"].get<std::string>().find("F10") != std::string::npos);
  auto r2 = call("POST", "/v1/packages",
                 R"({"firmware":"F11","origin":"generated","initial_version":"0.9"})", op);
  BOOST_TEST(r2.status == 422);
  BOOST_TEST(json::parse(r2.body)["code"] == "initial_version_missing");
  BOOST_TEST(settle() == head);
  BOOST_TEST(blob_files() == files);
}

BOOST_AUTO_TEST_SUITE_END()
