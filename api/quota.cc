#include "api/quota.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/nodegroup.h"
#include "util/json.h"

namespace magnumd::api {

const std::vector<std::string_view>& quotaResources() {
  static const std::vector<std::string_view> kResources = {kQuotaCluster, kQuotaNode};
  return kResources;
}

std::string quotaObjectName(std::string_view resource) {
  std::string name(resource);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

int64_t nodesWanted(const Object& object) {
  if (object.kind != Kind::Cluster && object.kind != Kind::NodeGroup) return 0;
  auto spec = util::parseJson(object.spec);
  if (!spec.ok()) return 0;
  if (object.kind == Kind::Cluster) {
    return util::intMember(*spec, "masterCount").value_or(1) +
           util::intMember(*spec, "nodeCount").value_or(1);
  }
  // Default groups mirror their cluster's counts, which the cluster already carries.
  auto cluster = util::stringMember(*spec, "cluster");
  if (cluster && isDefaultNodeGroupName(object.metadata.name, *cluster)) return 0;
  return util::intMember(*spec, "nodeCount").value_or(1);
}

util::Result<QuotaSpec> decodeQuotaSpec(std::string_view json) {
  return decodeRecord<QuotaSpec>(json, "spec");
}
std::string encodeQuotaSpec(const QuotaSpec& spec) { return encodeRecord(spec); }

void validate(const QuotaSpec& s, std::string_view object_name, Causes& causes) {
  const auto& resources = quotaResources();
  if (std::find(resources.begin(), resources.end(), s.resource) == resources.end()) {
    causes.add("spec.resource",
               fmt::format("{} is not one of {}", quoted(s.resource), joinValues(resources)));
    return;
  }
  if (s.hard_limit < 0) {
    causes.add("spec.hardLimit", fmt::format("{} is below 0", s.hard_limit));
  }
  if (!object_name.empty() && object_name != quotaObjectName(s.resource)) {
    causes.add("metadata.name",
               fmt::format("a {} quota is named {}; got {}", s.resource,
                           quoted(quotaObjectName(s.resource)), quoted(object_name)));
  }
}

}  // namespace magnumd::api
