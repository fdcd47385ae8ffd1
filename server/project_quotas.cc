#include "server/project_quotas.h"

#include <fmt/format.h>

#include "api/quota.h"
#include "util/json.h"

namespace magnumd::server {
namespace {

using util::ErrorCode;
using util::makeError;

// A limit from a Quota object (-1 when it allows none), else the default (0: none).
int64_t limitOf(const store::Store& store, const std::string& ns, std::string_view resource,
                int64_t fallback) {
  auto quota = store.getShared({api::Kind::Quota, ns, api::quotaObjectName(resource)});
  if (!quota.ok()) return fallback;
  auto spec = api::decodeQuotaSpec((*quota)->spec);
  if (!spec.ok()) return fallback;
  return spec->hard_limit == 0 ? -1 : spec->hard_limit;
}

}  // namespace

ProjectQuotas::Reservation& ProjectQuotas::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
    id_ = other.id_;
  }
  return *this;
}

void ProjectQuotas::Reservation::release() {
  if (owner_) std::exchange(owner_, nullptr)->release(key_, id_);
}

void ProjectQuotas::release(const api::ObjectKey& key, uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) pending_.erase(it);
}

ProjectUsage ProjectQuotas::usage(const std::string& ns) const {
  // An object with writes in flight counts as the largest of its stored and pending states.
  std::map<api::ObjectKey, ProjectUsage> counted;
  for (auto it = pending_.lower_bound({api::Kind::Cluster, ns, ""});
       it != pending_.end() && it->first.kind == api::Kind::Cluster && it->first.namespace_ == ns;
       ++it) {
    for (const auto& [id, state] : it->second) {
      ProjectUsage& c = counted[it->first];
      c.clusters = std::max(c.clusters, state.clusters);
      c.nodes = std::max(c.nodes, state.nodes);
    }
  }
  for (auto it = pending_.lower_bound({api::Kind::NodeGroup, ns, ""});
       it != pending_.end() && it->first.kind == api::Kind::NodeGroup && it->first.namespace_ == ns;
       ++it) {
    for (const auto& [id, state] : it->second) {
      ProjectUsage& c = counted[it->first];
      c.nodes = std::max(c.nodes, state.nodes);
    }
  }
  for (api::Kind kind : {api::Kind::Cluster, api::Kind::NodeGroup}) {
    store::ListOptions options;
    options.kind = kind;
    options.namespace_ = ns;
    auto listed = store_.list(options);
    if (!listed.ok()) continue;
    for (const auto& object : listed->items) {
      ProjectUsage& c = counted[api::keyOf(object)];
      if (kind == api::Kind::Cluster) c.clusters = 1;
      c.nodes = std::max(c.nodes, api::nodesWanted(object));
    }
  }
  ProjectUsage used;
  for (const auto& [key, c] : counted) {
    used.clusters += c.clusters;
    used.nodes += c.nodes;
  }
  return used;
}

ProjectUsage ProjectQuotas::limits(const std::string& ns) const {
  return {limitOf(store_, ns, api::kQuotaCluster, defaults_.max_clusters_per_project),
          limitOf(store_, ns, api::kQuotaNode, defaults_.max_nodes_per_project)};
}

util::Result<ProjectQuotas::Reservation> ProjectQuotas::reserve(const api::Object* current,
                                                                const api::Object& next) {
  const int64_t new_clusters = next.kind == api::Kind::Cluster && !current ? 1 : 0;
  const int64_t more_nodes = api::nodesWanted(next) - (current ? api::nodesWanted(*current) : 0);
  if (new_clusters <= 0 && more_nodes <= 0) return Reservation();
  const std::string& ns = next.metadata.namespace_;
  ProjectUsage limit = limits(ns);
  if (limit.clusters == 0 && limit.nodes == 0) return Reservation();
  std::lock_guard lock(mu_);
  const api::ObjectKey key = api::keyOf(next);
  ProjectUsage before = usage(ns);
  // What the project would count with this write: the object at its pending state.
  ProjectUsage state{next.kind == api::Kind::Cluster ? 1 : 0, api::nodesWanted(next)};
  uint64_t id = ++next_id_;
  pending_[key][id] = state;
  ProjectUsage after = usage(ns);
  auto refuse = [&](std::string_view quota, std::string_view what, int64_t requested,
                    int64_t in_use, int64_t hard) {
    pending_[key].erase(id);
    if (pending_[key].empty()) pending_.erase(key);
    return makeError(
        ErrorCode::Forbidden,
        fmt::format("exceeded quota: {} in project {}, requested: {}={}, used: {}={}, "
                    "limited: {}={}",
                    quota, ns, what, requested, what, in_use, what, hard < 0 ? 0 : hard));
  };
  auto over = [](int64_t hard, int64_t was, int64_t now) {
    return hard != 0 && now > was && (hard < 0 || now > hard);
  };
  if (over(limit.clusters, before.clusters, after.clusters)) {
    return refuse("cluster", "clusters", after.clusters - before.clusters, before.clusters,
                  limit.clusters);
  }
  if (over(limit.nodes, before.nodes, after.nodes)) {
    return refuse("node", "nodes", after.nodes - before.nodes, before.nodes, limit.nodes);
  }
  return Reservation(this, key, id);
}

}  // namespace magnumd::server
