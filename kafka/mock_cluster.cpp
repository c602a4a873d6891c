#include "kafka/mock_cluster.hpp"

#include "kafka/errc.hpp"
#include "kafka/internal/client.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <vector>

namespace otaledger::kafka {

struct mock_cluster::impl {
  internal::rk_ptr rk; // the cluster runs on this handle's threads
  rd_kafka_mock_cluster_t* cluster = nullptr;
  int brokers = 0;
  ~impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
  }
};

mock_cluster::mock_cluster(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
mock_cluster::~mock_cluster() = default;

result<std::unique_ptr<mock_cluster>> mock_cluster::create(int brokers) {
  if (brokers < 1) return make_error_code(errc::invalid_options);
  std::string error;
  // A handle with no brokers of its own; silence its "no bootstrap.servers" notice.
  const std::vector<std::pair<std::string, std::string>> props = {{"log_level", "3"}};
  OTA_TRY(conf, internal::make_conf(props, error));
  OTA_TRY(rk, internal::make_client(RD_KAFKA_PRODUCER, std::move(conf), error));
  auto p = std::make_unique<impl>();
  p->rk = std::move(rk);
  p->cluster = rd_kafka_mock_cluster_new(p->rk.get(), brokers);
  if (!p->cluster) return make_error_code(errc::client_failed);
  p->brokers = brokers;
  return std::unique_ptr<mock_cluster>{new mock_cluster{std::move(p)}};
}

std::string mock_cluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

result<void> mock_cluster::create_topic(std::string_view topic, int partitions,
                                        int replication_factor) {
  std::string t{topic};
  auto err = rd_kafka_mock_topic_create(impl_->cluster, t.c_str(), partitions, replication_factor);
  if (err) return internal::to_error_code(err);
  return ok();
}

result<void> mock_cluster::set_down(std::int32_t broker_id) {
  if (broker_id < 0) {
    for (int b = 1; b <= impl_->brokers; ++b) {
      OTA_TRYV(set_down(b));
    }
    return ok();
  }
  if (auto err = rd_kafka_mock_broker_set_down(impl_->cluster, broker_id))
    return internal::to_error_code(err);
  return ok();
}

result<void> mock_cluster::set_up(std::int32_t broker_id) {
  if (broker_id < 0) {
    for (int b = 1; b <= impl_->brokers; ++b) {
      OTA_TRYV(set_up(b));
    }
    return ok();
  }
  if (auto err = rd_kafka_mock_broker_set_up(impl_->cluster, broker_id))
    return internal::to_error_code(err);
  return ok();
}

result<void> mock_cluster::set_rtt(std::int32_t broker_id, int rtt_ms) {
  if (auto err = rd_kafka_mock_broker_set_rtt(impl_->cluster, broker_id, rtt_ms))
    return internal::to_error_code(err);
  return ok();
}

void mock_cluster::push_request_errors(std::int16_t api, std::initializer_list<int> errors) {
  std::vector<rd_kafka_resp_err_t> v;
  for (int e : errors)
    v.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, api, v.size(), v.data());
}

void mock_cluster::clear_request_errors(std::int16_t api) {
  rd_kafka_mock_clear_request_errors(impl_->cluster, api);
}

} // namespace otaledger::kafka
