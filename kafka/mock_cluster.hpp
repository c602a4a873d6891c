// An in-process Kafka cluster for tests: librdkafka's mock cluster
// (rdkafka_mock.h, an experimental API pinned to librdkafka 2.0.2) behind a
// header without librdkafka types.
//
// The brokers listen on 127.0.0.1 ports, so any client of this or another
// process (a child relay, kcat) can use bootstrap_servers(). It supports
// produce (idempotent too), fetch, consumer groups and metadata; not SSL/SASL,
// CreateTopics, compaction or transactions' read isolation. Each partition
// keeps at most 5 MiB or 100,000 message sets: keep test topics small.
//
// Faults: brokers down and up again (connections are closed and refused; no
// leader change), errors pushed onto the next requests of one API (e.g. the
// next Produce requests answer NOT_LEADER_FOR_PARTITION), round-trip delays.
//
// Thread safety: every member may be called from any thread. Destroy every
// client of the cluster before the cluster.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace otaledger::kafka {

/// Kafka protocol API keys (the protocol's numbers; librdkafka does not install them).
namespace api_key {
inline constexpr std::int16_t produce = 0;
inline constexpr std::int16_t fetch = 1;
inline constexpr std::int16_t list_offsets = 2;
inline constexpr std::int16_t metadata = 3;
inline constexpr std::int16_t init_producer_id = 22;
} // namespace api_key

/// Kafka protocol error codes used by the tests (the protocol's numbers).
namespace broker_error {
inline constexpr int not_leader_for_partition = 6;      ///< retriable
inline constexpr int request_timed_out = 7;             ///< retriable, possibly persisted
inline constexpr int not_enough_replicas = 19;          ///< retriable
inline constexpr int out_of_order_sequence_number = 45; ///< fatal for an idempotent producer
inline constexpr int invalid_record = 87;               ///< permanent for the batch
inline constexpr int transport = -195;                  ///< the broker drops the connection
} // namespace broker_error

class mock_cluster {
public:
  /// Starts a cluster of `brokers` brokers (ids 1..brokers).
  static result<std::unique_ptr<mock_cluster>> create(int brokers = 1);
  ~mock_cluster();
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  /// "127.0.0.1:port,..." for bootstrap.servers.
  std::string bootstrap_servers() const;

  /// Creates a topic (auto-created topics get 4 partitions otherwise).
  result<void> create_topic(std::string_view topic, int partitions, int replication_factor = 1);

  /// Takes a broker down (-1: every broker): connections are closed and refused.
  result<void> set_down(std::int32_t broker_id = -1);
  /// Brings a broker back (-1: every broker).
  result<void> set_up(std::int32_t broker_id = -1);
  /// Delays every answer of a broker by rtt_ms.
  result<void> set_rtt(std::int32_t broker_id, int rtt_ms);

  /// The next requests of `api` (cluster-wide) answer these broker errors, in order.
  void push_request_errors(std::int16_t api, std::initializer_list<int> errors);
  /// Forgets the errors still queued for `api`.
  void clear_request_errors(std::int16_t api);

private:
  struct impl;
  explicit mock_cluster(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace otaledger::kafka
