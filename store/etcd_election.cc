#include "store/etcd_election.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/etcd_client.h"
#include "util/log.h"
#include "util/metrics.h"

namespace magnumd::store {

namespace {

using Clock = std::chrono::steady_clock;

int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

class EtcdElector final : public LeaderElector {
 public:
  EtcdElector(EtcdElectionOptions options, std::unique_ptr<EtcdClient> client)
      : options_(std::move(options)), client_(std::move(client)), keys_(options_.prefix) {
    if (options_.metrics != nullptr) {
      gauge_ =
          &options_.metrics->gauge("magnumd_leader", "1 on the replica that runs the controllers.")
               .with({});
      gauge_->set(0);
    }
  }
  ~EtcdElector() override {
    stop();
    resign();
  }

  void start(ElectionCallbacks callbacks) override {
    callbacks_ = std::move(callbacks);
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (watch_context_ != nullptr) watch_context_->TryCancel();
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    setLeading(false);
  }

  void resign() override {
    const int64_t lease = lease_.exchange(0);
    if (lease == 0) return;
    auto revoked = client_->leaseRevoke(lease);
    if (!revoked.ok() && revoked.error().message.find("lease not found") == std::string::npos) {
      LOG_WARN("election",
               "could not give up the leadership at once ({}); it ends when lease "
               "{:x} expires",
               revoked.error().message, lease);
    }
  }

  bool leading() const override {
    return leading_.load() && ticks(Clock::now()) - renewed_at_.load() <
                                  Clock::duration(timing().renew_deadline).count();
  }

  std::string leader() const override {
    std::lock_guard lock(mu_);
    return leader_;
  }
  const std::string& identity() const override { return options_.identity; }

 private:
  struct Campaign {
    bool won = false;
    int64_t token = 0;     // won: the leader key's creation revision
    int64_t revision = 0;  // lost: the revision the holder was read at
    std::string holder;
  };

  const ElectionTiming& timing() const { return options_.timing; }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Sleeps `period` unless stop() comes first.
  void pause(std::chrono::milliseconds period) {
    std::unique_lock lock(mu_);
    stop_cv_.wait_for(lock, period, [this] { return stopping_; });
  }

  void setLeading(bool leading) {
    leading_ = leading;
    if (gauge_ != nullptr) gauge_->set(leading ? 1 : 0);
  }

  void setLeader(const std::string& holder) {
    std::lock_guard lock(mu_);
    if (holder != leader_ && !holder.empty() && holder != options_.identity) {
      LOG_INFO("election", "{} leads; {} follows", holder, options_.identity);
    }
    leader_ = holder;
  }

  // Grants the lease, or keeps it alive: true when etcd holds it for lease_duration from `sent`.
  bool renewLease(Clock::time_point sent) {
    if (int64_t lease = lease_.load(); lease != 0) {
      auto ttl = client_->leaseKeepAlive(lease);
      if (!ttl.ok()) return report(ttl.error());
      if (*ttl > 0) {
        renewed_at_ = ticks(sent);
        return true;
      }
      lease_ = 0;  // expired (this process was paused, or etcd unreachable too long): a new one
    }
    auto granted = client_->leaseGrant(timing().lease_duration.count() / 1000);
    if (!granted.ok()) return report(granted.error());
    lease_ = granted->id();
    renewed_at_ = ticks(sent);
    return true;
  }

  bool report(const util::Error& error) {
    if (!warned_) LOG_WARN("election", "{} cannot campaign: {}", options_.identity, error.message);
    warned_ = true;
    return false;
  }

  util::Result<Campaign> campaign() {
    const std::string key = keys_.leaderKey();
    etcdserverpb::TxnRequest txn;
    auto* absent = txn.add_compare();
    absent->set_key(key);
    absent->set_target(etcdserverpb::Compare::CREATE);
    absent->set_result(etcdserverpb::Compare::EQUAL);
    absent->set_create_revision(0);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(options_.identity);
    put->set_lease(lease_.load());
    txn.add_failure()->mutable_request_range()->set_key(key);
    ASSIGN_OR_RETURN(auto response, client_->txn(txn));
    Campaign out;
    out.revision = response.header().revision();
    if (response.succeeded()) {
      out.won = true;
      out.token = response.header().revision();
      out.holder = options_.identity;
      return out;
    }
    const auto& range = response.responses(0).response_range();
    if (range.kvs_size() == 0) return out;  // deleted meanwhile: campaign again
    const auto& kv = range.kvs(0);
    // Our own key: an earlier campaign won but its answer was lost.
    out.won = kv.lease() == lease_.load();
    out.token = kv.create_revision();
    out.holder = kv.value();
    return out;
  }

  // Returns when the leader key is deleted after `revision`, after retry_period, or on stop().
  void waitForVacancy(int64_t revision) {
    const auto began = Clock::now();
    bool vacant = false;
    watchForDelete(revision, vacant);
    // A watch etcd refused at once (a compacted revision) must not turn the loop into a spin.
    if (!vacant)
      pause(std::chrono::duration_cast<std::chrono::milliseconds>(timing().retry_period -
                                                                  (Clock::now() - began)));
  }

  void watchForDelete(int64_t revision, bool& vacant) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timing().retry_period);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      watch_context_ = &context;
    }
    auto stream = client_->watchStub().Watch(&context);
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(keys_.leaderKey());
    create->set_start_revision(revision + 1);
    create->add_filters(etcdserverpb::WatchCreateRequest::NOPUT);
    if (stream->Write(request)) {
      etcdserverpb::WatchResponse response;
      while (!vacant && stream->Read(&response) && !response.canceled()) {
        vacant = response.events_size() > 0;  // only deletes pass the filter
      }
    }
    {
      std::lock_guard lock(mu_);
      watch_context_ = nullptr;
    }
    context.TryCancel();
    stream->Finish();  // ends by deadline or cancellation: not an error here
  }

  // Renews every retry_period until renewal failed for renew_deadline, the lease expired, the
  // key is no longer this term's, or stop(). Returns why the term ended ("" on stop()).
  std::string renewWhileLeading(int64_t token) {
    while (!stopping()) {
      pause(timing().retry_period);
      if (stopping()) return "";
      if (!leading()) {
        return fmt::format("not renewed for {} ms (--leader-renew-deadline)",
                           timing().renew_deadline.count());
      }
      const auto sent = Clock::now();
      auto ttl = client_->leaseKeepAlive(lease_.load());
      if (!ttl.ok()) {
        LOG_WARN("election", "renewing the leadership failed: {}", ttl.error().message);
        continue;
      }
      if (*ttl <= 0) return "its lease expired";
      renewed_at_ = ticks(sent);
      etcdserverpb::RangeRequest read;
      read.set_key(keys_.leaderKey());
      auto key = client_->range(read);
      if (key.ok() && (key->kvs_size() == 0 || key->kvs(0).create_revision() != token)) {
        return "its leader key was deleted";
      }
    }
    return "";
  }

  void lead(int64_t token) {
    setLeading(true);
    LOG_INFO("election", "{} leads (term {}, lease {:x})", options_.identity, token, lease_.load());
    // On a thread of its own, as client-go's OnStartedLeading: starting the controllers must not
    // delay the renewals.
    std::thread starting;
    if (callbacks_.on_started_leading) {
      starting = std::thread([this, term = LeaderTerm{options_.identity, token,
                                                      WriteFence{keys_.leaderKey(), token}}] {
        callbacks_.on_started_leading(term);
      });
    }
    std::string why = renewWhileLeading(token);
    if (starting.joinable()) starting.join();
    if (why.empty()) return;  // stop(): the daemon resigns once its controllers stopped
    setLeading(false);
    LOG_WARN("election", "{} lost the leadership (term {}): {}", options_.identity, token, why);
    if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
  }

  void run() {
    while (!stopping()) {
      if (!renewLease(Clock::now())) {
        pause(timing().retry_period);
        continue;
      }
      auto result = campaign();
      if (!result.ok()) {
        report(result.error());
        pause(timing().retry_period);
        continue;
      }
      warned_ = false;
      setLeader(result->holder);
      if (result->won) {
        lead(result->token);
        return;  // one term per elector: see ElectionCallbacks::on_stopped_leading
      } else if (!result->holder.empty()) {
        waitForVacancy(result->revision);
      }
    }
  }

  const EtcdElectionOptions options_;
  std::unique_ptr<EtcdClient> client_;
  const EtcdKeys keys_;
  ElectionCallbacks callbacks_;
  util::Gauge* gauge_ = nullptr;

  std::atomic<int64_t> lease_{0};
  std::atomic<bool> leading_{false};
  std::atomic<int64_t> renewed_at_{0};  // steady clock ticks when the last renewal was sent
  bool warned_ = false;                 // the campaign's failure was logged (elector thread)

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  grpc::ClientContext* watch_context_ = nullptr;  // waitForVacancy's stream, to cancel it
  std::string leader_;
  std::thread thread_;
};

}  // namespace

util::Result<LeaderElectorPtr> makeEtcdElector(EtcdElectionOptions options) {
  RETURN_IF_ERROR(validateElectionTiming(options.timing));
  if (options.identity.empty()) {
    return util::makeError(util::ErrorCode::BadRequest, "leader election needs a replica identity");
  }
  EtcdConnectOptions connect{options.endpoints, options.ca_file, options.cert_file,
                             options.key_file};
  // Every call gives up within one retry period: a late answer is no use to a renewal.
  connect.request_timeout = options.timing.retry_period;
  ASSIGN_OR_RETURN(auto client, EtcdClient::connect(connect));
  return LeaderElectorPtr(new EtcdElector(std::move(options), std::move(client)));
}

}  // namespace magnumd::store
