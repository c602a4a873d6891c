// Debian's real SWUpdate (2022.12, suricatta mode = a hawkBit DDI client that
// nobody here wrote) updating from otaledger over loopback:
// - success: SWUpdate polls, downloads the .swu, its rawfile handler writes
//   the file on the "device", it reports the install; after a simulated
//   reboot it confirms (`-c 2`) and the execution is succeeded in the views;
// - failure: a handler error ends the execution failed with SWUpdate's error
//   lines as the note;
// - cancel: a task canceled while SWUpdate downloads (throttled) shows it
//   cancelAction; SWUpdate stops and acknowledges; the execution is canceled;
// - a broken download: a proxy on loopback between SWUpdate and the server
//   cuts the artifact's connection in the middle of the body; SWUpdate asks
//   for the rest with Range, the server answers 206 and the install completes.
//
// The .swu is built here: a libconfig sw-description (rawfile handler),
// signed with a throw-away key (Debian's SWUpdate only accepts signed images)
// and packed with `cpio -o -H crc`, sw-description first. SWUpdate runs as a
// child in its own process group with TMPDIR private to the test (its IPC
// sockets live there), and is killed with its group.
#include "fixture.hpp"

#include <boost/asio.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

using namespace otaledger;
using namespace otaledger::testing;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out{p, std::ios::binary};
  out << data;
}

bool have(const char* tool) {
  return std::system(fmt::format("command -v {} >/dev/null 2>&1", tool).c_str()) == 0;
}

void run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  BOOST_REQUIRE_MESSAGE(rc == 0, "failed (" << rc << "): " << cmd);
}

/// A signed .swu whose rawfile handler writes `payload` to `target`.
struct swu_builder {
  fs::path dir;
  explicit swu_builder(fs::path d) : dir(std::move(d)) {
    for (const char* t : {"swupdate", "cpio", "openssl"})
      BOOST_REQUIRE_MESSAGE(have(t), t << " is not installed: run scripts/deps.sh");
    run(fmt::format("cd '{}' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
                    "-out cert.pem -subj '/O=otaledger/CN=ddi-test' -days 2 >/dev/null 2>&1",
                    dir.string()));
  }
  std::string build(const std::string& name, const std::string& payload, const fs::path& target) {
    auto work = dir / name;
    fs::create_directories(work);
    write_file(work / "payload.bin", payload);
    run(fmt::format("cd '{}' && sha256sum payload.bin | cut -d' ' -f1 > payload.sha256",
                    work.string()));
    auto sha = read_file(work / "payload.sha256");
    sha.erase(sha.find_last_not_of("\n ") + 1);
    write_file(work / "sw-description", fmt::format(R"(software =
{{
	version = "1.1";
	description = "otaledger DDI test";
	hardware-compatibility: [ "1.0" ];
	files: (
		{{
			filename = "payload.bin";
			path = "{}";
			sha256 = "{}";
		}}
	);
}};
)",
                                                    target.string(), sha));
    run(fmt::format("cd '{}' && openssl cms -sign -in sw-description -out sw-description.sig "
                    "-signer ../cert.pem -inkey ../key.pem -outform DER -nosmimecap -binary",
                    work.string()));
    run(fmt::format("cd '{}' && printf 'sw-description\\nsw-description.sig\\npayload.bin\\n' | "
                    "cpio -o -H crc > image.swu 2>/dev/null",
                    work.string()));
    return read_file(work / "image.swu");
  }
};

/// SWUpdate in suricatta mode, as a child in its own process group.
class swupdate_child {
public:
  swupdate_child(const fs::path& dir, const std::string& url, const std::string& token,
                 const std::string& extra, const std::string& log_name)
      : log_(dir / log_name) {
    auto tmp = dir / ("tmp-" + log_name);
    fs::create_directories(tmp);
    auto cfg = dir / "swupdate.cfg";
    write_file(cfg, R"(globals :
{
	verbose = true;
	loglevel = 6;
};
identify : (
	{ name = "fota_version"; value = "1.0"; },
	{ name = "hwId"; value = "otaledger-ddi-test"; }
);
)");
    std::string suricatta =
        fmt::format("-t P1 -i D1 -u {} -k {} -p 1 -r 5 -w 1 -s 5 {}", url, token, extra);
    std::vector<std::string> args{
        "swupdate",      "-v", "-f",     cfg.string(), "-k", (dir / "cert.pem").string(), "-H",
        "otaledger:1.0", "-u", suricatta};
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::setenv("TMPDIR", tmp.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("swupdate", argv.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  ~swupdate_child() { stop(); }

  /// Stops SWUpdate and every process it started (a "reboot").
  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polling the exit
    }
    ::kill(-pid_, SIGKILL); // stragglers of the group (its helper processes)
    pid_ = -1;
  }
  std::string log() const { return read_file(log_); }

private:
  fs::path log_;
  pid_t pid_ = -1;
};

/// A TCP proxy on loopback in front of the server that cuts the first
/// artifact download (a connection that asked for .../softwaremodules/...)
/// after `cut_after` bytes of the answer, and keeps what clients sent.
class cutting_proxy {
  using tcp = boost::asio::ip::tcp;

public:
  cutting_proxy(std::uint16_t upstream, std::size_t cut_after)
      : upstream_{boost::asio::ip::make_address("127.0.0.1"), upstream}, cut_after_(cut_after) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~cutting_proxy() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  bool cut() const { return cut_; }
  /// Everything clients sent, lower-cased (request lines and headers).
  std::string sent() {
    std::lock_guard lock{mutex_};
    return sent_;
  }

private:
  struct conn : std::enable_shared_from_this<conn> {
    cutting_proxy& px;
    tcp::socket down, up;
    std::array<char, 16384> in{}, out{};
    bool artifact = false;
    std::size_t answered = 0;
    conn(cutting_proxy& p, tcp::socket s) : px(p), down(std::move(s)), up(p.io_) {}
    void start() {
      up.async_connect(px.upstream_, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->close();
        self->pump_up();
        self->pump_down();
      });
    }
    void pump_up() {
      down.async_read_some(
          boost::asio::buffer(in),
          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (ec) return self->close();
            std::string chunk(self->in.data(), n);
            for (auto& c : chunk)
              c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (chunk.find("/softwaremodules/") != std::string::npos) self->artifact = true;
            {
              std::lock_guard lock{self->px.mutex_};
              self->px.sent_ += chunk;
            }
            boost::asio::async_write(self->up, boost::asio::buffer(self->in.data(), n),
                                     [self](boost::system::error_code ec, std::size_t) {
                                       if (ec) return self->close();
                                       self->pump_up();
                                     });
          });
    }
    void pump_down() {
      up.async_read_some(boost::asio::buffer(out),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (ec) return self->close();
                           bool cut = false;
                           if (self->artifact && !self->px.cut_) {
                             if (self->answered + n >= self->px.cut_after_) {
                               n = self->px.cut_after_ - self->answered;
                               cut = true;
                               self->px.cut_ = true;
                             }
                             self->answered += n;
                           }
                           boost::asio::async_write(
                               self->down, boost::asio::buffer(self->out.data(), n),
                               [self, cut](boost::system::error_code ec, std::size_t) {
                                 if (ec || cut) return self->close(); // broken mid-body
                                 self->pump_down();
                               });
                         });
    }
    void close() {
      boost::system::error_code ignored;
      down.shutdown(tcp::socket::shutdown_both, ignored);
      down.close(ignored);
      up.close(ignored);
    }
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      std::make_shared<conn>(*this, std::move(s))->start();
      accept();
    });
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_{io_, tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}};
  tcp::endpoint upstream_;
  std::size_t cut_after_;
  std::atomic<bool> cut_{false};
  std::mutex mutex_;
  std::string sent_;
  std::thread thread_;
};

std::string random_payload(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng{seed};
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

bool has_reason(const std::vector<events::envelope>& trail, const std::string& part) {
  for (const auto& e : trail)
    if (e.meta.reason.find(part) != std::string::npos) return true;
  return false;
}

std::string reasons(const std::vector<events::envelope>& trail) {
  std::string out;
  for (const auto& e : trail)
    out += e.type + " [" + e.meta.reason + "]\n";
  return out;
}

/// Whether the audit trail holds what a feedback said: as the reason of the
/// events it caused, or as the text of an execution.noted (cut to 256 bytes).
bool in_audit(const std::vector<json>& items, const std::string& what) {
  for (const auto& i : items) {
    if (i.value("reason", "") == what) return true;
    if (i.value("type", "") == "execution.noted") {
      auto text = i["data"].value("text", "");
      if (!text.empty() && what.starts_with(text)) return true;
    }
  }
  return false;
}

std::string dump_audit(const std::vector<json>& items) {
  std::string out;
  for (const auto& i : items)
    out += i.value("type", "") + " [" + i.value("reason", "") + "] " + i["data"].dump() + "\n";
  return out;
}

json status_of(ddi_env& env, const std::string& task, const std::string& device) {
  auto page = env.task_devices(task);
  for (const auto& item : page["items"])
    if (item.value("device", "") == device) return item;
  return json{};
}

} // namespace

BOOST_AUTO_TEST_SUITE(ddi_swupdate)

BOOST_AUTO_TEST_CASE(swupdate_installs_the_swu_and_the_execution_succeeds_after_its_reboot) {
  ddi_env env;
  scratch_dir scratch{"swu-ok"};
  auto dir = scratch.path;
  swu_builder swu{dir};
  auto target = dir / "device-root" / "installed.bin";
  fs::create_directories(target.parent_path());
  std::string payload = "otaledger firmware 1.1\n";
  env.catalog(swu.build("ok", payload, target), "gateway-1.1.swu", true); // uploaded
  env.start_task("T1", "D1");
  {
    swupdate_child sw{dir, env.base(), env.d1_token, "", "run1.log"};
    bool installed = eventually(
        [&] {
          return fs::exists(target) && read_file(target) == payload &&
                 env.phase("D1", "T1") == events::execution_phase::installing;
        },
        60);
    BOOST_REQUIRE_MESSAGE(installed, "SWUpdate did not install; phase "
                                         << events::enum_name(env.phase("D1", "T1"))
                                         << "\nserver saw: " << env.feedback_seen().size()
                                         << " feedback\nswupdate log:\n"
                                         << sw.log());
  } // the "reboot"
  {
    // After the reboot the device confirms the update (SWUpdate's -c 2).
    swupdate_child sw{dir, env.base(), env.d1_token, "-c 2", "run2.log"};
    bool succeeded =
        eventually([&] { return env.phase("D1", "T1") == events::execution_phase::succeeded; }, 60);
    BOOST_REQUIRE_MESSAGE(succeeded, "no success; phase "
                                         << events::enum_name(env.phase("D1", "T1"))
                                         << "\nswupdate log:\n"
                                         << sw.log());
  }
  auto x = env.execution("D1", "T1");
  BOOST_TEST(x.version == "1.1");
  auto row = status_of(env, "T1", "D1");
  BOOST_TEST_INFO(row.dump());
  BOOST_TEST(row.value("phase", "") == "succeeded");
  // Every feedback SWUpdate sent was accepted and is in the device's audit
  // trail as an operator reads it: the ones that moved the execution as the
  // reason of their events, the others (log lines, stale progress) as notes.
  auto seen = env.feedback_seen();
  BOOST_TEST(seen.size() >= 3u);
  auto audit = env.audit("D1");
  BOOST_TEST_MESSAGE("audit of D1 through the API:\n" << dump_audit(audit));
  std::size_t noted = 0;
  for (const auto& [what, status] : seen) {
    BOOST_TEST_INFO(what);
    BOOST_TEST(status == 200);
    BOOST_TEST(in_audit(audit, what), "not in the audit trail: " << what);
  }
  for (const auto& i : audit)
    noted += i.value("type", "") == "execution.noted";
  BOOST_TEST(noted >= 1u); // SWUpdate flushes log lines that change nothing
  auto trail = env.trail("D1");
  BOOST_TEST_MESSAGE("audit trail of D1:\n" << reasons(trail));
  BOOST_TEST_INFO(reasons(trail));
  BOOST_TEST(has_reason(trail, "Installing Update Chunk Artifacts."));
  BOOST_TEST(has_reason(trail, "Installed Chunk."));
  BOOST_TEST(has_reason(trail, "Update Installed."));
  // SWUpdate's identify section arrived as configData attributes.
  auto attrs = env.db.views->get(channel::ddi_attributes_space, "D1").value();
  BOOST_REQUIRE(attrs);
  BOOST_TEST(json::parse(*attrs)["hwId"] == "otaledger-ddi-test");
}

BOOST_AUTO_TEST_CASE(swupdate_handler_error_fails_the_execution_with_its_details_as_note) {
  ddi_env env;
  scratch_dir scratch{"swu-fail"};
  auto dir = scratch.path;
  swu_builder swu{dir};
  // The rawfile handler cannot create a file in a directory that does not exist.
  auto target = dir / "no-such-dir" / "installed.bin";
  env.catalog(swu.build("fail", "otaledger firmware 1.1\n", target), "gateway-1.1.swu");
  env.start_task("T1", "D1");
  swupdate_child sw{dir, env.base(), env.d1_token, "", "fail.log"};
  bool failed =
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::failed; }, 60);
  BOOST_REQUIRE_MESSAGE(failed, "no failure; phase " << events::enum_name(env.phase("D1", "T1"))
                                                     << "\nswupdate log:\n"
                                                     << sw.log());
  sw.stop();
  auto x = env.execution("D1", "T1");
  BOOST_TEST_INFO("note: " << x.note);
  BOOST_TEST((x.failure == events::failure_code::install_failed));
  // The note is the details of SWUpdate's closed/failure feedback (which of
  // its log lines it sends depends on timing), not a text of ours.
  std::string failure_feedback;
  for (const auto& [what, status] : env.feedback_seen())
    if (what.find(": closed/failure") != std::string::npos && status == 200)
      failure_feedback = what;
  BOOST_TEST_MESSAGE("SWUpdate's failure feedback: " << failure_feedback);
  BOOST_TEST(!x.note.empty());
  BOOST_TEST(x.note != "hawkBit client reported failure");
  BOOST_TEST(failure_feedback.find("): " + x.note) != std::string::npos,
             "note: " << x.note << "\nfeedback: " << failure_feedback << "\naudit trail:\n"
                      << reasons(env.trail("D1")));
  BOOST_TEST(!fs::exists(target));
  auto row = status_of(env, "T1", "D1");
  BOOST_TEST_INFO(row.dump());
  BOOST_TEST(row.value("phase", "") == "failed");
  BOOST_TEST(row.value("note", "") == x.note);
  BOOST_TEST(has_reason(env.trail("D1"), "deploymentBase feedback on action"));
}

BOOST_AUTO_TEST_CASE(task_canceled_while_swupdate_downloads_leads_to_cancel_action_and_canceled) {
  ddi_env env;
  scratch_dir scratch{"swu-cancel"};
  auto dir = scratch.path;
  swu_builder swu{dir};
  auto target = dir / "device-root" / "installed.bin";
  fs::create_directories(target.parent_path());
  std::string payload(768 * 1024, '\0');
  std::mt19937 rng{3};
  for (auto& c : payload)
    c = static_cast<char>(rng());
  env.catalog(swu.build("cancel", payload, target), "gateway-1.1.swu");
  env.start_task("T1", "D1");
  // Throttled to 32 KiB/s: the download takes ~24 s, time to cancel it.
  swupdate_child sw{dir, env.base(), env.d1_token, "-n 32k", "cancel.log"};
  bool downloading =
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::downloading; }, 60);
  BOOST_REQUIRE_MESSAGE(downloading, "SWUpdate did not start; swupdate log:\n" << sw.log());
  env.must("cancel_task", R"({"task":"T1"})");
  bool canceled =
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::canceled; }, 60);
  BOOST_REQUIRE_MESSAGE(canceled, "not canceled; phase " << events::enum_name(env.phase("D1", "T1"))
                                                         << "\nswupdate log:\n"
                                                         << sw.log());
  sw.stop();
  BOOST_TEST(sw.log().find("cancelAction") != std::string::npos);
  auto trail = env.trail("D1");
  BOOST_TEST_INFO(reasons(trail));
  BOOST_TEST(has_reason(trail, "hawkBit cancelAction feedback"));
  BOOST_TEST(status_of(env, "T1", "D1").value("phase", "") == "canceled");
}

BOOST_AUTO_TEST_CASE(broken_artifact_download_is_resumed_by_swupdate_with_range) {
  ddi_env env;
  scratch_dir scratch{"swu-resume"};
  auto dir = scratch.path;
  swu_builder swu{dir};
  auto target = dir / "device-root" / "installed.bin";
  fs::create_directories(target.parent_path());
  auto payload = random_payload(768 * 1024, 7);
  auto image = swu.build("resume", payload, target);
  env.catalog(image, "gateway-1.1.swu");
  env.start_task("T1", "D1");
  // The connection breaks after a third of the image.
  cutting_proxy px{env.port(), image.size() / 3};
  {
    swupdate_child sw{dir, fmt::format("http://127.0.0.1:{}", px.port()), env.d1_token, "",
                      "resume.log"};
    bool installed = eventually(
        [&] {
          return fs::exists(target) && read_file(target) == payload &&
                 env.phase("D1", "T1") == events::execution_phase::installing;
        },
        60);
    BOOST_REQUIRE_MESSAGE(installed, "SWUpdate did not install; phase "
                                         << events::enum_name(env.phase("D1", "T1"))
                                         << "\nswupdate log:\n"
                                         << sw.log());
    BOOST_TEST(px.cut());
    auto sent = px.sent();
    // The resumed request asked for the rest only, from where the break was.
    auto at = sent.find("range: bytes=");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no Range request; sent:\n" << sent);
    auto from = std::stoull(sent.substr(at + 13, 20));
    BOOST_TEST(from > 0u);
    BOOST_TEST(from < image.size() / 3); // the break counted the answer's headers too
    std::size_t gets = 0;
    for (auto i = sent.find("get /p1/controller/v1/d1/softwaremodules/"); i != std::string::npos;
         i = sent.find("get /p1/controller/v1/d1/softwaremodules/", i + 1))
      ++gets;
    BOOST_TEST(gets == 2u, "artifact requests: " << gets); // the broken one and the rest
  }
  swupdate_child confirm{dir, fmt::format("http://127.0.0.1:{}", px.port()), env.d1_token, "-c 2",
                         "resume2.log"};
  BOOST_REQUIRE_MESSAGE(
      eventually([&] { return env.phase("D1", "T1") == events::execution_phase::succeeded; }, 60),
      "no success; swupdate log:\n"
          << confirm.log());
}

BOOST_AUTO_TEST_SUITE_END()
