// The controller runtime's Prometheus families, registered once per registry and shared by every
// work queue, controller, informer and event recorder of a manager.
#pragma once

#include "util/metrics.h"

namespace magnumd::controller {

struct RuntimeMetrics {
  explicit RuntimeMetrics(util::MetricsRegistry& registry);

  // Work queues, labelled by queue name.
  util::Family<util::Gauge>& queue_depth;
  util::Family<util::Counter>& queue_adds;
  util::Family<util::Counter>& queue_retries;
  util::Family<util::Histogram>& queue_latency;   // seconds from add to get
  util::Family<util::Histogram>& work_duration;   // seconds from get to done
  util::Family<util::Gauge>& unfinished_work;     // seconds of work in progress, summed
  util::Family<util::Gauge>& longest_running;     // seconds of the longest reconcile running now

  // Reconciles, labelled by controller, kind and result (success|requeue_after|error|terminal_error).
  util::Family<util::Counter>& reconcile_total;
  util::Family<util::Counter>& reconcile_errors;  // by controller
  util::Family<util::Histogram>& reconcile_duration;  // by controller, kind
  util::Family<util::Gauge>& active_workers;      // by controller

  // Informers, labelled by kind.
  util::Family<util::Counter>& informer_events;   // by kind, type (added|modified|deleted)
  // by kind, reason (initial|expired|watch_failed|error)
  util::Family<util::Counter>& informer_relists;
  util::Family<util::Gauge>& informer_objects;    // by kind

  // Event recorder.
  util::Family<util::Counter>& events_recorded;   // by type (Normal|Warning)
  util::Family<util::Counter>& events_written;    // by op (create|update)
  util::Family<util::Counter>& events_dropped;    // by reason (queue_full|store_error)
};

}  // namespace magnumd::controller
