#include "server/references.h"

#include <fmt/format.h>

#include "api/admission.h"

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

}  // namespace magnumd::server
