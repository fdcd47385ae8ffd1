// `magnumctl stats [-A]`: clusters and the servers they want per project (namespace), beside the
// project's quotas (openstack coe stats list, with the limits Magnum keeps apart in quota list).
// Counted as the server's quota check counts (api::nodesWanted), from one list of each kind.
#include <fmt/format.h>

#include <map>

#include "api/quota.h"
#include "cli/commands.h"
#include "cli/kinds.h"
#include "cli/table.h"

namespace magnumd::cli {

namespace {

struct ProjectRow {
  int64_t clusters = 0;
  int64_t nodes = 0;
  std::string cluster_limit = "<none>";
  std::string node_limit = "<none>";
};

}  // namespace

int runStats(Context& ctx, const StatsOptions& options) {
  const std::string ns = options.all_namespaces ? "" : ctx.ns;
  std::map<std::string, ProjectRow> rows;
  if (!options.all_namespaces) rows[ns];
  for (api::Kind kind : {api::Kind::Cluster, api::Kind::NodeGroup, api::Kind::Quota}) {
    auto listed = ctx.api.list(kind, ns, {});
    if (!listed.ok()) {
      ctx.err << formatError(listed.error(), "counting " + std::string(api::kindInfo(kind).plural))
              << "\n";
      return 1;
    }
    const util::Json* items = util::member(*listed, "items");
    if (!items || !items->IsArray()) continue;
    for (const auto& item : items->GetArray()) {
      auto object = api::decodeObject(item);
      if (!object.ok()) continue;
      ProjectRow& row = rows[object->metadata.namespace_];
      if (kind == api::Kind::Quota) {
        auto spec = api::decodeQuotaSpec(object->spec);
        if (!spec.ok()) continue;
        (spec->resource == api::kQuotaCluster ? row.cluster_limit : row.node_limit) =
            std::to_string(spec->hard_limit);
        continue;
      }
      if (kind == api::Kind::Cluster) ++row.clusters;
      row.nodes += api::nodesWanted(*object);
    }
  }
  Table table;
  table.headers = {"PROJECT", "CLUSTERS", "NODES", "CLUSTER QUOTA", "NODE QUOTA"};
  for (const auto& [project, row] : rows) {
    table.rows.push_back({project, std::to_string(row.clusters), std::to_string(row.nodes),
                          row.cluster_limit, row.node_limit});
  }
  ctx.out << renderTable(table);
  return 0;
}

}  // namespace magnumd::cli
