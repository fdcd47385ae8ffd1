#include "controller/controller.h"

#include <exception>

#include "util/log.h"

namespace magnumd::controller {
namespace {

const char* kLog = "controller";

bool metadataChanged(const api::ObjectMeta& a, const api::ObjectMeta& b) {
  return a.generation != b.generation || a.labels != b.labels || a.annotations != b.annotations ||
         a.finalizers != b.finalizers || a.deletion_timestamp != b.deletion_timestamp ||
         a.uid != b.uid;
}

std::string_view kindName(api::Kind kind) { return api::kindInfo(kind).name; }

}  // namespace

std::string describe(const Request& request) {
  std::string out(kindName(request.kind));
  out += ' ';
  if (!request.namespace_.empty()) out.append(request.namespace_).append("/");
  return out.append(request.name);
}

bool specOrMetadataChanged(const api::Object* old_object, const api::Object& object) {
  return old_object == nullptr || metadataChanged(old_object->metadata, object.metadata);
}

Controller::Controller(ControllerOptions options, std::unique_ptr<Reconciler> reconciler,
                       const util::Clock& clock, RuntimeMetrics* metrics)
    : options_(std::move(options)),
      reconciler_(std::move(reconciler)),
      clock_(clock),
      metrics_(metrics),
      queue_(options_.name, makeDefaultRateLimiter(options_.rate_limiter, clock), clock, metrics) {
  if (metrics_ != nullptr) {
    errors_ = &metrics_->reconcile_errors.with({options_.name});
    active_ = &metrics_->active_workers.with({options_.name});
  }
}

Controller::~Controller() {
  queue_.shutDown();
  joinWorkers();
}

void Controller::watch(Informer& informer, Predicate predicate) {
  watchMapped(
      informer, [](const api::Object& o) { return std::vector<Request>{api::keyOf(o)}; },
      std::move(predicate));
}

void Controller::watchMapped(Informer& informer, MapFunc map, Predicate predicate) {
  auto enqueue = [this, map](const api::Object& object) {
    for (const auto& key : map(object)) queue_.add(key);
  };
  EventHandler handler;
  handler.on_add = [enqueue, predicate](const ObjectPtr& o) {
    if (!predicate || predicate(nullptr, *o)) enqueue(*o);
  };
  handler.on_update = [enqueue, predicate](const ObjectPtr& old_object, const ObjectPtr& o) {
    if (!predicate || predicate(old_object.get(), *o)) enqueue(*o);
  };
  handler.on_delete = [enqueue](const ObjectPtr& o) { enqueue(*o); };
  informer.addEventHandler(std::move(handler));
}

void Controller::start() {
  if (!workers_.empty()) return;
  const int n = std::max(1, options_.workers);
  if (metrics_ != nullptr) active_->set(0);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker(); });
  LOG_INFO(kLog, "{}: started {} workers", options_.name, n);
}

bool Controller::stop(Duration timeout) {
  bool drained = queue_.shutDownWithDrain(timeout);
  if (!drained) {
    LOG_WARN(kLog, "{}: {} reconciles still running after the shutdown deadline", options_.name,
             queue_.processingLen());
    return false;
  }
  joinWorkers();
  return true;
}

void Controller::joinWorkers() {
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

void Controller::worker() {
  while (auto request = queue_.get()) {
    reconcileOne(*request);
    queue_.done(*request);
  }
}

Result Controller::invoke(const Request& request) {
  try {
    return reconciler_->reconcile(request);
  } catch (const std::exception& e) {
    return Result::fail(util::makeError(util::ErrorCode::Internal,
                                        std::string("reconcile threw: ") + e.what()));
  } catch (...) {
    return Result::fail(util::makeError(util::ErrorCode::Internal, "reconcile threw"));
  }
}

void Controller::reconcileOne(const Request& request) {
  if (active_ != nullptr) active_->inc();
  const TimePoint started = clock_.monotonic();
  Result result = invoke(request);
  const double seconds = std::chrono::duration<double>(clock_.monotonic() - started).count();
  if (active_ != nullptr) active_->dec();

  const char* outcome = "success";
  if (result.error) {
    if (errors_ != nullptr) errors_->inc();
    if (result.terminal) {
      // Not retried: only a new change to the object brings the key back.
      outcome = "terminal_error";
      LOG_ERROR(kLog, "{}: {}: {} (terminal, not retried)", options_.name, describe(request),
                result.error->message);
    } else {
      outcome = "error";
      if (result.requeue_after) {
        LOG_WARN(kLog, "{}: {}: requeueAfter ignored because the reconcile returned an error",
                 options_.name, describe(request));
      }
      queue_.addRateLimited(request);
      LOG_WARN(kLog, "{}: {}: {} (retry {})", options_.name, describe(request),
               result.error->message, queue_.numRequeues(request));
    }
  } else if (result.requeue_after && *result.requeue_after > Duration::zero()) {
    outcome = "requeue_after";
    queue_.forget(request);
    queue_.addAfter(request, *result.requeue_after);
  } else {
    queue_.forget(request);
  }
  if (metrics_ != nullptr) {
    std::string kind(kindName(request.kind));
    metrics_->reconcile_total.with({options_.name, kind, outcome}).inc();
    metrics_->reconcile_duration.with({options_.name, kind}).observe(seconds);
  }
}

}  // namespace magnumd::controller
