// The Manager owns the runtime: one shared informer per kind, the controllers, other runnables
// (e.g. the cloud observer) and the event recorder. start() brings them up in dependency order;
// stop() takes them down in reverse within one deadline.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/controller.h"
#include "controller/event_recorder.h"
#include "controller/informer.h"
#include "controller/metrics.h"
#include "store/store.h"
#include "util/metrics.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::controller {

// Anything else with a lifecycle the manager should run: started after the informers have
// synced and before the controllers' workers, stopped after the workers.
class Runnable {
 public:
  virtual ~Runnable() = default;
  virtual std::string name() const = 0;
  virtual util::Status start() = 0;
  virtual bool stop(Duration timeout) = 0;  // true when it stopped within the timeout
};

struct ManagerOptions {
  Duration cache_sync_timeout = std::chrono::minutes(2);
  Duration shutdown_timeout = std::chrono::seconds(30);  // for all of stop()
  Duration resync_period{0};  // for the informers the manager creates
  EventRecorderOptions events;
};

class Manager {
 public:
  // `clock` and `registry` must outlive the manager.
  Manager(store::Store& store, ManagerOptions options, const util::Clock& clock,
          util::MetricsRegistry& registry);
  ~Manager();  // stop() if running
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // The shared informer for `kind` (all namespaces), created on first use. Before start():
  // add indexes and handlers to it then.
  Informer& informer(api::Kind kind);
  Controller& addController(ControllerOptions options, std::unique_ptr<Reconciler> reconciler);
  void addRunnable(std::unique_ptr<Runnable> runnable);
  EventRecorder& eventRecorder() { return *events_; }

  // Informers, then waits for every cache to sync (cache_sync_timeout), then runnables, then the
  // controllers' workers. On error everything started so far is stopped again.
  util::Status start();
  // Controllers (stop taking keys, wait for running reconciles), runnables, the event recorder
  // (writes what is queued), informers. True when all of it finished within shutdown_timeout.
  bool stop();
  // Started and every informer has synced: what /readyz reports.
  bool ready() const;

  store::Store& store() { return store_; }
  RuntimeMetrics& metrics() { return metrics_; }
  const util::Clock& clock() const { return clock_; }

 private:
  store::Store& store_;
  const ManagerOptions options_;
  const util::Clock& clock_;
  RuntimeMetrics metrics_;
  std::map<api::Kind, InformerPtr> informers_;
  std::vector<ControllerPtr> controllers_;
  std::vector<std::unique_ptr<Runnable>> runnables_;
  size_t runnables_started_ = 0;
  std::unique_ptr<StoreEventRecorder> events_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace magnumd::controller
