#include "server/server_metrics.h"

namespace magnumd::server {

ServerMetrics::ServerMetrics(util::MetricsRegistry& r)
    : requests(r.counter("magnumd_api_requests_total",
                         "API requests by verb, resource and HTTP status code.",
                         {"verb", "resource", "code"})),
      latency(r.histogram("magnumd_api_request_duration_seconds",
                          "API request latency in seconds (watch streams excluded).",
                          {"verb", "resource"})),
      store_writes(r.histogram("magnumd_store_write_duration_seconds",
                               "Time from submitting a store write until it is durable (or "
                               "rejected), seconds; includes group-commit queueing.",
                               {"op"})),
      open_watches(r.gauge("magnumd_api_open_watches", "Watch streams currently open.")),
      watch_events(r.counter("magnumd_api_watch_events_total",
                             "Watch events sent to clients, by type.", {"type"})),
      watch_overflows(r.counter("magnumd_api_watch_overflows_total",
                                "Watch streams closed because the client did not keep up.")),
      watch_added(watch_events.with({"ADDED"})),
      watch_modified(watch_events.with({"MODIFIED"})),
      watch_deleted(watch_events.with({"DELETED"})),
      watch_bookmarks(watch_events.with({"BOOKMARK"})) {}

}  // namespace magnumd::server
