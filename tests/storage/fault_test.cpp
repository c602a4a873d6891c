// Crash and corruption: what the store must survive, and what it must report.
#include <boost/test/unit_test.hpp>

#include "storage/internal/rocks.hpp"
#include "storage/record.hpp"
#include "tests/storage/store_fixture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

using namespace otaledger;
using namespace otaledger::storage;
using otaledger::testing::make_append;
using otaledger::testing::rocks_env;

namespace {

struct ack {
  std::uint64_t first, last;
  std::string command;
};

/// Runs storage_crash_child on `dir`, reads `want` acknowledgements, kills it
/// with SIGKILL, and returns every acknowledgement it wrote before dying.
std::vector<ack> run_and_kill(const std::string& dir, int round, std::size_t want) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const std::string round_text = std::to_string(round);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(STORAGE_CRASH_CHILD, STORAGE_CRASH_CHILD, dir.c_str(), round_text.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  FILE* in = ::fdopen(fds[0], "r");
  BOOST_REQUIRE(in);
  std::vector<ack> acks;
  auto read_one = [&] {
    char line[256];
    if (!std::fgets(line, sizeof line, in)) return false;
    std::istringstream ss{line};
    ack a;
    ss >> a.first >> a.last >> a.command;
    acks.push_back(a);
    return true;
  };
  while (acks.size() < want && read_one()) {
  }
  ::kill(pid, SIGKILL);
  // Lines already in the pipe were written after append() returned: they count.
  while (read_one()) {
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST_REQUIRE(WIFSIGNALED(status), "round " << round
                                                   << ": the child exited by itself with status "
                                                   << WEXITSTATUS(status));
  return acks;
}

/// Flips one byte of a value in `cf` behind the store's back.
void corrupt_value(const options& opts, internal::cf_id cf, const std::string& key,
                   std::size_t from_end) {
  auto raw = internal::open_rocks(opts);
  BOOST_REQUIRE(raw);
  auto& db = *raw.value();
  std::string value;
  BOOST_REQUIRE(db.db->Get({}, db[cf], key, &value).ok());
  BOOST_REQUIRE(value.size() > from_end);
  value[value.size() - 1 - from_end] ^= 0x20;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  BOOST_REQUIRE(db.db->Put(wo, db[cf], key, value).ok());
}

} // namespace

BOOST_AUTO_TEST_SUITE(crash_recovery)

BOOST_AUTO_TEST_CASE(
    sigkill_at_random_instants_loses_no_acknowledged_append_and_leaves_no_gap_or_half_command) {
  const auto dir = otaledger::testing::temp_dir("crash");
  options o;
  o.path = dir;
  std::mt19937 rng{20261123};
  std::vector<ack> acknowledged;
  const auto started = std::chrono::steady_clock::now();
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    // Every fifth round dies early (possibly while opening or recovering).
    const std::size_t want = round % 5 == 4 ? rng() % 3 : 20 + rng() % 400;
    auto acks = run_and_kill(dir, round, want);
    acknowledged.insert(acknowledged.end(), acks.begin(), acks.end());

    auto store = open_event_store(o);
    BOOST_REQUIRE_MESSAGE(store, "reopen after round " << round << ": " << error_detail());
    auto& s = *store.value();
    auto all = s.read_all(log_position{1}, 10'000'000);
    BOOST_REQUIRE_MESSAGE(all, "read after round " << round << ": " << error_detail());
    const auto& log = all.value();
    BOOST_TEST_REQUIRE(log.size() == s.head()());

    // Gapless positions, dense versions, whole commands.
    std::map<std::string, std::uint64_t> versions;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> commands; // first, count
    for (std::size_t i = 0; i < log.size(); ++i) {
      const auto& e = log[i];
      BOOST_TEST_REQUIRE(e.position() == i + 1);
      BOOST_TEST_REQUIRE(e.version() == ++versions[e.stream], "version gap in " << e.stream);
      auto [it, fresh] = commands.try_emplace(e.meta.command, e.position(), 0);
      BOOST_TEST_REQUIRE(it->second.first + it->second.second == e.position(),
                         "command " << e.meta.command << " is not contiguous");
      ++it->second.second;
    }
    for (const auto& [cmd, where] : commands) {
      const auto n = std::stoull(cmd.substr(cmd.rfind("-n") + 2));
      BOOST_TEST_REQUIRE(where.second == n, "command " << cmd << " is half-written");
    }
    for (const auto& [stream, v] : versions)
      BOOST_TEST_REQUIRE(s.stream_head(stream).value()() == v, "head of " << stream);
    // Every acknowledged append is there, where its acknowledgement said.
    for (const auto& a : acknowledged) {
      BOOST_TEST_REQUIRE(a.last <= log.size(), "acknowledged " << a.command << " is lost");
      for (auto p = a.first; p <= a.last; ++p)
        BOOST_TEST_REQUIRE(log[p - 1].meta.command == a.command,
                           "position " << p << " is not " << a.command);
      BOOST_TEST_REQUIRE(commands.at(a.command).first == a.first);
    }
    // Command ids survive the crash: a retry is a duplicate.
    if (!acks.empty()) {
      const auto& a = acks.back();
      append_request retry = make_append("elsewhere", expected_version::any(), 1, a.command);
      auto r = s.append(retry);
      BOOST_REQUIRE(r);
      BOOST_TEST_REQUIRE(r.value().duplicate);
      BOOST_TEST_REQUIRE(r.value().first() == a.first);
      BOOST_TEST_REQUIRE(r.value().last() == a.last);
    }
  }
  BOOST_TEST_MESSAGE("crash test: " << acknowledged.size() << " acknowledged appends in " << rounds
                                    << " rounds, "
                                    << std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()
                                    << " ms");
  BOOST_TEST(acknowledged.size() > 1000u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(corruption)

BOOST_AUTO_TEST_CASE(a_flipped_byte_in_a_stored_record_is_reported_with_its_position) {
  rocks_env env;
  for (int i = 0; i < 10; ++i)
    BOOST_REQUIRE(env.store().append(make_append("t", expected_version::any())));
  env.close();
  corrupt_value(env.opts, internal::cf_log, be64(6), 3);
  env.open();

  auto before = env.store().read_all(log_position{1}, 5);
  BOOST_REQUIRE(before); // what precedes the damage still reads
  BOOST_TEST(before.value().size() == 5u);
  auto r = env.store().read_all(log_position{1}, 100);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::corruption));
  BOOST_TEST(error_detail() == "record at position 6: the record failed its CRC32C check");
  auto s = env.store().read_stream("t", stream_version{1}, 100);
  BOOST_REQUIRE(!s);
  BOOST_TEST((s.error() == errc::corruption));
  BOOST_TEST(error_detail() == "record at position 6: the record failed its CRC32C check");
  // A page read stops at the damage too, keeping what precedes it.
  storage::log_page page;
  auto p = env.store().read_page(log_position{2}, 100, page);
  BOOST_REQUIRE(!p);
  BOOST_TEST((p.error() == errc::corruption));
  BOOST_TEST(error_detail() == "record at position 6: the record failed its CRC32C check");
  BOOST_TEST(page.events.size() == 4u);
  BOOST_TEST(page.events.back().position() == 5u);
  // So does a forward reader, and it stays failed.
  auto reader = env.store().read_forward(log_position{1}, log_position{10});
  BOOST_REQUIRE(reader->next(3, page));
  BOOST_TEST(page.events.size() == 3u);
  auto f = reader->next(100, page);
  BOOST_REQUIRE(!f);
  BOOST_TEST((f.error() == errc::corruption));
  BOOST_TEST(error_detail() == "record at position 6: the record failed its CRC32C check");
  BOOST_TEST(page.events.size() == 2u);
  BOOST_TEST(page.events.back().position() == 5u);
  auto again = reader->next(100, page);
  BOOST_REQUIRE(!again);
  BOOST_TEST(error_detail() == "record at position 6: the record failed its CRC32C check");
  BOOST_TEST(page.events.empty());
  // Read with decoding left for later, the page reads; decoding it finds
  // the damage at its position and keeps what precedes it.
  auto later = env.store().read_forward(log_position{4}, log_position{10});
  BOOST_REQUIRE(later->next(100, page, /*decode=*/false));
  BOOST_TEST(page.size() == 7u);
  BOOST_TEST(page.events.empty());
  auto d = page.decode();
  BOOST_REQUIRE(!d);
  BOOST_TEST((d.error() == errc::corruption));
  BOOST_TEST(error_detail() == "record at position 6: the record failed its CRC32C check");
  BOOST_TEST(page.events.size() == 2u);
  BOOST_TEST(page.events.back().position() == 5u);

  // A subscription delivers up to the damage and stops there.
  otaledger::testing::collector c;
  auto sub = env.store().subscribe(log_position{0}, c.handler());
  BOOST_REQUIRE(c.wait_for(5));
  sub->stop();
  BOOST_TEST(c.positions().size() == 5u);
  BOOST_TEST(sub->position()() == 5u);
}

BOOST_AUTO_TEST_CASE(a_missing_record_is_reported_as_a_gap) {
  rocks_env env;
  for (int i = 0; i < 6; ++i)
    BOOST_REQUIRE(env.store().append(make_append("t", expected_version::any())));
  env.close();
  {
    auto raw = internal::open_rocks(env.opts);
    BOOST_REQUIRE(raw);
    BOOST_REQUIRE(raw.value()->db->Delete({}, (*raw.value())[internal::cf_log], be64(4)).ok());
  }
  env.open();
  auto r = env.store().read_all(log_position{1}, 100);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::corruption));
  BOOST_TEST(error_detail().find("the log has no record at position 4") == 0u);
  storage::log_page page;
  auto reader = env.store().read_forward(log_position{2}, log_position{6});
  auto f = reader->next(100, page);
  BOOST_REQUIRE(!f);
  BOOST_TEST((f.error() == errc::corruption));
  BOOST_TEST(error_detail().find("the log has no record at position 4") == 0u);
  BOOST_TEST(page.events.size() == 2u);
  auto s = env.store().read_stream("t", stream_version{1}, 100);
  BOOST_REQUIRE(!s);
  BOOST_TEST(error_detail() == "the index of t names position 4, which is missing");
}

BOOST_AUTO_TEST_CASE(an_index_written_one_entry_per_event_by_an_earlier_release_still_reads) {
  rocks_env env;
  BOOST_REQUIRE(env.store().append(make_append("s", expected_version::any(), 4)));
  BOOST_REQUIRE(env.store().append(make_append("t", expected_version::any(), 1)));
  BOOST_REQUIRE(env.store().append(make_append("s", expected_version::any(), 2)));
  const auto before = env.store().read_stream("s", stream_version{1}, 100).value();
  env.close();
  {
    // Rewrite "s"'s index as earlier releases wrote it: version -> position.
    auto raw = internal::open_rocks(env.opts);
    BOOST_REQUIRE(raw);
    auto& db = *raw.value();
    rocksdb::WriteBatch b;
    std::string key;
    for (std::uint64_t v : {1, 5}) {
      stream_index_key(key, "s", v);
      BOOST_REQUIRE(b.Delete(db[internal::cf_stream_index], key).ok());
    }
    for (const auto& e : before) {
      stream_index_key(key, "s", e.version());
      BOOST_REQUIRE(b.Put(db[internal::cf_stream_index], key, be64(e.position())).ok());
    }
    BOOST_REQUIRE(db.db->Write({}, &b).ok());
  }
  env.open();
  BOOST_TEST(env.store().stream_head("s").value()() == 6u);
  const auto after = env.store().read_stream("s", stream_version{1}, 100).value();
  BOOST_REQUIRE(after.size() == 6u);
  for (std::size_t i = 0; i < after.size(); ++i) {
    BOOST_TEST(after[i].version() == before[i].version());
    BOOST_TEST(after[i].position() == before[i].position());
  }
  BOOST_TEST(env.store().read_stream("s", stream_version{3}, 2).value().size() == 2u);
  // And the next append continues the stream (a run entry after old ones).
  BOOST_REQUIRE(env.store().append(make_append("s", expected_version::at(stream_version{6}), 2)));
  BOOST_TEST(env.store().read_stream("s", stream_version{6}, 100).value().size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_malformed_index_entry_is_reported_as_corruption) {
  rocks_env env;
  BOOST_REQUIRE(env.store().append(make_append("s", expected_version::any(), 3)));
  env.close();
  {
    auto raw = internal::open_rocks(env.opts);
    BOOST_REQUIRE(raw);
    auto& db = *raw.value();
    std::string key;
    stream_index_key(key, "s", 1);
    BOOST_REQUIRE(db.db->Put({}, db[internal::cf_stream_index], key, std::string(12, 'x')).ok());
  }
  env.open();
  auto r = env.store().read_stream("s", stream_version{1}, 10);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::corruption));
  BOOST_TEST(error_detail() == "a malformed index entry of stream s");
  auto h = env.store().stream_head("s");
  BOOST_REQUIRE(!h);
  BOOST_TEST((h.error() == errc::corruption));
}

BOOST_AUTO_TEST_CASE(a_damaged_snapshot_is_reported_not_returned) {
  rocks_env env;
  BOOST_REQUIRE(env.store().save_snapshot("task-1", {stream_version{3}, 1, "state bytes"}));
  env.close();
  corrupt_value(env.opts, internal::cf_snapshots, "task-1", 0);
  env.open();
  auto r = env.store().load_snapshot("task-1");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::corruption));
  BOOST_TEST(error_detail() == "the snapshot of task-1 failed its CRC32C check");
}

BOOST_AUTO_TEST_CASE(every_single_byte_flip_in_a_record_is_detected) {
  events::envelope e;
  e.position = log_position{77};
  e.stream = "device-42";
  e.version = stream_version{3};
  e.id = base::uuid{0x0123456789abcdefull, 0xfedcba9876543210ull};
  e.type = "device.reported";
  e.time = base::timestamp{1'700'000'000'123'456};
  e.meta = {"device:42", "cmd-1", "corr-1", "because"};
  e.data = "some payload bytes";
  std::string rec;
  encode_record(e, rec);
  events::envelope back;
  BOOST_REQUIRE(decode_record(rec, back));
  BOOST_TEST((back == e));
  for (std::size_t i = 0; i < rec.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = rec;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      events::envelope out;
      auto r = decode_record(bad, out);
      BOOST_TEST_REQUIRE(!r, "flip of bit " << bit << " of byte " << i << " went unnoticed");
      BOOST_TEST_REQUIRE((r.error() == errc::corruption));
    }
  for (std::size_t n = 0; n < rec.size(); ++n) {
    events::envelope out;
    BOOST_TEST_REQUIRE(!decode_record(std::string_view{rec}.substr(0, n), out));
  }
}

BOOST_AUTO_TEST_SUITE_END()
