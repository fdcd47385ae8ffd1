#include "controller/metrics.h"

namespace magnumd::controller {

RuntimeMetrics::RuntimeMetrics(util::MetricsRegistry& r)
    : queue_depth(r.gauge("magnumd_workqueue_depth", "Keys waiting in the work queue.", {"name"})),
      queue_adds(r.counter("magnumd_workqueue_adds_total", "Keys added to the work queue.",
                           {"name"})),
      queue_retries(r.counter("magnumd_workqueue_retries_total",
                              "Rate-limited re-adds (retries after errors).", {"name"})),
      queue_latency(r.histogram("magnumd_workqueue_queue_duration_seconds",
                                "Time a key waits in the queue before a worker takes it.",
                                {"name"})),
      work_duration(r.histogram("magnumd_workqueue_work_duration_seconds",
                                "Time a worker spends on one key.", {"name"})),
      unfinished_work(r.gauge("magnumd_workqueue_unfinished_work_seconds",
                              "Seconds of work in progress that has not finished, summed.",
                              {"name"})),
      longest_running(r.gauge("magnumd_workqueue_longest_running_processor_seconds",
                              "Seconds the longest-running worker has been on its key.",
                              {"name"})),
      reconcile_total(r.counter("magnumd_controller_reconcile_total",
                                "Reconcile passes by controller, kind and result.",
                                {"controller", "kind", "result"})),
      reconcile_errors(r.counter("magnumd_controller_reconcile_errors_total",
                                 "Reconcile passes that returned an error.", {"controller"})),
      reconcile_duration(r.histogram("magnumd_controller_reconcile_duration_seconds",
                                     "Duration of reconcile passes.", {"controller", "kind"})),
      active_workers(r.gauge("magnumd_controller_active_workers",
                             "Workers currently running a reconcile.", {"controller"})),
      informer_events(r.counter("magnumd_informer_events_total",
                                "Watch events applied to the informer cache.", {"kind", "type"})),
      informer_relists(r.counter("magnumd_informer_lists_total",
                                 "Full lists by the informer and why.", {"kind", "reason"})),
      informer_objects(r.gauge("magnumd_informer_objects", "Objects in the informer cache.",
                               {"kind"})),
      events_recorded(r.counter("magnumd_events_recorded_total",
                                "Events reported by reconcilers.", {"type"})),
      events_written(r.counter("magnumd_events_written_total",
                               "Event objects created or updated in the store.", {"op"})),
      events_dropped(r.counter("magnumd_events_dropped_total",
                               "Events not written and why.", {"reason"})) {}

}  // namespace magnumd::controller
