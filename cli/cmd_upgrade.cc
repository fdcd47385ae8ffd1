// `magnumctl upgrade cluster NAME --template T [--max-batch-size N] [--nodegroup NG]`: the seed's
// `openstack coe cluster upgrade`, as the declarative change it stands for. It merge-patches the
// Cluster (or one NodeGroup); the reconciler rolls the nodes and the server refuses a downgrade
// (docs/api.md, "Rolling upgrade").
//
// Magnum's mapping, kept: without --nodegroup (or with a default group) the cluster moves to the
// template, and, as Magnum's upgrade did, its own kube_tag label follows the template's when the
// cluster's labels would otherwise hide it. A non-default node group can only be brought to its
// cluster's current template (Magnum answers 409 otherwise): the kube_tag and image it sets for
// itself are set to the cluster's.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <variant>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/labels.h"
#include "api/nodegroup.h"
#include "cli/commands.h"
#include "cli/kinds.h"

namespace magnumd::cli {

using util::Json;
using util::JsonDoc;

namespace {

constexpr int kConflictRetries = 3;
constexpr std::string_view kKubeTag = "kube_tag";

// A user mistake: printed as "error: ...", exit 1.
struct Refusal {
  std::string message;
};

using Outcome = std::variant<std::string, ApiError, Refusal>;  // what to print on success

template <class T>
util::Result<T> decodeSpec(const Json& object, util::Result<T> (*decode)(std::string_view),
                           const std::string& ref) {
  const Json* spec = util::member(object, "spec");
  auto decoded = decode(spec ? util::toJson(*spec) : "{}");
  if (!decoded.ok()) {
    return util::makeError(decoded.error().code, fmt::format("cannot read the spec of {}: {}", ref,
                                                             decoded.error().message));
  }
  return decoded;
}

std::string resourceVersionOf(const Json& object) {
  const Json* meta = util::member(object, "metadata");
  return meta ? util::stringMember(*meta, "resourceVersion").value_or("") : "";
}

int64_t generationOf(const Json& object) {
  const Json* meta = util::member(object, "metadata");
  return meta ? util::intMember(*meta, "generation").value_or(0) : 0;
}

// {"metadata":{"resourceVersion":RV},"spec":{}}: the spec to fill in; the version makes the patch
// fail (409) if the object changed since the decisions were made from it.
JsonDoc patchFor(const Json& live) {
  JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  Json meta(rapidjson::kObjectType);
  meta.AddMember("resourceVersion", util::str(resourceVersionOf(live), a), a);
  doc.AddMember("metadata", meta, a);
  doc.AddMember("spec", Json(rapidjson::kObjectType), a);
  return doc;
}

// Sets spec.labels.kube_tag in a patch: the version, or null to drop the object's own.
void setKubeTag(JsonDoc& patch, const std::optional<std::string>& tag) {
  auto& a = patch.GetAllocator();
  Json labels(rapidjson::kObjectType);
  labels.AddMember(util::str(kKubeTag, a), tag ? util::str(*tag, a) : Json(rapidjson::kNullType),
                   a);
  patch["spec"].AddMember("labels", labels, a);
}

std::optional<std::string> labelOf(const api::StringMap& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  if (it == labels.end()) return std::nullopt;
  return it->second;
}

// "kube_tag v1.33.1, image fedora-coreos-40" (no kube_tag for other COEs).
std::string describeConfig(const std::string& coe, const api::StringMap& labels,
                           const std::string& image) {
  if (coe != "kubernetes") return "image " + image;
  return fmt::format("kube_tag {}, image {}", api::kubernetesVersionOf(labels), image);
}

std::string strategyText(const Json& cluster) {
  const Json* spec = util::member(cluster, "spec");
  const Json* strategy = spec ? util::member(*spec, "rolloutStrategy") : nullptr;
  if (strategy != nullptr) {
    if (auto batch = util::intMember(*strategy, "maxBatchSize")) {
      return fmt::format("workers at most {} new at a time (maxBatchSize)", *batch);
    }
  }
  auto field = [&](const char* name, const char* fallback) {
    return strategy ? util::stringMember(*strategy, name).value_or(fallback) : fallback;
  };
  return fmt::format("workers with maxSurge {} and maxUnavailable {}", field("maxSurge", "1"),
                     field("maxUnavailable", "0"));
}

class Upgrade {
 public:
  Upgrade(Context& ctx, const UpgradeOptions& o) : ctx_(ctx), o_(o) {}

  int run() {
    auto kind = resolveKind(o_.kind);
    if (!kind.ok()) return refuse(kind.error().message);
    if (*kind != api::Kind::Cluster) {
      return refuse(
          fmt::format("only clusters are upgraded: magnumctl upgrade cluster NAME "
                      "--template TEMPLATE (a node group with --nodegroup)"));
    }
    for (int attempt = 1;; ++attempt) {
      Outcome outcome = once();
      if (auto* error = std::get_if<ApiError>(&outcome)) {
        if (error->http_status == 409 && error->reason == "Conflict" &&
            attempt < kConflictRetries) {
          continue;  // changed under us: decide again from the new version
        }
        ctx_.err << formatError(*error, fmt::format("upgrading {}", clusterRef())) << "\n";
        return 1;
      }
      if (auto* refusal = std::get_if<Refusal>(&outcome)) return refuse(refusal->message);
      ctx_.out << std::get<std::string>(outcome);
      return 0;
    }
  }

 private:
  int refuse(const std::string& message) {
    ctx_.err << "error: " << message << "\n";
    return 1;
  }
  std::string clusterRef() const { return kindRef(api::Kind::Cluster, o_.cluster); }
  std::string nsFlag() const { return ctx_.ns_explicit ? " -n " + ctx_.ns : ""; }

  Outcome once() {
    auto cluster = ctx_.api.get(api::Kind::Cluster, ctx_.ns, o_.cluster);
    if (!cluster.ok()) return cluster.takeError();
    auto spec = decodeSpec<api::ClusterSpec>(*cluster, api::decodeClusterSpec, clusterRef());
    if (!spec.ok()) return Refusal{spec.error().message};
    const api::NamespacedName wanted = api::splitTemplateRef(o_.cluster_template, ctx_.ns);
    const api::NamespacedName current = api::splitTemplateRef(spec->cluster_template, ctx_.ns);
    auto tmpl_object = ctx_.api.get(api::Kind::ClusterTemplate, wanted.namespace_, wanted.name);
    if (!tmpl_object.ok()) return tmpl_object.takeError();
    auto tmpl = decodeSpec<api::ClusterTemplateSpec>(
        *tmpl_object, api::decodeClusterTemplateSpec,
        kindRef(api::Kind::ClusterTemplate, o_.cluster_template));
    if (!tmpl.ok()) return Refusal{tmpl.error().message};
    const bool same_template =
        wanted.namespace_ == current.namespace_ && wanted.name == current.name;

    if (!o_.nodegroup.empty()) {
      std::string name = o_.nodegroup;
      if (name == api::kDefaultMasterNodeGroup || name == api::kDefaultWorkerNodeGroup) {
        name = o_.cluster + "-" + name;  // Magnum's group names, magnumd's object names
      }
      // A default group follows the cluster's template: upgrading it is upgrading the cluster
      // (Magnum's default-worker upgrade moved the cluster's stack, masters included).
      if (!api::isDefaultNodeGroupName(name, o_.cluster) || same_template) {
        return upgradeNodeGroup(*cluster, *spec, *tmpl, name, same_template);
      }
    }
    return upgradeCluster(*cluster, *spec, *tmpl);
  }

  Outcome upgradeCluster(const Json& live, const api::ClusterSpec& spec,
                         const api::ClusterTemplateSpec& tmpl) {
    JsonDoc patch = patchFor(live);
    auto& a = patch.GetAllocator();
    patch["spec"].AddMember("clusterTemplate", util::str(o_.cluster_template, a), a);
    if (o_.max_batch_size) {
      Json strategy(rapidjson::kObjectType);
      strategy.AddMember("maxBatchSize", *o_.max_batch_size, a);
      patch["spec"].AddMember("rolloutStrategy", strategy, a);
    }
    // The cluster's own labels would hide the template's kube_tag: make them say the template's.
    api::ClusterSpec next = spec;
    next.cluster_template = o_.cluster_template;
    if (tmpl.coe == "kubernetes" &&
        api::ownLabelsDecide(spec.labels, spec.merge_labels, kKubeTag)) {
      auto tag = labelOf(tmpl.labels, kKubeTag);
      if (labelOf(spec.labels, kKubeTag) != tag) {
        setKubeTag(patch, tag);
        if (tag) {
          next.labels[std::string(kKubeTag)] = *tag;
        } else {
          next.labels.erase(std::string(kKubeTag));
        }
      }
    }
    auto patched =
        ctx_.api.mergePatch(api::Kind::Cluster, ctx_.ns, o_.cluster, util::toJson(patch));
    if (!patched.ok()) return patched.takeError();
    const api::ClusterConfig config = api::resolveCluster(tmpl, next);
    std::string out;
    if (generationOf(*patched) == generationOf(live)) {
      out =
          fmt::format("{} unchanged: it already uses template {} ({})\n", clusterRef(),
                      o_.cluster_template, describeConfig(config.coe, config.labels, config.image));
    } else {
      out = fmt::format("{} upgrading to template {} ({}): masters one at a time, then {}\n",
                        clusterRef(), o_.cluster_template,
                        describeConfig(config.coe, config.labels, config.image),
                        strategyText(*patched));
    }
    out += pinnedGroups(config);
    return out + followHints(*patched);
  }

  // Node groups that set their own kube_tag or image do not follow the template.
  std::string pinnedGroups(const api::ClusterConfig& config) {
    auto groups = ctx_.api.list(api::Kind::NodeGroup, ctx_.ns, {});
    if (!groups.ok()) return {};
    const Json* items = util::member(*groups, "items");
    if (items == nullptr || !items->IsArray()) return {};
    std::string out;
    for (const auto& item : items->GetArray()) {
      const Json* meta = util::member(item, "metadata");
      std::string name = meta ? util::stringMember(*meta, "name").value_or("") : "";
      auto spec = decodeSpec<api::NodeGroupSpec>(item, api::decodeNodeGroupSpec, name);
      if (!spec.ok() || spec->cluster != o_.cluster) continue;
      auto group = api::resolveNodeGroup(config, *spec);
      if (api::kubernetesVersionOf(group.labels) == api::kubernetesVersionOf(config.labels) &&
          group.image == config.image) {
        continue;
      }
      out += fmt::format(
          "{} keeps its own {} and does not follow the template; once the cluster is done:\n"
          "  magnumctl{} upgrade cluster {} --template {} --nodegroup {}\n",
          kindRef(api::Kind::NodeGroup, name),
          describeConfig(config.coe, group.labels, group.image), nsFlag(), o_.cluster,
          o_.cluster_template, name);
    }
    return out;
  }

  Outcome upgradeNodeGroup(const Json& cluster, const api::ClusterSpec& cluster_spec,
                           const api::ClusterTemplateSpec& tmpl, const std::string& name,
                           bool same_template) {
    const std::string ref = kindRef(api::Kind::NodeGroup, name);
    auto live = ctx_.api.get(api::Kind::NodeGroup, ctx_.ns, name);
    if (!live.ok()) return live.takeError();
    auto spec = decodeSpec<api::NodeGroupSpec>(*live, api::decodeNodeGroupSpec, ref);
    if (!spec.ok()) return Refusal{spec.error().message};
    if (spec->cluster != o_.cluster) {
      return Refusal{
          fmt::format("{} belongs to cluster {}, not {}", ref, spec->cluster, o_.cluster)};
    }
    if (!same_template) {
      return Refusal{fmt::format(
          "{} can only be upgraded to the template of its cluster, {} (as in Magnum); move the "
          "cluster first: magnumctl{} upgrade cluster {} --template {}",
          ref, cluster_spec.cluster_template, nsFlag(), o_.cluster, o_.cluster_template)};
    }
    std::optional<JsonDoc> updated_cluster;
    if (o_.max_batch_size) {
      auto strategy = setMaxBatchSize(cluster);
      if (!strategy.ok()) return strategy.takeError();
      updated_cluster = std::move(*strategy);
    }
    const Json& shown = updated_cluster ? *updated_cluster : cluster;
    const api::ClusterConfig config = api::resolveCluster(tmpl, cluster_spec);
    const api::NodeGroupConfig before = api::resolveNodeGroup(config, *spec);
    JsonDoc patch = patchFor(*live);
    auto& a = patch.GetAllocator();
    if (spec->image && *spec->image != config.image) {
      patch["spec"].AddMember("image", util::str(config.image, a), a);
    }
    if (config.coe == "kubernetes" &&
        api::ownLabelsDecide(spec->labels, spec->merge_labels, kKubeTag) &&
        api::kubernetesVersionOf(before.labels) != api::kubernetesVersionOf(config.labels)) {
      setKubeTag(patch, labelOf(config.labels, kKubeTag));
    }
    const std::string target = describeConfig(config.coe, config.labels, config.image);
    if (patch["spec"].ObjectEmpty()) {
      return fmt::format("{} unchanged: it already runs cluster {}'s template {} ({})\n", ref,
                         o_.cluster, o_.cluster_template, target) +
             followHints(shown);
    }
    auto patched = ctx_.api.mergePatch(api::Kind::NodeGroup, ctx_.ns, name, util::toJson(patch));
    if (!patched.ok()) return patched.takeError();
    return fmt::format("{} upgrading to template {} ({}), {}\n", ref, o_.cluster_template, target,
                       strategyText(shown)) +
           followHints(shown);
  }

  // The cluster's spec.rolloutStrategy.maxBatchSize, for a node group's rollout.
  ApiResult<JsonDoc> setMaxBatchSize(const Json& cluster) {
    JsonDoc patch = patchFor(cluster);
    auto& a = patch.GetAllocator();
    Json strategy(rapidjson::kObjectType);
    strategy.AddMember("maxBatchSize", *o_.max_batch_size, a);
    patch["spec"].AddMember("rolloutStrategy", strategy, a);
    return ctx_.api.mergePatch(api::Kind::Cluster, ctx_.ns, o_.cluster, util::toJson(patch));
  }

  std::string followHints(const Json& cluster) {
    std::string out;
    const Json* spec = util::member(cluster, "spec");
    if (spec && util::boolMember(*spec, "paused").value_or(false)) {
      out += fmt::format("{} is paused (spec.paused): the rollout starts once it is resumed\n",
                         clusterRef());
    }
    return out + fmt::format(
                     "Follow the rollout:  magnumctl{0} get cluster {1} -o wide --watch\n"
                     "Wait for its end:    magnumctl{0} wait cluster {1} --for condition=Ready "
                     "--timeout 30m\n",
                     nsFlag(), o_.cluster);
  }

  Context& ctx_;
  const UpgradeOptions& o_;
};

}  // namespace

int runUpgrade(Context& ctx, const UpgradeOptions& options) { return Upgrade(ctx, options).run(); }

}  // namespace magnumd::cli
