// The Daemon's part in leader election (store/leader_election.h): every replica serves the API;
// the elected one runs the components' lead(), with the store fenced by its term; a replica that
// loses its term exits for its supervisor to restart it as a follower.
#include <fmt/format.h>

#include <algorithm>

#include "cmd/daemon.h"
#ifdef MAGNUMD_WITH_ETCD
#include "store/etcd_election.h"
#endif
#include "util/log.h"

namespace magnumd::cmd {

util::Status Daemon::createElector(uint16_t port) {
  const std::string identity = config_.replica_id.empty()
                                   ? fmt::format("{}:{}", heartbeat_.host, port)
                                   : config_.replica_id;
#ifdef MAGNUMD_WITH_ETCD
  if (config_.store == "etcd") {
    store::EtcdElectionOptions options;
    options.endpoints = config_.etcd_endpoints;
    options.ca_file = config_.etcd_ca;
    options.cert_file = config_.etcd_cert;
    options.key_file = config_.etcd_key;
    options.prefix = config_.etcd_prefix;
    options.identity = identity;
    ASSIGN_OR_RETURN(options.timing, electionTiming(config_));
    options.metrics = &metrics_;
    ASSIGN_OR_RETURN(elector_, store::makeEtcdElector(std::move(options)));
    // Every replica reports itself, as each Magnum conductor does; each report is an etcd
    // write, so no more often than every 2 s however short the sync interval.
    service_reports_->start(identity,
                            std::max(heartbeat_.report_interval, std::chrono::milliseconds(2000)));
    return {};
  }
#endif
  elector_ = store::makeSoleLeader(identity, &metrics_);
  return {};
}

void Daemon::startElection() {
  if (config_.store == "etcd") {
    LOG_INFO("magnumd", "replica {} serves the API and campaigns to run the controllers",
             elector_->identity());
  }
  elector_->start({[this](const store::LeaderTerm& term) { onElected(term); },
                   [this] { onDeposed(); }});
}

void Daemon::onElected(const store::LeaderTerm& term) {
  if (elected_.exchange(true)) return;
  leader_store_ = store_->fenced(term.fence);
  Leadership leadership{*leader_store_, [elector = elector_.get()] { return elector->leading(); },
                        term.token};
  for (size_t i = 0; i < started_components_; ++i) {
    if (auto status = components_[i]->lead(*services_, leadership); !status.ok()) {
      LOG_ERROR("magnumd", "{}: cannot run as the leader: {}; exiting", components_[i]->name(),
                status.error().message);
      exit_code_ = 1;
      requestStop();
      return;
    }
  }
}

void Daemon::onDeposed() {
  LOG_ERROR("magnumd",
            "{} lost the leadership: it stops its controllers and exits, for its supervisor to "
            "restart it as a follower (another replica leads meanwhile)",
            elector_->identity());
  exit_code_ = kExitLostLeadership;
  requestStop();
}

server::ReplicaRole Daemon::role() const {
  if (!elector_) return {};
  return {elector_->identity(), elector_->leader(), elector_->leading()};
}

}  // namespace magnumd::cmd
