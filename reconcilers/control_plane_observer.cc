#include "reconcilers/control_plane_observer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>

#include "pki/certificate.h"
#include "pki/leaf.h"
#include "util/log.h"

namespace magnumd::reconcilers {

namespace asio = boost::asio;
using drivers::kube::ApiObservation;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr char kLog[] = "control-plane";
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// magnumd's user in every cluster: the group kubeadm binds to cluster-admin.
constexpr char kIdentityName[] = "magnumd";
constexpr char kIdentityGroup[] = "system:masters";

struct Identity {
  drivers::http::TlsContextPtr tls;
  util::SystemTime renew_at;
};

util::Result<Identity> issueIdentity(const pki::CertificateAuthority& ca, util::SystemTime now,
                                     std::chrono::seconds validity) {
  pki::LeafSpec spec;
  spec.common_name = kIdentityName;
  spec.organizations = {kIdentityGroup};
  spec.usage = pki::ExtendedKeyUsage::ClientAuth;
  spec.validity = validity;
  spec.now = now;
  auto issued = pki::issueLeaf(ca, spec);
  if (!issued.ok()) return issued.takeError();
  auto tls = drivers::http::makeTlsContext({ca.cert_pem, issued->cert_pem, issued->key_pem});
  OPENSSL_cleanse(issued->key_pem.data(), issued->key_pem.size());
  if (!tls.ok()) return tls.takeError();
  auto info = pki::inspectCertificate(issued->cert_pem);
  if (!info.ok()) return info.takeError();
  // A leaf never outlives its CA, so the certificate may be shorter than asked: renew once a third
  // of what it actually got is left.
  const auto lifetime = info->not_after - now;
  return Identity{std::move(*tls), now + lifetime * 2 / 3};
}

}  // namespace

ControlPlaneObserver::ControlPlaneObserver(drivers::kube::ApiProber& prober,
                                           const util::Clock& clock,
                                           ControlPlaneObserverOptions options,
                                           ChangeCallback on_change)
    : prober_(prober),
      clock_(clock),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      rng_(std::random_device{}()) {}

ControlPlaneObserver::~ControlPlaneObserver() = default;

util::Status ControlPlaneObserver::track(const std::string& uid, const ControlPlaneTarget& target) {
  const auto now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(uid);
    if (it != entries_.end() && it->second.tls && it->second.api_url == target.api_url &&
        it->second.ca_cert_pem == target.ca.cert_pem && now < it->second.identity_renew_at) {
      return {};
    }
  }
  // Key generation and signing: on the caller's (worker) thread, outside the lock.
  auto identity = issueIdentity(target.ca, now, options_.identity_validity);
  std::lock_guard lock(mutex_);
  auto& e = entries_[uid];
  const bool retarget = e.api_url != target.api_url;
  if (retarget || e.ca_cert_pem != target.ca.cert_pem) {
    // A new address is another API: what was seen of the old one goes. A new CA bundle (a step
    // of a CA rotation) is the same API seen with other credentials: the last observation stays,
    // so health does not flap, and the next probe comes at once.
    if (retarget) e.last.reset();
    e.api_url = target.api_url;
    e.name = target.name;
    e.ca_cert_pem = target.ca.cert_pem;
    e.epoch = next_epoch_++;
    e.probing = false;
    e.failures = 0;
    e.next_probe = clock_.monotonic();
  }
  if (!identity.ok()) {
    e.tls.reset();  // nothing to probe with
    return util::makeError(
        identity.error().code,
        fmt::format("cannot issue magnumd's client certificate from the cluster CA: {}",
                    identity.error().message));
  }
  e.tls = std::move(identity->tls);
  e.identity_renew_at = identity->renew_at;
  e.renewal_requested = false;
  stats_.identities_issued++;
  return {};
}

void ControlPlaneObserver::untrack(const std::string& uid) {
  std::lock_guard lock(mutex_);
  entries_.erase(uid);
}

std::optional<ApiObservation> ControlPlaneObserver::observation(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(uid);
  if (it == entries_.end()) return std::nullopt;
  return it->second.last;
}

std::optional<ControlPlaneObserver::Due> ControlPlaneObserver::lookup(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(uid);
  if (it == entries_.end() || !it->second.tls) return std::nullopt;
  const auto& e = it->second;
  return Due{uid, e.name.empty() ? uid : e.name, e.api_url, e.tls, e.epoch};
}

drivers::Task<drivers::kube::DrainProgress> ControlPlaneObserver::drainStep(std::string uid,
                                                                            std::string node) {
  auto t = lookup(uid);
  if (!t) {
    co_return util::makeError(util::ErrorCode::Unavailable,
                              "magnumd does not talk to this cluster's API (not tracked)");
  }
  co_return co_await prober_.drainStep(t->api_url, t->tls, std::move(node));
}

drivers::StatusTask ControlPlaneObserver::deleteNode(std::string uid, std::string node) {
  auto t = lookup(uid);
  if (!t) {
    co_return util::makeError(util::ErrorCode::Unavailable,
                              "magnumd does not talk to this cluster's API (not tracked)");
  }
  co_return co_await prober_.deleteNode(t->api_url, t->tls, std::move(node));
}

drivers::StatusTask ControlPlaneObserver::setClusterInfoCa(std::string uid,
                                                           std::string ca_bundle_pem) {
  auto t = lookup(uid);
  if (!t) {
    co_return util::makeError(util::ErrorCode::Unavailable,
                              "magnumd does not talk to this cluster's API (not tracked)");
  }
  co_return co_await prober_.setClusterInfoCa(t->api_url, t->tls, std::move(ca_bundle_pem));
}

drivers::StatusTask ControlPlaneObserver::refreshBootstrapToken(std::string uid, std::string token,
                                                               util::SystemTime expires) {
  auto t = lookup(uid);
  if (!t) {
    co_return util::makeError(util::ErrorCode::Unavailable,
                              "magnumd does not talk to this cluster's API (not tracked)");
  }
  co_return co_await prober_.refreshBootstrapToken(t->api_url, t->tls, std::move(token), expires);
}

ControlPlaneStats ControlPlaneObserver::stats() const {
  std::lock_guard lock(mutex_);
  ControlPlaneStats out = stats_;
  out.tracked = entries_.size();
  out.unreachable = 0;
  for (const auto& [uid, e] : entries_) {
    if (e.last && !e.last->reachable) out.unreachable++;
  }
  return out;
}

std::vector<ControlPlaneObserver::Due> ControlPlaneObserver::claim(bool all, size_t limit) {
  std::vector<Due> out;
  const auto now = clock_.monotonic();
  std::lock_guard lock(mutex_);
  for (auto& [uid, e] : entries_) {
    if (out.size() >= limit) break;
    if (e.probing || !e.tls || (!all && e.next_probe > now)) continue;
    e.probing = true;
    out.push_back({uid, e.name.empty() ? uid : e.name, e.api_url, e.tls, e.epoch});
  }
  return out;
}

SteadyClock::time_point ControlPlaneObserver::nextProbeAfter(SteadyClock::time_point now) {
  const double spread =
      std::uniform_real_distribution<double>(-options_.jitter, options_.jitter)(rng_);
  const auto interval =
      std::chrono::duration<double, std::milli>(options_.interval) * (1.0 + spread);
  return now + std::chrono::duration_cast<SteadyClock::duration>(interval);
}

// Parameters by value: detached probes outlive the loop iteration that starts them.
asio::awaitable<void> ControlPlaneObserver::probe(Due due) {
  const auto started = SteadyClock::now();
  std::optional<ApiObservation> observed;
  try {
    observed = co_await prober_.observe(due.api_url, due.tls);
  } catch (...) {
    // Cancelled (shutdown): give the slot back and end.
    std::lock_guard lock(mutex_);
    stats_.in_flight--;
    auto it = entries_.find(due.uid);
    if (it != entries_.end() && it->second.epoch == due.epoch) it->second.probing = false;
    throw;
  }
  if (options_.on_probe) options_.on_probe(*observed, SteadyClock::now() - started);
  record(due, std::move(*observed));
}

void ControlPlaneObserver::record(const Due& due, ApiObservation observed) {
  bool notify = false;
  {
    std::lock_guard lock(mutex_);
    stats_.in_flight--;
    stats_.probes++;
    auto it = entries_.find(due.uid);
    if (it == entries_.end() || it->second.epoch != due.epoch)
      return;  // untracked or retargeted meanwhile
    auto& e = it->second;
    e.probing = false;
    e.next_probe = nextProbeAfter(clock_.monotonic());
    if (observed.reachable) {
      e.failures = 0;
    } else if (e.last && e.last->reachable &&
               ++e.failures < std::max(1, options_.failure_threshold)) {
      // One lost answer from an API that answered: look again soon before saying it is down.
      stats_.debounced++;
      e.next_probe = clock_.monotonic() + options_.interval / 4;
      return;
    }
    if (!e.last || *e.last != observed) {
      if (e.last && e.last->reachable != observed.reachable) {
        if (observed.reachable) {
          LOG_INFO(kLog, "cluster {}: API at {} is reachable again ({})", due.name, due.api_url,
                   observed.git_version);
        } else {
          LOG_WARN(kLog, "cluster {}: API at {} is not reachable: {}", due.name, due.api_url,
                   observed.error);
        }
      }
      e.last = std::move(observed);
      stats_.changes++;
      notify = true;
    }
    if (!e.renewal_requested && clock_.now() >= e.identity_renew_at) {
      e.renewal_requested = true;  // the next pass's track() issues a fresh certificate
      notify = true;
    }
  }
  if (notify && on_change_) on_change_(due.uid);
}

size_t ControlPlaneObserver::reserveSlots(size_t wanted) {
  std::lock_guard lock(mutex_);
  const size_t cap = std::max<size_t>(1, options_.max_concurrent);
  const size_t granted = std::min(wanted, cap > stats_.in_flight ? cap - stats_.in_flight : 0);
  stats_.in_flight += granted;
  stats_.peak_in_flight = std::max(stats_.peak_in_flight, stats_.in_flight);
  return granted;
}

void ControlPlaneObserver::releaseSlots(size_t count) {
  std::lock_guard lock(mutex_);
  stats_.in_flight -= count;
}

uint64_t ControlPlaneObserver::inFlight() const {
  std::lock_guard lock(mutex_);
  return stats_.in_flight;
}

// Probes start outside the lock: co_spawn may run the probe inline up to its first suspension.
asio::awaitable<void> ControlPlaneObserver::run() {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  while (!stopping_) {
    const size_t slots = reserveSlots(SIZE_MAX);
    auto due = claim(false, slots);
    releaseSlots(slots - due.size());
    for (auto& d : due) asio::co_spawn(executor, probe(std::move(d)), asio::detached);
    timer.expires_after(options_.tick);
    co_await timer.async_wait(kTuple);
  }
  // Drain: every probe ends within its HTTP deadlines.
  while (inFlight() > 0) {
    timer.expires_after(options_.tick);
    co_await timer.async_wait(kTuple);
  }
}

asio::awaitable<void> ControlPlaneObserver::probeAll() {
  auto executor = co_await asio::this_coro::executor;
  auto queue = claim(true, SIZE_MAX);
  asio::steady_timer timer(executor);
  size_t next = 0;
  while (next < queue.size() || inFlight() > 0) {
    const size_t slots = reserveSlots(queue.size() - next);
    for (size_t i = 0; i < slots; ++i)
      asio::co_spawn(executor, probe(std::move(queue[next++])), asio::detached);
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(kTuple);
  }
}

}  // namespace magnumd::reconcilers
