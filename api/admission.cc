// admitSpec / admitStatus / metadata rules / update rules / reference helpers. Label selectors are
// in selector.cc.
#include "api/admission.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/codec.h"
#include "api/event.h"
#include "api/nodegroup.h"
#include "api/quota.h"
#include "api/validation.h"

namespace magnumd::api {

namespace {

constexpr size_t kMaxAnnotationBytes = 256 * 1024;
constexpr size_t kMaxFinalizers = 32;
constexpr size_t kMaxListedClusters = 10;

// A template that was admitted before decodes cleanly; if it somehow does not, the cluster is
// checked without the template-dependent rules rather than rejected for someone else's object.
// Every Cluster and NodeGroup write decodes its template, which rarely changes (a tenth of
// magnumd's CPU with 64 concurrent creates): each thread keeps the last few decoded, keyed by
// the exact text, so the result is the same as decoding it again.
std::shared_ptr<const ClusterTemplateSpec> decodeTemplate(
    const std::optional<std::string>& template_spec) {
  if (!template_spec) return nullptr;
  struct Decoded {
    std::string text;
    std::shared_ptr<const ClusterTemplateSpec> spec;
  };
  thread_local std::array<Decoded, 8> recent;
  thread_local size_t next = 0;
  for (const auto& d : recent) {
    if (d.spec && d.text == *template_spec) return d.spec;
  }
  auto t = decodeClusterTemplateSpec(*template_spec);
  if (!t.ok()) return nullptr;
  applyDefaults(*t);
  auto spec = std::make_shared<const ClusterTemplateSpec>(std::move(t).value());
  recent[next++ % recent.size()] = Decoded{*template_spec, spec};
  return spec;
}

template <class Spec>
util::Result<std::string> finish(const Spec& spec, const Causes& causes) {
  RETURN_IF_ERROR(causes.status());
  return encodeRecord(spec);
}

void validateStringMap(const StringMap& map, std::string_view path, bool values_are_labels, Causes& causes) {
  size_t bytes = 0;
  for (const auto& [key, value] : map) {
    std::string field = fmt::format("{}.{}", path, key);
    if (auto p = labelKeyProblem(key)) causes.add(field, fmt::format("key {} {}", quoted(key), *p));
    bytes += key.size() + value.size();
    if (values_are_labels) {
      if (auto p = labelValueProblem(value)) causes.add(field, fmt::format("{} {}", quoted(value), *p));
    }
  }
  if (!values_are_labels && bytes > kMaxAnnotationBytes) {
    causes.add(std::string(path), fmt::format("total size {} bytes is more than the {} byte limit", bytes,
                                              kMaxAnnotationBytes));
  }
}

void validateConditions(const std::vector<Condition>& conditions, Causes& causes) {
  std::set<std::string_view> types;
  for (size_t i = 0; i < conditions.size(); ++i) {
    const Condition& c = conditions[i];
    std::string field = fmt::format("status.conditions[{}]", i);
    if (c.type.empty()) causes.add(field + ".type", "required");
    if (!types.insert(c.type).second) causes.add(field + ".type", fmt::format("{} appears twice", quoted(c.type)));
    const auto& statuses = conditionStatuses();
    if (std::find(statuses.begin(), statuses.end(), c.status) == statuses.end()) {
      causes.add(field + ".status",
                 fmt::format("{} is not one of {}", quoted(c.status), joinValues(statuses)));
    }
    if (c.observed_generation < 0) causes.add(field + ".observedGeneration", "must not be negative");
  }
}

void validatePhase(const std::string& phase, Causes& causes) {
  const auto& all = phases();
  if (!phase.empty() && std::find(all.begin(), all.end(), phase) == all.end()) {
    causes.add("status.phase", fmt::format("{} is not one of {}", quoted(phase), joinValues(all)));
  }
}

// Member-wise comparison of two canonical spec objects.
bool sameMember(const util::Json& a, const util::Json& b, std::string_view name) {
  const util::Json* x = util::member(a, name);
  const util::Json* y = util::member(b, name);
  if (x == nullptr || y == nullptr) return x == y;
  return *x == *y;
}

std::string describeMember(const util::Json& spec, std::string_view name) {
  const util::Json* v = util::member(spec, name);
  return v == nullptr ? "unset" : util::toJson(*v);
}

void requireUnchanged(const util::Json& old_spec, const util::Json& new_spec, std::string_view name,
                      std::string_view why, Causes& causes) {
  if (sameMember(old_spec, new_spec, name)) return;
  causes.add(fmt::format("spec.{}", name),
             fmt::format("field is immutable (was {}, now {}); {}", describeMember(old_spec, name),
                         describeMember(new_spec, name), why));
}

// The fields whose FieldDoc says they are immutable, with the reason it gives.
template <class Spec>
void immutableFieldRules(const util::Json& old_spec, const util::Json& new_spec, Causes& causes) {
  Spec probe;
  auto visit = [&](std::string_view name, const auto&, const FieldDoc& doc = {}) {
    if (!doc.immutable.empty()) requireUnchanged(old_spec, new_spec, name, doc.immutable, causes);
  };
  Spec::fields(probe, visit);
}

std::string listClusters(const std::vector<std::string>& clusters) {
  std::vector<std::string_view> listed(clusters.begin(),
                                       clusters.begin() + std::min(clusters.size(), kMaxListedClusters));
  return fmt::format("cluster{} {}{}", clusters.size() > 1 ? "s" : "", fmt::join(listed, ", "),
                     clusters.size() > listed.size() ? fmt::format(" and {} more", clusters.size() - listed.size())
                                                     : "");
}

void templateUpdateRules(const util::Json& old_spec, const util::Json& new_spec,
                         const std::vector<std::string>& clusters, Causes& causes) {
  if (clusters.empty()) return;
  std::string why = fmt::format("cannot change while {} use{} this template; only public and hidden "
                                "may change (create a new template and point the clusters at it)",
                                listClusters(clusters), clusters.size() > 1 ? "" : "s");
  std::set<std::string> names;
  for (const auto* spec : {&old_spec, &new_spec}) {
    if (!spec->IsObject()) continue;
    for (const auto& m : spec->GetObject()) names.emplace(m.name.GetString(), m.name.GetStringLength());
  }
  for (const auto& name : names) {
    if (name == "public" || name == "hidden" || sameMember(old_spec, new_spec, name)) continue;
    causes.add(fmt::format("spec.{}", name), why);
  }
}

}  // namespace

util::Result<std::string> admitSpec(Kind kind, std::string_view spec_json,
                                    const std::optional<std::string>& template_spec) {
  Causes causes;
  switch (kind) {
    case Kind::ClusterTemplate: {
      ASSIGN_OR_RETURN(auto spec, decodeClusterTemplateSpec(spec_json));
      applyDefaults(spec);
      validate(spec, causes);
      return finish(spec, causes);
    }
    case Kind::Cluster: {
      ASSIGN_OR_RETURN(auto spec, decodeClusterSpec(spec_json));
      auto tmpl = decodeTemplate(template_spec);
      validate(spec, tmpl.get(), causes);
      return finish(spec, causes);
    }
    case Kind::NodeGroup: {
      ASSIGN_OR_RETURN(auto spec, decodeNodeGroupSpec(spec_json));
      auto tmpl = decodeTemplate(template_spec);
      validate(spec, tmpl.get(), causes);
      return finish(spec, causes);
    }
    case Kind::Event: {
      ASSIGN_OR_RETURN(auto spec, decodeEventSpec(spec_json));
      validate(spec, causes);
      return finish(spec, causes);
    }
    case Kind::Quota: {
      ASSIGN_OR_RETURN(auto spec, decodeQuotaSpec(spec_json));
      validate(spec, "", causes);  // the name is checked with the metadata
      return finish(spec, causes);
    }
    case Kind::ClusterSecret:
      break;  // never written through the API
  }
  return util::makeError(util::ErrorCode::Internal, "admitSpec: unknown kind");
}

util::Result<std::string> admitStatus(Kind kind, std::string_view status_json) {
  Causes causes;
  switch (kind) {
    case Kind::Cluster: {
      ASSIGN_OR_RETURN(auto status, decodeClusterStatus(status_json));
      validatePhase(status.phase, causes);
      const auto& health = healthStatuses();
      if (!status.health_status.empty() &&
          std::find(health.begin(), health.end(), status.health_status) == health.end()) {
        causes.add("status.healthStatus", fmt::format("{} is not one of {}",
                                                      quoted(status.health_status),
                                                      joinValues(health)));
      }
      validateConditions(status.conditions, causes);
      return finish(status, causes);
    }
    case Kind::NodeGroup: {
      ASSIGN_OR_RETURN(auto status, decodeNodeGroupStatus(status_json));
      validatePhase(status.phase, causes);
      validateConditions(status.conditions, causes);
      return finish(status, causes);
    }
    case Kind::ClusterTemplate:
    case Kind::Event:
    case Kind::Quota:
    case Kind::ClusterSecret: {
      ASSIGN_OR_RETURN(auto doc, parseBoundedJson(status_json, "status"));
      if (!doc.IsObject()) {
        return util::makeError(util::ErrorCode::BadRequest,
                               fmt::format("status: must be an object, got {}", util::typeName(doc)));
      }
      return util::toJson(doc);
    }
  }
  return util::makeError(util::ErrorCode::Internal, "admitStatus: unknown kind");
}

util::Status validateMetadata(const ObjectMeta& meta) { return validateMetadata(meta, Kind::Cluster); }

util::Status validateMetadata(const ObjectMeta& meta, Kind kind) {
  Causes causes;
  auto name_problem = kind == Kind::Event ? dns1123SubdomainProblem(meta.name) : dns1123LabelProblem(meta.name);
  if (meta.name.empty()) {
    causes.add("metadata.name", "required");
  } else if (name_problem) {
    causes.add("metadata.name", fmt::format("{} {}", quoted(meta.name), *name_problem));
  }
  if (!meta.namespace_.empty()) {
    if (auto p = dns1123LabelProblem(meta.namespace_)) {
      causes.add("metadata.namespace", fmt::format("{} {}", quoted(meta.namespace_), *p));
    }
  }
  validateStringMap(meta.labels, "metadata.labels", true, causes);
  validateStringMap(meta.annotations, "metadata.annotations", false, causes);
  if (meta.finalizers.size() > kMaxFinalizers) {
    causes.add("metadata.finalizers", fmt::format("has {} entries; at most {} are allowed", meta.finalizers.size(),
                                                  kMaxFinalizers));
  } else {
    for (size_t i = 0; i < meta.finalizers.size(); ++i) {
      if (auto p = labelKeyProblem(meta.finalizers[i])) {
        causes.add(fmt::format("metadata.finalizers[{}]", i),
                   fmt::format("{} must be a qualified name like magnumd.io/cluster: {}",
                               quoted(meta.finalizers[i]), *p));
      }
    }
  }
  return causes.status();
}

util::Status validateCreate(Kind kind, const ObjectMeta& meta, std::string_view canonical_spec) {
  if (kind == Kind::Quota) {
    Causes causes;
    if (auto spec = decodeQuotaSpec(canonical_spec); spec.ok()) validate(*spec, meta.name, causes);
    return causes.status();
  }
  if (kind != Kind::NodeGroup) return {};
  Causes causes;
  if (meta.name == kDefaultMasterNodeGroup || meta.name == kDefaultWorkerNodeGroup) {
    causes.add("metadata.name", fmt::format("{} is reserved: magnumd creates it for every cluster", quoted(meta.name)));
  }
  auto spec = decodeNodeGroupSpec(canonical_spec);
  if (spec.ok() && spec->role == kRoleMaster) {
    causes.add("spec.role", "\"master\" is reserved for the default-master node group; a cluster's masters "
                            "are sized with Cluster spec.masterCount");
  }
  return causes.status();
}

util::Status validateSpecUpdate(Kind kind, std::string_view old_spec, std::string_view new_spec,
                                const std::vector<std::string>& referencing_clusters) {
  ASSIGN_OR_RETURN(auto old_doc, parseBoundedJson(old_spec, "spec"));
  ASSIGN_OR_RETURN(auto new_doc, parseBoundedJson(new_spec, "spec"));
  Causes causes;
  switch (kind) {
    case Kind::Cluster:
      immutableFieldRules<ClusterSpec>(old_doc, new_doc, causes);
      break;
    case Kind::ClusterTemplate:
      templateUpdateRules(old_doc, new_doc, referencing_clusters, causes);
      break;
    case Kind::NodeGroup:
      immutableFieldRules<NodeGroupSpec>(old_doc, new_doc, causes);
      break;
    case Kind::Quota:
      immutableFieldRules<QuotaSpec>(old_doc, new_doc, causes);
      break;
    case Kind::Event:
    case Kind::ClusterSecret:
      break;
  }
  return causes.status();
}

util::Status validateTemplateReference(std::string_view cluster_namespace, std::string_view cluster_spec_json,
                                       const std::optional<std::string>& template_spec) {
  TemplateRef ref = templateRefOf(cluster_spec_json, cluster_namespace);
  Causes causes;
  std::string shown = ref.namespace_ == cluster_namespace ? ref.name : ref.namespace_ + "/" + ref.name;
  if (!template_spec) {
    causes.add("spec.clusterTemplate", fmt::format("ClusterTemplate {} not found{}", quoted(shown),
                                                   ref.namespace_ == cluster_namespace
                                                       ? fmt::format(" in namespace {}", cluster_namespace)
                                                       : ""));
  } else if (ref.namespace_ != cluster_namespace && !templateIsPublic(*template_spec)) {
    causes.add("spec.clusterTemplate",
               fmt::format("ClusterTemplate {} is in namespace {} and not public; a cluster may use a template "
                           "of its own namespace or a public one", quoted(shown), ref.namespace_));
  }
  return causes.status();
}

util::Status validateTemplateDelete(std::string_view template_name,
                                    const std::vector<std::string>& referencing_clusters) {
  if (referencing_clusters.empty()) return {};
  return util::makeError(util::ErrorCode::Conflict,
                         fmt::format("ClusterTemplate {} is used by {}; delete them or point them at another "
                                     "template first", quoted(template_name), listClusters(referencing_clusters)));
}

TemplateRef templateRefOf(std::string_view cluster_spec_json, std::string_view cluster_namespace) {
  auto doc = util::parseJson(cluster_spec_json);
  std::string ref;
  if (doc.ok()) ref = util::stringMember(*doc, "clusterTemplate").value_or("");
  auto split = splitTemplateRef(ref, cluster_namespace);
  return {std::move(split.namespace_), std::move(split.name)};
}

std::string clusterOfNodeGroup(std::string_view nodegroup_spec_json) {
  auto doc = util::parseJson(nodegroup_spec_json);
  if (!doc.ok()) return "";
  return util::stringMember(*doc, "cluster").value_or("");
}

bool templateIsPublic(std::string_view template_spec_json) {
  auto doc = util::parseJson(template_spec_json);
  if (!doc.ok()) return false;
  return util::boolMember(*doc, "public").value_or(false);
}

}  // namespace magnumd::api
