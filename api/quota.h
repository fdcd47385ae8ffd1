// Quota: a project's limit on one resource (Magnum's Quota: project_id, resource, hard_limit).
// One object per namespace and resource, named after the resource: `cluster` limits the
// namespace's Clusters, `node` the servers its clusters want (masters, default workers and every
// other node group). Only admins write them; without one, magnumd's flag defaults apply
// (--max-clusters-per-project, as Magnum's max_clusters_per_project; --max-nodes-per-project).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/object.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kQuotaCluster = "Cluster";
inline constexpr std::string_view kQuotaNode = "Node";
const std::vector<std::string_view>& quotaResources();
// The object name of a resource's quota: "cluster", "node".
std::string quotaObjectName(std::string_view resource);

struct QuotaSpec {
  std::string resource;  // Cluster | Node
  int64_t hard_limit = 1;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("resource", s.resource,
      {.description = "What is limited: Cluster (clusters in the project) or Node (servers its "
                      "clusters want).",
       .values = quotaResources,
       .immutable = "create the other resource's quota instead",
       .required = true});
    v("hardLimit", s.hard_limit,
      {.description = "The most the project may have; 0 allows none.", .minimum = 0});
  }
};

// The servers an object asks for, as a Node quota counts them: a Cluster's masters and
// default workers, a non-default NodeGroup's nodes; 0 for anything else.
int64_t nodesWanted(const Object& object);

util::Result<QuotaSpec> decodeQuotaSpec(std::string_view json);
std::string encodeQuotaSpec(const QuotaSpec& spec);
// The name must be the resource's (quotaObjectName), so a project has one quota per resource.
void validate(const QuotaSpec& spec, std::string_view object_name, Causes& causes);

}  // namespace magnumd::api
