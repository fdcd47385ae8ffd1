// Tables as kubectl prints them: upper-case headers, left-aligned columns separated by three
// spaces, one row per object. Columns and cells come from api/printer_columns.h, which the API's
// Table responses use too, so `magnumctl get` and `kubectl get` show the same columns.
#pragma once

#include <string>
#include <vector>

#include "api/object.h"
#include "api/printer_columns.h"
#include "util/json.h"
#include "util/time.h"

namespace magnumd::cli {

using Row = std::vector<std::string>;

struct Table {
  Row headers;
  std::vector<Row> rows;
};

// Column widths covering headers and rows.
std::vector<size_t> columnWidths(const Table& table);
// One line (with '\n'); the last column is not padded. Cells wider than their column push the
// rest of the line right rather than being cut, so nothing is lost.
std::string renderRow(const Row& row, const std::vector<size_t>& widths);
std::string renderTable(const Table& table);

struct TableOptions {
  bool wide = false;
  bool with_namespace = false;  // -A
  util::SystemTime now;
};

Row tableHeaders(api::Kind kind, const TableOptions& options);
Row tableRow(api::Kind kind, const util::Json& object, const TableOptions& options);
// Rows for every item of a list, events ordered by their last occurrence.
Table buildTable(api::Kind kind, const util::Json& items, const TableOptions& options);

using api::observedOverDesired;

}  // namespace magnumd::cli
