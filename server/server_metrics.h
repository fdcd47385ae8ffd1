// The API server's metrics, registered once in a MetricsRegistry.
#pragma once

#include "util/metrics.h"

namespace magnumd::server {

struct ServerMetrics {
  explicit ServerMetrics(util::MetricsRegistry& registry);

  util::Family<util::Counter>& requests;         // verb, resource, code
  util::Family<util::Histogram>& latency;        // verb, resource
  util::Family<util::Histogram>& store_writes;   // op
  util::Family<util::Gauge>& open_watches;       // (none)
  util::Family<util::Counter>& watch_events;     // type
  util::Family<util::Counter>& watch_overflows;  // (none)

  // Cells resolved once: the watch fan-out counts every event of every stream.
  util::Counter& watch_added;
  util::Counter& watch_modified;
  util::Counter& watch_deleted;
  util::Counter& watch_bookmarks;
};

}  // namespace magnumd::server
