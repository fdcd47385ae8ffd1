#include "cli/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cli/duration.h"

namespace magnumd::cli {

using util::Json;

namespace {

constexpr std::string_view kNone = "<none>";
constexpr size_t kMessageWidth = 80;  // events' MESSAGE column in tables; describe shows it whole

const Json& sub(const Json& object, std::string_view name) {
  static const Json kEmpty(rapidjson::kObjectType);
  const Json* v = util::member(object, name);
  return v != nullptr && v->IsObject() ? *v : kEmpty;
}

std::string text(const Json& object, std::string_view name) {
  const Json* v = util::member(object, name);
  if (v == nullptr || v->IsNull()) return std::string(kNone);
  if (v->IsString()) return v->GetStringLength() == 0 ? std::string(kNone) : v->GetString();
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  return util::toJson(*v);
}

std::optional<int64_t> arraySize(const Json& object, std::string_view name) {
  const Json* v = util::member(object, name);
  if (v == nullptr || !v->IsArray()) return std::nullopt;
  return static_cast<int64_t>(v->Size());
}

std::string age(const Json& object, util::SystemTime now) {
  return ageOf(util::stringMember(sub(object, "metadata"), "creationTimestamp"), now);
}

std::string truncate(std::string s, size_t width) {
  if (s.size() <= width) return s;
  s.resize(width - 3);
  return s + "...";
}

// A deleting object shows Terminating until the controller reports a DELETE_* phase.
std::string phaseOf(const Json& object) {
  std::string phase = text(sub(object, "status"), "phase");
  bool deleting = util::member(sub(object, "metadata"), "deletionTimestamp") != nullptr;
  if (deleting && phase.rfind("DELETE", 0) != 0) return "Terminating";
  return phase;
}

Row clusterRow(const Json& o, const TableOptions& opt) {
  const Json& spec = sub(o, "spec");
  const Json& status = sub(o, "status");
  Row row{
      text(sub(o, "metadata"), "name"),
      phaseOf(o),
      text(status, "healthStatus"),
      observedOverDesired(arraySize(status, "masterAddresses"),
                          util::intMember(spec, "masterCount")),
      // Every worker group counts (as Magnum's node_count); older status lacks nodeCount.
      observedOverDesired(arraySize(status, "nodeAddresses"),
                          util::member(status, "nodeCount") ? util::intMember(status, "nodeCount")
                                                            : util::intMember(spec, "nodeCount")),
      age(o, opt.now)};
  if (opt.wide) {
    // Ready Nodes over the servers that should be Nodes, as the cluster's own API shows them.
    const Json& api = sub(status, "api");
    std::string ready = util::member(status, "api")
                            ? observedOverDesired(util::intMember(api, "readyNodes"),
                                                  util::intMember(api, "expectedNodes"))
                            : std::string(kNone);
    for (auto v :
         {text(spec, "clusterTemplate"), text(status, "apiAddress"), text(status, "coeVersion"),
          std::move(ready), text(status, "stackId"), text(status, "statusReason")}) {
      row.push_back(std::move(v));
    }
  }
  return row;
}

Row templateRow(const Json& o, const TableOptions& opt) {
  const Json& spec = sub(o, "spec");
  auto is_public = util::boolMember(spec, "public");
  Row row{text(sub(o, "metadata"), "name"),
          text(spec, "coe"),
          text(spec, "image"),
          text(spec, "networkDriver"),
          is_public.value_or(false) ? "true" : "false",
          age(o, opt.now)};
  if (opt.wide) {
    for (auto v : {text(spec, "flavor"), text(spec, "masterFlavor"), text(spec, "externalNetwork"),
                   text(spec, "keypair")}) {
      row.push_back(std::move(v));
    }
  }
  return row;
}

Row nodeGroupRow(const Json& o, const TableOptions& opt) {
  const Json& spec = sub(o, "spec");
  const Json& status = sub(o, "status");
  std::optional<int64_t> ready;
  if (const Json* nodes = util::member(status, "nodes"); nodes && nodes->IsArray()) {
    ready = std::count_if(nodes->Begin(), nodes->End(), [](const Json& n) {
      return util::stringMember(n, "status") == "ACTIVE";
    });
  }
  auto max = util::intMember(spec, "maxNodeCount");
  Row row{text(sub(o, "metadata"), "name"),
          text(spec, "cluster"),
          text(spec, "role"),
          observedOverDesired(ready, util::intMember(spec, "nodeCount")),
          text(spec, "minNodeCount"),
          max ? std::to_string(*max) : std::string(kNone),
          phaseOf(o),
          age(o, opt.now)};
  if (opt.wide) {
    row.push_back(text(spec, "flavor"));
    row.push_back(text(spec, "image"));
    row.push_back(text(status, "statusReason"));
  }
  return row;
}

// Events keep their fields in spec (magnumd's Event kind); tolerate Kubernetes' top-level form.
const Json& eventFields(const Json& o) {
  const Json& spec = sub(o, "spec");
  return util::member(spec, "reason") ? spec : o;
}

Row eventRow(const Json& o, const TableOptions& opt) {
  const Json& e = eventFields(o);
  const Json& involved = sub(e, "involvedObject");
  auto when = util::stringMember(e, "lastTimestamp");
  if (!when || when->empty()) when = util::stringMember(sub(o, "metadata"), "creationTimestamp");
  std::string kind = util::stringMember(involved, "kind").value_or("");
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string object =
      fmt::format("{}/{}", kind, util::stringMember(involved, "name").value_or("?"));
  std::string message = text(e, "message");
  auto count = util::intMember(e, "count");
  if (count && *count > 1) message += fmt::format(" (x{})", *count);
  return {ageOf(when, opt.now), text(e, "type"), text(e, "reason"), object,
          opt.wide ? message : truncate(message, kMessageWidth)};
}

std::string eventTime(const Json& o) {
  const Json& e = eventFields(o);
  auto when = util::stringMember(e, "lastTimestamp");
  if (!when || when->empty()) when = util::stringMember(sub(o, "metadata"), "creationTimestamp");
  return when.value_or("");
}

}  // namespace

std::string observedOverDesired(std::optional<int64_t> observed, std::optional<int64_t> desired) {
  if (observed && desired) return fmt::format("{}/{}", *observed, *desired);
  if (desired) return std::to_string(*desired);
  if (observed) return std::to_string(*observed);
  return std::string(kNone);
}

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
  switch (kind) {
    case api::Kind::Cluster:
      h = {"NAME", "PHASE", "HEALTH", "MASTERS", "NODES", "AGE"};
      if (opt.wide)
        h.insert(h.end(), {"TEMPLATE", "API ADDRESS", "VERSION", "READY NODES", "STACK", "REASON"});
      break;
    case api::Kind::ClusterTemplate:
      h = {"NAME", "COE", "IMAGE", "NETWORK", "PUBLIC", "AGE"};
      if (opt.wide) h.insert(h.end(), {"FLAVOR", "MASTER FLAVOR", "EXTERNAL NETWORK", "KEYPAIR"});
      break;
    case api::Kind::NodeGroup:
      h = {"NAME", "CLUSTER", "ROLE", "NODES", "MIN", "MAX", "PHASE", "AGE"};
      if (opt.wide) h.insert(h.end(), {"FLAVOR", "IMAGE", "REASON"});
      break;
    case api::Kind::Event:
      h = {"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"};
      break;
    case api::Kind::ClusterSecret:
      h = {"NAME"};
      break;
  }
  if (opt.with_namespace) h.insert(h.begin(), "NAMESPACE");
  return h;
}

Row tableRow(api::Kind kind, const Json& object, const TableOptions& opt) {
  Row row;
  switch (kind) {
    case api::Kind::Cluster:
      row = clusterRow(object, opt);
      break;
    case api::Kind::ClusterTemplate:
      row = templateRow(object, opt);
      break;
    case api::Kind::NodeGroup:
      row = nodeGroupRow(object, opt);
      break;
    case api::Kind::Event:
      row = eventRow(object, opt);
      break;
    case api::Kind::ClusterSecret:
      row = {text(sub(object, "metadata"), "name")};
      break;
  }
  if (opt.with_namespace) row.insert(row.begin(), text(sub(object, "metadata"), "namespace"));
  return row;
}

Table buildTable(api::Kind kind, const Json& items, const TableOptions& opt) {
  Table table{tableHeaders(kind, opt), {}};
  if (!items.IsArray()) return table;
  std::vector<const Json*> objects;
  for (const auto& item : items.GetArray()) objects.push_back(&item);
  if (kind == api::Kind::Event) {
    std::stable_sort(objects.begin(), objects.end(),
                     [](const Json* a, const Json* b) { return eventTime(*a) < eventTime(*b); });
  }
  for (const Json* o : objects) table.rows.push_back(tableRow(kind, *o, opt));
  return table;
}

}  // namespace magnumd::cli
