// A Controller binds a Reconciler to a work queue and `workers` threads, and informers to the
// queue through event handlers that map objects to the keys to reconcile.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controller/informer.h"
#include "controller/metrics.h"
#include "controller/rate_limiter.h"
#include "controller/types.h"
#include "controller/work_queue.h"
#include "util/time.h"

namespace magnumd::controller {

struct ControllerOptions {
  std::string name;  // the queue's name and the metrics' `controller` label, e.g. "cluster"
  int workers = 1;   // concurrent reconciles (never two for the same key)
  RateLimiterOptions rate_limiter;
};

// Which keys an object's change concerns (e.g. a NodeGroup's Cluster).
using MapFunc = std::function<std::vector<Request>(const api::Object& object)>;
// Whether an add (old_object null) or update is worth a reconcile. Deletes always are.
using Predicate = std::function<bool(const api::Object* old_object, const api::Object& object)>;

// Filters out status-only writes (including a controller's own) and resync replays: true for
// adds and for changes of generation, labels, annotations, finalizers or deletionTimestamp.
bool specOrMetadataChanged(const api::Object* old_object, const api::Object& object);

class Controller {
 public:
  // `clock` and `metrics` (nullable) must outlive the controller.
  Controller(ControllerOptions options, std::unique_ptr<Reconciler> reconciler,
             const util::Clock& clock, RuntimeMetrics* metrics = nullptr);
  ~Controller();  // stops (waiting for running reconciles) if still running
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Before the informer starts: every change of an object enqueues its own key.
  void watch(Informer& informer, Predicate predicate = nullptr);
  // Before the informer starts: every change enqueues what `map` returns.
  void watchMapped(Informer& informer, MapFunc map, Predicate predicate = nullptr);

  void start();
  // Stops handing out keys and waits up to `timeout` for running reconciles. True when every
  // worker has finished; otherwise the stragglers are joined by the destructor.
  bool stop(Duration timeout);

  WorkQueue& queue() { return queue_; }
  Reconciler& reconciler() { return *reconciler_; }
  const std::string& name() const { return options_.name; }

 private:
  void worker();
  void reconcileOne(const Request& request);
  Result invoke(const Request& request);
  void joinWorkers();

  const ControllerOptions options_;
  std::unique_ptr<Reconciler> reconciler_;
  const util::Clock& clock_;
  RuntimeMetrics* metrics_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
  std::atomic<int> running_workers_{0};
  util::Counter* errors_ = nullptr;
  util::Gauge* active_ = nullptr;
};

using ControllerPtr = std::unique_ptr<Controller>;

}  // namespace magnumd::controller
