#include "controller/manager.h"

#include "util/log.h"

namespace magnumd::controller {
namespace {

const char* kLog = "manager";

Duration remaining(TimePoint deadline) {
  return std::max(Duration::zero(), deadline - std::chrono::steady_clock::now());
}

}  // namespace

Manager::Manager(store::Store& store, ManagerOptions options, const util::Clock& clock,
                 util::MetricsRegistry& registry)
    : store_(store),
      options_(std::move(options)),
      clock_(clock),
      metrics_(registry),
      events_(std::make_unique<StoreEventRecorder>(store, options_.events, clock, &metrics_)) {}

Manager::~Manager() {
  if (started_ && !stopped_) stop();
}

Informer& Manager::informer(api::Kind kind) {
  auto& slot = informers_[kind];
  if (!slot) {
    InformerOptions o;
    o.kind = kind;
    o.resync_period = options_.resync_period;
    slot = std::make_unique<Informer>(store_, std::move(o), &metrics_);
  }
  return *slot;
}

Controller& Manager::addController(ControllerOptions options,
                                   std::unique_ptr<Reconciler> reconciler) {
  controllers_.push_back(
      std::make_unique<Controller>(std::move(options), std::move(reconciler), clock_, &metrics_));
  return *controllers_.back();
}

void Manager::addRunnable(std::unique_ptr<Runnable> runnable) {
  runnables_.push_back(std::move(runnable));
}

util::Status Manager::start() {
  if (started_) return {};
  started_ = true;
  for (auto& [kind, informer] : informers_) informer->start();
  const TimePoint deadline = std::chrono::steady_clock::now() + options_.cache_sync_timeout;
  for (auto& [kind, informer] : informers_) {
    if (!informer->waitForSync(remaining(deadline))) {
      stop();
      return util::makeError(util::ErrorCode::Timeout,
                             fmt::format("the {} cache did not sync within {} s",
                                         api::kindInfo(kind).name,
                                         std::chrono::duration_cast<std::chrono::seconds>(
                                             options_.cache_sync_timeout).count()));
    }
  }
  for (auto& runnable : runnables_) {
    util::Status s = runnable->start();
    if (!s.ok()) {
      util::Error e = s.takeError();
      e.message = fmt::format("starting {}: {}", runnable->name(), e.message);
      stop();
      return e;
    }
    ++runnables_started_;
  }
  for (auto& c : controllers_) c->start();
  LOG_INFO(kLog, "started {} informers, {} runnables, {} controllers", informers_.size(),
           runnables_.size(), controllers_.size());
  return {};
}

bool Manager::stop() {
  if (stopped_) return true;
  stopped_ = true;
  const TimePoint deadline = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  bool clean = true;
  // Controllers stop taking keys together, so one slow reconcile does not hold up the others.
  for (auto& c : controllers_) c->queue().shutDown();
  for (auto& c : controllers_) clean = c->stop(remaining(deadline)) && clean;
  for (size_t i = runnables_started_; i > 0; --i) {
    clean = runnables_[i - 1]->stop(remaining(deadline)) && clean;
  }
  events_->stop(remaining(deadline));
  for (auto& [kind, informer] : informers_) informer->stop();
  if (!clean) LOG_WARN(kLog, "stopped with work still running after the shutdown deadline");
  return clean;
}

bool Manager::ready() const {
  if (!started_ || stopped_) return false;
  for (const auto& [kind, informer] : informers_) {
    if (!informer->hasSynced()) return false;
  }
  return true;
}

}  // namespace magnumd::controller
