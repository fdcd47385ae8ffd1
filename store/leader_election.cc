#include "store/leader_election.h"

#include <fmt/format.h>

#include <atomic>

#include "util/metrics.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

util::Status validateElectionTiming(const ElectionTiming& t) {
  using std::chrono::milliseconds;
  if (t.retry_period <= milliseconds(0) || t.lease_duration.count() % 1000 != 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--leader-retry-period ({} ms) must be positive and "
                                 "--leader-lease-duration ({} ms) whole seconds (etcd's lease TTL)",
                                 t.retry_period.count(), t.lease_duration.count()));
  }
  if (!(t.lease_duration > t.renew_deadline && t.renew_deadline * 10 > t.retry_period * 12)) {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("--leader-lease-duration ({} ms) must be longer than --leader-renew-deadline "
                    "({} ms), and that longer than 1.2 x --leader-retry-period ({} ms), as in "
                    "client-go (defaults 15s, 10s, 2s)",
                    t.lease_duration.count(), t.renew_deadline.count(), t.retry_period.count()));
  }
  return {};
}

namespace {

class SoleLeader final : public LeaderElector {
 public:
  SoleLeader(std::string identity, util::MetricsRegistry* metrics)
      : identity_(std::move(identity)) {
    if (metrics != nullptr) {
      gauge_ =
          &metrics->gauge("magnumd_leader", "1 on the replica that runs the controllers.").with({});
    }
  }
  void start(ElectionCallbacks callbacks) override {
    leading_ = true;
    if (gauge_) gauge_->set(1);
    if (callbacks.on_started_leading) callbacks.on_started_leading(LeaderTerm{identity_, 1, {}});
  }
  void stop() override {
    leading_ = false;
    if (gauge_) gauge_->set(0);
  }
  void resign() override {}
  bool leading() const override { return leading_; }
  std::string leader() const override { return identity_; }
  const std::string& identity() const override { return identity_; }

 private:
  const std::string identity_;
  std::atomic<bool> leading_{false};
  util::Gauge* gauge_ = nullptr;
};

}  // namespace

LeaderElectorPtr makeSoleLeader(std::string identity, util::MetricsRegistry* metrics) {
  return std::make_unique<SoleLeader>(std::move(identity), metrics);
}

}  // namespace magnumd::store
