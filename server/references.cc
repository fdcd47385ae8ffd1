#include "server/references.h"

#include <fmt/format.h>

#include <algorithm>

#include "api/admission.h"
#include "api/cluster.h"
#include "api/labels.h"
#include "api/nodegroup.h"

namespace magnumd::server {

using util::Cause;
using util::ErrorCode;
using util::makeError;

namespace {

struct Resolved {
  std::optional<std::string> template_spec;
  std::vector<Cause> causes;
};

Resolved resolveTemplate(const store::Store& store, const std::string& ref_text,
                         const api::TemplateRef& ref, const std::string& field,
                         const std::string& own_namespace) {
  Resolved out;
  if (ref.name.empty()) return out;  // admitSpec reports the missing field
  auto tmpl = store.get({api::Kind::ClusterTemplate, ref.namespace_, ref.name});
  if (!tmpl.ok()) {
    out.causes.push_back({field, fmt::format("clustertemplates \"{}\" not found in namespace \"{}\"",
                                             ref.name, ref.namespace_)});
    return out;
  }
  if (ref.namespace_ != own_namespace && !api::templateIsPublic(tmpl->spec)) {
    out.causes.push_back(
        {field, fmt::format("\"{}\" is in namespace \"{}\" and is not public (spec.public: true); "
                            "use a template in namespace \"{}\" or a public one",
                            ref_text, ref.namespace_, own_namespace)});
    return out;
  }
  if (tmpl->deleting()) {
    out.causes.push_back({field, fmt::format("clustertemplates \"{}\" is being deleted", ref.name)});
    return out;
  }
  out.template_spec = tmpl->spec;
  return out;
}

std::string clusterTemplateField(std::string_view spec) {
  auto doc = util::parseJson(spec);
  if (!doc.ok()) return {};
  return util::stringMember(*doc, "clusterTemplate").value_or("");
}

Resolved resolveFor(const store::Store& store, const api::Object& object) {
  const std::string& ns = object.metadata.namespace_;
  if (object.kind == api::Kind::Cluster) {
    return resolveTemplate(store, clusterTemplateField(object.spec),
                           api::templateRefOf(object.spec, ns), "spec.clusterTemplate", ns);
  }
  if (object.kind == api::Kind::NodeGroup) {
    std::string cluster = api::clusterOfNodeGroup(object.spec);
    if (cluster.empty()) return {};
    auto found = store.get({api::Kind::Cluster, ns, cluster});
    if (!found.ok()) {
      return {std::nullopt,
              {{"spec.cluster", fmt::format("clusters \"{}\" not found in namespace \"{}\"", cluster, ns)}}};
    }
    auto resolved = resolveTemplate(store, clusterTemplateField(found->spec),
                                    api::templateRefOf(found->spec, ns), "spec.cluster", ns);
    return resolved;
  }
  return {};
}

constexpr std::string_view kKubeTag = "kube_tag";
constexpr std::string_view kNoDowngrade = "Kubernetes clusters cannot be downgraded";

// What a Cluster spec resolves to against the template it names, when both can be read.
std::optional<api::ClusterConfig> clusterConfigOf(const store::Store& store,
                                                  std::string_view cluster_spec,
                                                  const std::string& ns) {
  auto spec = api::decodeClusterSpec(cluster_spec);
  auto ref = api::templateRefOf(cluster_spec, ns);
  if (!spec.ok() || ref.name.empty()) return std::nullopt;
  auto tmpl = store.get({api::Kind::ClusterTemplate, ref.namespace_, ref.name});
  if (!tmpl.ok()) return std::nullopt;
  auto tmpl_spec = api::decodeClusterTemplateSpec(tmpl->spec);
  if (!tmpl_spec.ok()) return std::nullopt;
  return api::resolveCluster(*tmpl_spec, *spec);
}

std::optional<std::string> completedVersionOf(std::string_view cluster_status,
                                              std::string_view node_group) {
  if (cluster_status.empty()) return std::nullopt;
  auto status = api::decodeClusterStatus(cluster_status);
  if (!status.ok() || !status->rollout) return std::nullopt;
  return api::completedKubernetesVersion(*status->rollout, node_group);
}

util::Status downgrade(std::string field, std::string message) {
  return makeError(ErrorCode::Invalid, "", {{std::move(field), std::move(message)}});
}

util::Status clusterNoDowngrade(const store::Store& store, const api::Object& current,
                                std::string_view next_spec) {
  auto completed = completedVersionOf(current.status, api::kDefaultMasterNodeGroup);
  if (!completed) return {};
  const std::string& ns = current.metadata.namespace_;
  auto next = clusterConfigOf(store, next_spec, ns);
  auto spec = api::decodeClusterSpec(next_spec);
  if (!next || !spec.ok()) return {};
  const std::string wanted = api::kubernetesVersionOf(next->labels);
  auto before = clusterConfigOf(store, current.spec, ns);
  if (before && api::kubernetesVersionOf(before->labels) == wanted) return {};
  if (!api::isKubernetesDowngrade(wanted, *completed)) return {};
  if (spec->labels.count(std::string(kKubeTag)) > 0) {
    return downgrade("spec.labels.kube_tag",
                     fmt::format("{} is older than {}, which the cluster runs; {}", wanted,
                                 *completed, kNoDowngrade));
  }
  if (api::ownLabelsDecide(spec->labels, spec->merge_labels, kKubeTag)) {
    return downgrade("spec.labels",
                     fmt::format("without kube_tag (and with mergeLabels false, so the template's "
                                 "labels do not apply) the cluster would run {}, older than {}, "
                                 "which it runs; {}",
                                 wanted, *completed, kNoDowngrade));
  }
  const bool tagged = next->labels.count(std::string(kKubeTag)) > 0;
  return downgrade(
      "spec.clusterTemplate",
      fmt::format("\"{}\" {} {}, older than {}, which the cluster runs; {}", spec->cluster_template,
                  tagged ? "gives kube_tag" : "sets no kube_tag, so the default is", wanted,
                  *completed, kNoDowngrade));
}

util::Status nodeGroupNoDowngrade(const store::Store& store, const api::Object& current,
                                  std::string_view next_spec) {
  const std::string& ns = current.metadata.namespace_;
  const std::string cluster_name = api::clusterOfNodeGroup(next_spec);
  auto cluster = store.get({api::Kind::Cluster, ns, cluster_name});
  if (!cluster.ok()) return {};
  // The default groups' objects are "<cluster>-default-worker"; status names the group.
  std::string group = current.metadata.name;
  if (api::isDefaultNodeGroupName(group, cluster_name)) group.erase(0, cluster_name.size() + 1);
  auto completed = completedVersionOf(cluster->status, group);
  if (!completed) return {};
  auto config = clusterConfigOf(store, cluster->spec, ns);
  auto next = api::decodeNodeGroupSpec(next_spec);
  if (!config || !next.ok()) return {};
  const std::string wanted = api::kubernetesVersionOf(api::resolveNodeGroup(*config, *next).labels);
  auto before = api::decodeNodeGroupSpec(current.spec);
  if (before.ok() &&
      api::kubernetesVersionOf(api::resolveNodeGroup(*config, *before).labels) == wanted) {
    return {};
  }
  if (!api::isKubernetesDowngrade(wanted, *completed)) return {};
  if (next->labels.count(std::string(kKubeTag)) > 0) {
    return downgrade("spec.labels.kube_tag",
                     fmt::format("{} is older than {}, which node group {} runs; {}", wanted,
                                 *completed, group, kNoDowngrade));
  }
  return downgrade("spec.labels",
                   fmt::format("without kube_tag node group {} would run {}, older than {}, which "
                               "it runs; {}",
                               group, wanted, *completed, kNoDowngrade));
}

}  // namespace

util::Error describeInvalid(util::Error error, api::Kind kind, const std::string& name) {
  if (error.code != ErrorCode::Invalid) return error;
  std::string list;
  for (const auto& cause : error.causes) {
    if (!list.empty()) list += "; ";
    list += fmt::format("{}: {}", cause.field, cause.message);
  }
  if (list.empty()) list = error.message;
  error.message = fmt::format("{} \"{}\" is invalid: {}", api::kindInfo(kind).name, name, list);
  return error;
}

util::Result<std::string> admitWithReferences(const store::Store& store, const api::Object& object) {
  Resolved resolved = resolveFor(store, object);
  auto admitted = api::admitSpec(object.kind, object.spec, resolved.template_spec);
  if (admitted.ok() && resolved.causes.empty()) return admitted;
  if (!admitted.ok() && admitted.error().code != ErrorCode::Invalid) {
    return admitted.takeError();  // BadRequest (unknown fields, wrong types) comes first
  }
  util::Error error = admitted.ok() ? makeError(ErrorCode::Invalid, "") : admitted.takeError();
  error.causes.insert(error.causes.begin(), resolved.causes.begin(), resolved.causes.end());
  return describeInvalid(std::move(error), object.kind, object.metadata.name);
}

util::Result<std::vector<std::string>> clustersUsingTemplate(const store::Store& store,
                                                             const std::string& ns,
                                                             const std::string& name) {
  std::vector<std::string> users;
  store::ListOptions options;
  options.kind = api::Kind::Cluster;
  ASSIGN_OR_RETURN(auto clusters, store.list(options));
  for (const auto& cluster : clusters.items) {
    auto ref = api::templateRefOf(cluster.spec, cluster.metadata.namespace_);
    if (ref.namespace_ == ns && ref.name == name) {
      users.push_back(cluster.metadata.namespace_ + "/" + cluster.metadata.name);
    }
  }
  return users;
}

util::Status checkCaRotation(const api::Object& current, std::string_view next_spec) {
  if (current.kind != api::Kind::Cluster) return {};
  auto before = api::decodeClusterSpec(current.spec);
  auto after = api::decodeClusterSpec(next_spec);
  if (!before.ok() || !after.ok() || before->ca_generation == after->ca_generation) return {};
  api::ClusterStatus status;
  if (!current.status.empty()) {
    if (auto decoded = api::decodeClusterStatus(current.status); decoded.ok()) status = *decoded;
  }
  const int64_t in_use = status.ca_rotation ? status.ca_rotation->generation : 0;
  const int64_t highest = std::max(before->ca_generation, in_use);
  if (after->ca_generation < before->ca_generation) {
    return makeError(ErrorCode::Invalid, "",
                     {{"spec.caGeneration",
                       fmt::format("cannot go down from {} to {}: CAs are only ever replaced by "
                                   "new ones",
                                   before->ca_generation, after->ca_generation)}});
  }
  if (after->ca_generation > highest + 1) {
    return makeError(ErrorCode::Invalid, "",
                     {{"spec.caGeneration",
                       fmt::format("{} skips generations: the CAs are at generation {}; rotate "
                                   "to {} (one rotation at a time)",
                                   after->ca_generation, in_use, highest + 1)}});
  }
  if (status.ca_rotation && status.ca_rotation->phase != api::kCaComplete &&
      !status.ca_rotation->phase.empty()) {
    return makeError(
        ErrorCode::Conflict,
        fmt::format("Operation cannot be fulfilled on clusters \"{}\": a CA rotation is already "
                    "running ({}: {}); rotate again once status.caRotation.phase is Complete",
                    current.metadata.name, status.ca_rotation->phase, status.ca_rotation->message));
  }
  if (status.rollout && status.rollout->phase != "Complete" && !status.rollout->phase.empty()) {
    return makeError(
        ErrorCode::Conflict,
        fmt::format("Operation cannot be fulfilled on clusters \"{}\": a rollout is running ({}: "
                    "{}); rotate the CAs once status.rollout.phase is Complete",
                    current.metadata.name, status.rollout->phase, status.rollout->message));
  }
  return {};
}

util::Status checkNoDowngrade(const store::Store& store, const api::Object& current,
                              std::string_view next_spec) {
  switch (current.kind) {
    case api::Kind::Cluster:
      return clusterNoDowngrade(store, current, next_spec);
    case api::Kind::NodeGroup:
      return nodeGroupNoDowngrade(store, current, next_spec);
    default:
      return {};
  }
}

}  // namespace magnumd::server
