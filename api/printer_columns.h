// The columns `kubectl get` and `magnumctl get` show for each kind, and the cells of one object.
// One definition serves both the API's meta.k8s.io Table responses (server/table.h) and
// magnumctl's own tables (cli/table.h), so the two cannot drift. Pure functions of the object's
// wire JSON and the clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "util/json.h"
#include "util/time.h"

namespace magnumd::api {

// A meta.k8s.io/v1 TableColumnDefinition.
struct PrinterColumn {
  std::string_view name;         // "API Address"; kubectl and magnumctl print it upper-cased
  std::string_view type;         // the cell's OpenAPI type: "string", or "date" for ages
  std::string_view format;       // "name" for the object's name column, else ""
  std::string_view description;  // which field the cell shows
  int priority = 0;              // 0: always shown; 1: only with -o wide
};

// The kind's columns in display order; the wide-only ones (priority 1) come last.
const std::vector<PrinterColumn>& printerColumns(Kind kind);

// One text cell per column of printerColumns(kind), from an object's wire JSON at `now`.
// Absent values are "<none>"; ages are kubectl's ("5m", "2d3h"); an Event's message is whole.
std::vector<std::string> printerCells(Kind kind, const util::Json& object, util::SystemTime now);

// When an Event was last seen (RFC 3339): what its Last Seen cell shows and magnumctl orders by.
std::string eventLastSeen(const util::Json& event);

// A Cluster's status.rollout in a cell: "Complete", "Progressing 2/4 v1.33.1" (nodes of the wanted
// revision Ready over nodes wanted, then the target version), "Stalled 1/4 v1.33.1"; "<none>"
// before the first rollout record.
std::string rolloutSummary(const util::Json& cluster_status);

// "3/5" when the observed count is known, else "5"; "<none>" when neither is.
std::string observedOverDesired(std::optional<int64_t> observed, std::optional<int64_t> desired);

}  // namespace magnumd::api
