// The node groups of a cluster: the two defaults the reconciler owns, the user's, and the
// stack definition they render to (with the scale-down victims of each group).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "api/admission.h"
#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"
#include "util/log.h"

namespace magnumd::reconcilers {

namespace {

struct DefaultGroup {
  std::string_view name;
  std::string_view role;
  int64_t count;
};

api::Object newDefaultGroup(const api::Object& cluster, const DefaultGroup& group) {
  api::Object ng;
  ng.kind = api::Kind::NodeGroup;
  ng.metadata.name = defaultGroupObjectName(cluster.metadata.name, group.name);
  ng.metadata.namespace_ = cluster.metadata.namespace_;
  ng.metadata.labels[std::string(kOwnerUidLabel)] = cluster.metadata.uid;
  ng.metadata.labels[std::string(kDefaultGroupLabel)] = std::string(group.name);
  ng.metadata.finalizers.emplace_back(kNodeGroupFinalizer);
  api::NodeGroupSpec spec;
  spec.cluster = cluster.metadata.name;
  spec.role = std::string(group.role);
  spec.node_count = group.count;
  spec.min_node_count = group.role == api::kRoleMaster ? group.count : 0;
  ng.spec = api::encodeNodeGroupSpec(spec);
  return ng;
}

// Masters first, then the default worker group, then the rest by name: the stack's order.
int orderOf(const api::Object& ng) {
  auto group = groupNameOf(ng);
  if (group == api::kDefaultMasterNodeGroup) return 0;
  if (group == api::kDefaultWorkerNodeGroup) return 1;
  return 2;
}

std::string numericKey(const drivers::Server& s) {
  auto index = coe::memberIndexOf(s.name).value_or("");
  return std::string(12 - std::min<size_t>(12, index.size()), '0') + index;
}

}  // namespace

util::Status ClusterReconciler::ensureDefaultNodeGroups(ClusterScope& scope) {
  const DefaultGroup groups[] = {
      {api::kDefaultMasterNodeGroup, api::kRoleMaster, scope.spec.master_count},
      {api::kDefaultWorkerNodeGroup, api::kRoleWorker, scope.spec.node_count},
  };
  for (const auto& group : groups) {
    api::ObjectKey key{api::Kind::NodeGroup, scope.cluster.metadata.namespace_,
                       defaultGroupObjectName(scope.cluster.metadata.name, group.name)};
    auto existing = deps_.store.get(key);
    if (!existing.ok()) {
      if (existing.error().code != util::ErrorCode::NotFound) return existing.takeError();
      auto created = store::createSync(deps_.store, newDefaultGroup(scope.cluster, group));
      if (!created.ok() && created.error().code != util::ErrorCode::AlreadyExists) {
        return created.takeError();
      }
      if (created.ok()) {
        deps_.events.normal(scope.cluster, "NodeGroupCreated", "created node group {} ({} {})",
                            key.name, group.count, group.role);
      }
      continue;
    }
    if (existing->deleting()) continue;  // someone deleted it; the shape leaves it out
    auto spec = api::decodeNodeGroupSpec(existing->spec);
    if (!spec.ok() || spec->cluster != scope.cluster.metadata.name) continue;
    // default-worker follows Cluster.spec.nodeCount (Magnum's cluster update semantics).
    api::Object updated = *existing;
    bool changed = false;
    if (spec->node_count != group.count) {
      spec->node_count = group.count;
      updated.spec = api::encodeNodeGroupSpec(*spec);
      changed = true;
    }
    if (updated.metadata.labels[std::string(kOwnerUidLabel)] != scope.uid() ||
        updated.metadata.labels[std::string(kDefaultGroupLabel)] != group.name) {
      updated.metadata.labels[std::string(kOwnerUidLabel)] = scope.uid();
      updated.metadata.labels[std::string(kDefaultGroupLabel)] = std::string(group.name);
      changed = true;
    }
    if (controller::addFinalizer(updated, kNodeGroupFinalizer)) changed = true;
    if (!changed) continue;
    auto written = store::updateSync(deps_.store, std::move(updated), existing->metadata.resource_version);
    if (!written.ok()) return written.takeError();
  }
  return {};
}

util::Status ClusterReconciler::loadNodeGroups(ClusterScope& scope) {
  const auto& ns = scope.cluster.metadata.namespace_;
  std::map<std::string, api::Object> by_name;
  for (const auto& ng : deps_.nodegroups.byIndex(kByCluster, controller::namespacedName(ns, scope.cluster.metadata.name))) {
    by_name[ng->metadata.name] = *ng;
  }
  // The informer may not have seen the defaults this pass created: read them from the store.
  for (auto group : {api::kDefaultMasterNodeGroup, api::kDefaultWorkerNodeGroup}) {
    auto name = defaultGroupObjectName(scope.cluster.metadata.name, group);
    auto got = deps_.store.get({api::Kind::NodeGroup, ns, name});
    if (got.ok()) by_name[name] = std::move(*got);
  }
  for (auto& [name, ng] : by_name) {
    auto spec = api::decodeNodeGroupSpec(ng.spec);
    if (!spec.ok() || spec->cluster != scope.cluster.metadata.name) continue;
    (ng.deleting() ? scope.deleting_nodegroups : scope.nodegroups).push_back(std::move(ng));
  }
  std::stable_sort(scope.nodegroups.begin(), scope.nodegroups.end(),
                   [](const api::Object& a, const api::Object& b) { return orderOf(a) < orderOf(b); });
  return {};
}

util::Status ClusterReconciler::buildDefinition(ClusterScope& scope) {
  const auto& tmpl = *scope.tmpl;
  const auto& config = *scope.config;
  auto& shape = scope.shape;
  shape.name = scope.cluster.metadata.name;
  shape.namespace_ = scope.cluster.metadata.namespace_;
  shape.uid = scope.uid();
  shape.coe = config.coe;
  shape.keypair = config.keypair.value_or("");
  shape.external_network = tmpl.external_network;
  shape.fixed_network = config.fixed_network.value_or("");
  shape.fixed_subnet = config.fixed_subnet.value_or("");
  shape.dns_nameserver = tmpl.dns_nameserver;
  shape.network_driver = tmpl.network_driver;
  shape.volume_driver = tmpl.volume_driver.value_or("");
  shape.docker_storage_driver = config.docker_storage_driver;
  shape.http_proxy = tmpl.http_proxy.value_or("");
  shape.https_proxy = tmpl.https_proxy.value_or("");
  shape.no_proxy = tmpl.no_proxy.value_or("");
  shape.tls_disabled = tmpl.tls_disabled.value_or(false);
  shape.master_lb_enabled = config.master_lb_enabled;
  shape.floating_ip_enabled = config.floating_ip_enabled;
  shape.registry_enabled = tmpl.registry_enabled;
  shape.discovery_url = scope.spec.discovery_url.value_or("");
  shape.labels = config.labels;
  shape.node_groups.clear();
  for (const auto& ng : scope.nodegroups) {
    auto spec = api::decodeNodeGroupSpec(ng.spec);
    if (!spec.ok()) continue;
    auto cfg = api::resolveNodeGroup(config, *spec);
    coe::NodeGroupShape group;
    group.name = groupNameOf(ng);
    group.role = spec->role;
    // The reconciler never goes outside [minNodeCount, maxNodeCount]; the NodeGroup's status
    // says when the spec asks for it.
    group.node_count = std::max(spec->node_count, spec->min_node_count);
    if (spec->max_node_count) group.node_count = std::min(group.node_count, *spec->max_node_count);
    group.flavor = cfg.flavor;
    group.image = cfg.image;
    group.docker_volume_size = cfg.docker_volume_size.value_or(0);
    group.labels = cfg.labels;
    group.node_labels = spec->node_labels;
    for (const auto& taint : spec->node_taints) {
      group.node_taints.push_back(
          taint.value.empty() ? fmt::format("{}:{}", taint.key, taint.effect)
                              : fmt::format("{}={}:{}", taint.key, taint.value, taint.effect));
    }
    shape.node_groups.push_back(std::move(group));
  }
  if (shape.node_groups.empty() || shape.node_groups.front().role != api::kRoleMaster) {
    return util::makeError(util::ErrorCode::Unavailable,
                           fmt::format("waiting for node group {} of cluster {}",
                                       defaultGroupObjectName(shape.name, api::kDefaultMasterNodeGroup),
                                       shape.name));
  }
  RETURN_IF_ERROR(manageCertificates(scope));
  RETURN_IF_ERROR(planRollout(scope));
  chooseVictims(scope);
  RETURN_IF_ERROR(renderBootstrap(scope));
  auto definition = scope.coe->render(shape, scope.spec.create_timeout);
  if (!definition.ok()) return definition.takeError();
  scope.definition = std::move(*definition);
  scope.desired_hash = definitionHash(scope.definition->template_text, scope.definition->files,
                                      scope.definition->parameters);
  return {};
}

// Scale-down victims per group, in this order: servers the NodeGroup names in nodesToRemove
// (by name or id), then servers that are not ACTIVE, then the newest.
void ClusterReconciler::chooseVictims(ClusterScope& scope) {
  std::map<std::string, std::set<std::string>> named_by_group;
  for (const auto& ng : scope.nodegroups) {
    if (auto spec = api::decodeNodeGroupSpec(ng.spec); spec.ok()) {
      named_by_group[groupNameOf(ng)].insert(spec->nodes_to_remove.begin(),
                                             spec->nodes_to_remove.end());
    }
  }
  for (auto& group : scope.shape.node_groups) {
    if (!group.removal_list.empty()) continue;  // a rolling replacement chose already
    auto servers = scope.serversOf(group.name, group.slot);
    if (static_cast<int64_t>(servers.size()) <= group.node_count) continue;
    const auto& named = named_by_group[group.name];
    auto rank = [&](const drivers::Server& s) {
      if (named.count(s.name) || named.count(s.id)) return 0;
      return s.status != "ACTIVE" ? 1 : 2;
    };
    std::sort(servers.begin(), servers.end(), [&](const drivers::Server& a, const drivers::Server& b) {
      if (rank(a) != rank(b)) return rank(a) < rank(b);
      if (a.created != b.created) return a.created > b.created;  // newest first
      return numericKey(a) > numericKey(b);
    });
    size_t excess = servers.size() - static_cast<size_t>(group.node_count);
    for (size_t k = 0; k < excess; ++k) {
      if (auto index = coe::memberIndexOf(servers[k].name)) group.removal_list.push_back(*index);
    }
  }
}

// A deleted NodeGroup keeps its finalizer until the stack no longer has its servers.
util::Status ClusterReconciler::releaseDeletedNodeGroups(ClusterScope& scope) {
  for (const auto& ng : scope.deleting_nodegroups) {
    if (!controller::hasFinalizer(ng, kNodeGroupFinalizer)) continue;
    const auto group = groupNameOf(ng);
    bool applied = !scope.stack ||
                   (scope.stack->complete() &&
                    tagValue(scope.stack->tags, kHashTagPrefix) == scope.desired_hash);
    if (!applied || !scope.serversOf(group).empty()) continue;
    auto dropped = controller::dropFinalizer(deps_.store, ng, kNodeGroupFinalizer);
    if (!dropped.ok() && dropped.error().code != util::ErrorCode::NotFound) return dropped.takeError();
    deps_.events.normal(scope.cluster, "NodeGroupRemoved", "node group {} removed from the stack",
                        ng.metadata.name);
  }
  return {};
}

}  // namespace magnumd::reconcilers
