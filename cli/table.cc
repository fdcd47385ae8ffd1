#include "cli/table.h"

#include <algorithm>
#include <cctype>

namespace magnumd::cli {

using util::Json;

namespace {

constexpr size_t kMessageWidth = 80;  // events' MESSAGE column in tables; describe shows it whole

std::string truncate(std::string s, size_t width) {
  if (s.size() <= width) return s;
  s.resize(width - 3);
  return s + "...";
}

std::string upper(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool shown(const api::PrinterColumn& column, const TableOptions& opt) {
  return column.priority == 0 || opt.wide;
}

std::string namespaceOf(const Json& object) {
  const Json* meta = util::member(object, "metadata");
  auto ns = meta ? util::stringMember(*meta, "namespace") : std::nullopt;
  return ns && !ns->empty() ? *ns : "<none>";
}

}  // namespace

std::vector<size_t> columnWidths(const Table& table) {
  std::vector<size_t> widths(table.headers.size(), 0);
  auto widen = [&](const Row& row) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  };
  widen(table.headers);
  for (const auto& row : table.rows) widen(row);
  return widths;
}

std::string renderRow(const Row& row, const std::vector<size_t>& widths) {
  std::string line;
  size_t target = 0;  // the column where the next cell should start
  for (size_t i = 0; i < row.size(); ++i) {
    if (line.size() < target) line.append(target - line.size(), ' ');
    line += row[i];
    size_t width = i < widths.size() ? widths[i] : row[i].size();
    target = std::max(target + width, line.size()) + 3;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

std::string renderTable(const Table& table) {
  auto widths = columnWidths(table);
  std::string out = renderRow(table.headers, widths);
  for (const auto& row : table.rows) out += renderRow(row, widths);
  return out;
}

Row tableHeaders(api::Kind kind, const TableOptions& opt) {
  Row h;
  if (opt.with_namespace) h.push_back("NAMESPACE");
  for (const auto& column : api::printerColumns(kind)) {
    if (shown(column, opt)) h.push_back(upper(column.name));
  }
  return h;
}

Row tableRow(api::Kind kind, const Json& object, const TableOptions& opt) {
  Row row;
  if (opt.with_namespace) row.push_back(namespaceOf(object));
  const auto& columns = api::printerColumns(kind);
  auto cells = api::printerCells(kind, object, opt.now);
  for (size_t i = 0; i < columns.size() && i < cells.size(); ++i) {
    if (!shown(columns[i], opt)) continue;
    // kubectl shows messages whole; a terminal table cuts long ones unless -o wide.
    if (columns[i].name == "Message" && !opt.wide) cells[i] = truncate(cells[i], kMessageWidth);
    row.push_back(std::move(cells[i]));
  }
  return row;
}

Table buildTable(api::Kind kind, const Json& items, const TableOptions& opt) {
  Table table{tableHeaders(kind, opt), {}};
  if (!items.IsArray()) return table;
  std::vector<const Json*> objects;
  for (const auto& item : items.GetArray()) objects.push_back(&item);
  if (kind == api::Kind::Event) {
    std::stable_sort(objects.begin(), objects.end(), [](const Json* a, const Json* b) {
      return api::eventLastSeen(*a) < api::eventLastSeen(*b);
    });
  }
  for (const Json* o : objects) table.rows.push_back(tableRow(kind, *o, opt));
  return table;
}

}  // namespace magnumd::cli
