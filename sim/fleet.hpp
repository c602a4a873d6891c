// A simulated fleet on the network: N devices that talk to a running
// otaledger server over HTTP (polling) or MQTT (push, through a broker), or
// both by share, exactly as docs/device-protocol.md tells an integrator:
// self-registration with the product secret (each device chooses its own
// secret, so a repeated registration is idempotent), reports (versions,
// online, signal, battery), instructions (HTTP: polled; MQTT: pushed, plus the
// report's reply after every (re)connection), downloads in Range chunks with a
// modelled bandwidth and broken connections resumed with Range + If-Range,
// SHA-256 verification, installs, results.
//
// Efficient: one I/O thread runs every device as a small state machine on
// Boost.Asio timers; HTTP devices share a bounded pool of keep-alive
// connections (sim/http_pool.hpp); MQTT devices share a few gateway
// connections (sim/mqtt_gateway.hpp). 10,000 devices need no more threads.
//
// Deterministic by seed: which devices are MQTT, offline, low on battery or
// signal, and which attempts fail (download or install) is a pure function of
// (seed, device, task, attempt); which download chunks break is a function of
// (seed, device). Timing (and so the interleaving) is not.
//
// Reliability: a message is sent again with the SAME id until it is answered
// (HTTP: transport failure or 503; MQTT: no reply within reply_timeout), so a
// server crash or a broker restart loses nothing the device considers done,
// and the server decides each message once. The tally counts only answered
// ("acknowledged") results.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace otaledger::sim {

struct fleet_options {
  /// The server, "http://host:port" (IPv4 address or "localhost").
  std::string server = "http://127.0.0.1:8080";
  /// The broker, "mqtt://host:port"; empty: every device uses HTTP.
  std::string mqtt_url;
  /// The server's MQTT topic prefix.
  std::string topic_prefix = "otaledger/v1/devices";
  /// Client id prefix of the gateway connections (one fleet, one prefix).
  std::string mqtt_client_prefix = "otaledger-sim";
  std::uint64_t devices = 100;
  /// Share of devices (0..1) that use MQTT (needs mqtt_url).
  double mqtt_share = 0.0;
  /// Device ids are <id_prefix><n>, n = 0..devices-1.
  std::string id_prefix = "sim-";
  std::string product = "P1";
  /// The product's self-registration secret.
  std::string product_secret;
  /// Register devices at start (false: they are registered already with the
  /// secrets this fleet derives, see device_secret()).
  bool self_register = true;
  std::string fota_version = "1.0";
  std::string province = "GD";
  std::string city;
  std::uint64_t seed = 1;
  /// Shares (0..1) of attempts whose install fails / whose download fails
  /// verification (reported checksum_mismatch).
  double failure_rate = 0.0;
  double download_failure_rate = 0.0;
  /// Shares (0..1) of devices that start offline (they come online after
  /// offline_seconds), with a low battery (15 %) or a weak signal (5) until
  /// recover_seconds (then 80 % and 25).
  double offline_rate = 0.0;
  double low_battery_rate = 0.0;
  double low_signal_rate = 0.0;
  double offline_seconds = 3.0;
  double recover_seconds = 3.0;
  /// Share (0..1) of download chunks whose connection breaks midway (the
  /// device keeps a random prefix and resumes with Range + If-Range).
  double broken_download_rate = 0.0;
  /// Modelled bandwidth per device in bytes/s (0: as fast as loopback).
  double bandwidth = 0.0;
  /// Bytes per Range request.
  std::size_t chunk_bytes = 64 * 1024;
  /// Progress reports "downloading <p>%" while downloading (besides 0 % and downloaded).
  unsigned progress_steps = 1;
  /// HTTP devices poll the instruction this often while idle or waiting.
  double poll_seconds = 2.0;
  /// Every device reports at least this often.
  double report_seconds = 60.0;
  double install_seconds = 0.2;
  /// Registrations are spread over this many seconds.
  double ramp_seconds = 1.0;
  std::size_t http_connections = 32;
  std::size_t mqtt_connections = 4;
  /// MQTT: no reply this long, publish the message again (same id).
  double reply_timeout_seconds = 10.0;
  /// HTTP: back-off before sending again after a transport failure or 503.
  double retry_seconds = 0.5;
};

/// Outcomes of one task as the devices saw them (acknowledged by the server).
struct task_tally {
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t canceled = 0;
  std::uint64_t held = 0; ///< devices that were told to hold at least once
  /// Results whose first send got no answer (server crash, broker restart)
  /// and whose resend (same id) was refused "execution_finished": the first
  /// send may have been recorded. Not acknowledged, so not counted above.
  std::uint64_t unconfirmed_succeeded = 0;
  std::uint64_t unconfirmed_failed = 0;
};

struct fleet_tally {
  std::uint64_t devices = 0, http_devices = 0, mqtt_devices = 0;
  std::uint64_t registered = 0;
  std::uint64_t offline = 0, low_battery = 0, low_signal = 0; ///< devices so configured
  std::uint64_t messages = 0;    ///< device messages sent (first sends)
  std::uint64_t resent = 0;      ///< sent again with the same id (no answer)
  std::uint64_t duplicates = 0;  ///< answered "duplicate": true
  std::uint64_t refused = 0;     ///< answered with a problem
  std::uint64_t reports = 0, polls = 0, instructions = 0;
  std::uint64_t downloads = 0, downloads_completed = 0, broken = 0;
  std::uint64_t bytes = 0, checksum_errors = 0;
  std::uint64_t transport_errors = 0;
  std::uint64_t mqtt_connects = 0;
  std::map<std::string, task_tally> tasks;
  nlohmann::json to_json() const;
};

class fleet {
public:
  explicit fleet(fleet_options o);
  ~fleet();
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;

  /// Checks the options and starts the fleet's I/O thread; the devices begin.
  /// Returns an error message, or "" on success.
  std::string start();
  /// Stops every device and joins the thread. Idempotent.
  void stop();

  fleet_tally tally() const;
  /// Devices that have a final outcome (succeeded, failed, canceled) in `task`.
  std::uint64_t finished(const std::string& task) const;

  /// The secret device `n` chooses (derived from the seed).
  std::string device_secret(const std::string& device) const;
  std::string device_id(std::uint64_t n) const;
  /// Whether device n uses MQTT.
  bool uses_mqtt(std::uint64_t n) const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// `otaledger simulate` (argv[0] = "simulate").
int simulate_main(int argc, char** argv);

} // namespace otaledger::sim
