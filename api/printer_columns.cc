#include "api/printer_columns.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace magnumd::api {

using util::Json;

namespace {

constexpr std::string_view kNone = "<none>";

constexpr PrinterColumn kName{
    "Name", "string", "name",
    "metadata.name: unique among the objects of its kind in a namespace."};
constexpr PrinterColumn kAge{"Age", "date", "", "Time since metadata.creationTimestamp."};

const std::vector<PrinterColumn> kClusterColumns = {
    kName,
    {"Phase", "string", "",
     "status.phase: the last operation and how it went, in Magnum's words (CREATE_COMPLETE, "
     "UPDATE_IN_PROGRESS, ...); Terminating once deleted, until the controller reports DELETE_*."},
    {"Health", "string", "", "status.healthStatus: HEALTHY, UNHEALTHY or UNKNOWN."},
    {"Masters", "string", "",
     "Master servers seen (status.masterAddresses) over spec.masterCount."},
    {"Nodes", "string", "",
     "Worker servers seen (status.nodeAddresses) over the workers of every node group "
     "(status.nodeCount, else spec.nodeCount)."},
    kAge,
    {"Template", "string", "",
     "spec.clusterTemplate: the ClusterTemplate the cluster is built from.", 1},
    {"API Address", "string", "", "status.apiAddress: the cluster's Kubernetes API.", 1},
    {"Version", "string", "", "status.coeVersion: the version the cluster's API reports.", 1},
    {"Rollout", "string", "",
     "status.rollout: Complete, or the phase of a rolling replacement (Progressing, Stalled, "
     "Paused) with nodes updated over nodes wanted and the target version.",
     1},
    {"Ready Nodes", "string", "",
     "Nodes Ready in the cluster's own API over the servers that should be Nodes "
     "(status.api.readyNodes / expectedNodes).",
     1},
    {"Stack", "string", "", "status.stackId: the cluster's Heat stack.", 1},
    {"Reason", "string", "", "status.statusReason: why the cluster is in its phase.", 1},
};

const std::vector<PrinterColumn> kTemplateColumns = {
    kName,
    {"COE", "string", "", "spec.coe: kubernetes, swarm or mesos."},
    {"Image", "string", "", "spec.image: the Glance image of every server."},
    {"Network", "string", "", "spec.networkDriver: the container network driver."},
    {"Public", "string", "", "spec.public: whether every project may use the template."},
    kAge,
    {"Flavor", "string", "", "spec.flavor: the workers' Nova flavor.", 1},
    {"Master Flavor", "string", "", "spec.masterFlavor: the masters' Nova flavor.", 1},
    {"External Network", "string", "", "spec.externalNetwork: the network floating IPs come from.",
     1},
    {"Keypair", "string", "", "spec.keypair: the Nova keypair installed on every server.", 1},
};

const std::vector<PrinterColumn> kNodeGroupColumns = {
    kName,
    {"Cluster", "string", "", "spec.cluster: the Cluster the group belongs to."},
    {"Role", "string", "", "spec.role: master or worker."},
    {"Nodes", "string", "", "ACTIVE servers (status.nodes) over spec.nodeCount."},
    {"Min", "string", "", "spec.minNodeCount."},
    {"Max", "string", "", "spec.maxNodeCount (<none>: unbounded)."},
    {"Phase", "string", "", "status.phase; Terminating once deleted, until DELETE_*."},
    kAge,
    {"Flavor", "string", "", "spec.flavor: the group's Nova flavor.", 1},
    {"Image", "string", "", "spec.image: the group's Glance image.", 1},
    {"Reason", "string", "", "status.statusReason.", 1},
};

const std::vector<PrinterColumn> kQuotaColumns = {
    kName,
    {"Resource", "string", "", "spec.resource: Cluster or Node."},
    {"Hard Limit", "integer", "", "spec.hardLimit: the most the project may have."},
    kAge,
};

const std::vector<PrinterColumn> kEventColumns = {
    {"Last Seen", "date", "", "Time since the event last happened (spec.lastTimestamp)."},
    {"Type", "string", "", "spec.type: Normal or Warning."},
    {"Reason", "string", "", "spec.reason: a short, machine-readable cause."},
    {"Object", "string", "", "spec.involvedObject: kind/name of the object the event is about."},
    {"Message", "string", "", "spec.message, with (xN) when it happened N times."},
};

const std::vector<PrinterColumn> kNameOnly = {kName};

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
  return util::ageOf(util::stringMember(sub(object, "metadata"), "creationTimestamp"), now);
}

// A deleting object shows Terminating until the controller reports a DELETE_* phase.
std::string phaseOf(const Json& object) {
  std::string phase = text(sub(object, "status"), "phase");
  bool deleting = util::member(sub(object, "metadata"), "deletionTimestamp") != nullptr;
  if (deleting && phase.rfind("DELETE", 0) != 0) return "Terminating";
  return phase;
}

std::vector<std::string> clusterCells(const Json& o, util::SystemTime now) {
  const Json& spec = sub(o, "spec");
  const Json& status = sub(o, "status");
  // Ready Nodes over the servers that should be Nodes, as the cluster's own API shows them.
  const Json& api = sub(status, "api");
  std::string ready = util::member(status, "api")
                          ? observedOverDesired(util::intMember(api, "readyNodes"),
                                                util::intMember(api, "expectedNodes"))
                          : std::string(kNone);
  return {
      text(sub(o, "metadata"), "name"),
      phaseOf(o),
      text(status, "healthStatus"),
      observedOverDesired(arraySize(status, "masterAddresses"),
                          util::intMember(spec, "masterCount")),
      // Every worker group counts (as Magnum's node_count); older status lacks nodeCount.
      observedOverDesired(arraySize(status, "nodeAddresses"),
                          util::member(status, "nodeCount") ? util::intMember(status, "nodeCount")
                                                            : util::intMember(spec, "nodeCount")),
      age(o, now),
      text(spec, "clusterTemplate"),
      text(status, "apiAddress"),
      text(status, "coeVersion"),
      rolloutSummary(status),
      std::move(ready),
      text(status, "stackId"),
      text(status, "statusReason"),
  };
}

std::vector<std::string> quotaCells(const Json& o, util::SystemTime now) {
  const Json& spec = sub(o, "spec");
  auto limit = util::intMember(spec, "hardLimit");
  return {text(sub(o, "metadata"), "name"), text(spec, "resource"),
          limit ? std::to_string(*limit) : "0", age(o, now)};
}

std::vector<std::string> templateCells(const Json& o, util::SystemTime now) {
  const Json& spec = sub(o, "spec");
  auto is_public = util::boolMember(spec, "public");
  return {text(sub(o, "metadata"), "name"),
          text(spec, "coe"),
          text(spec, "image"),
          text(spec, "networkDriver"),
          is_public.value_or(false) ? "true" : "false",
          age(o, now),
          text(spec, "flavor"),
          text(spec, "masterFlavor"),
          text(spec, "externalNetwork"),
          text(spec, "keypair")};
}

std::vector<std::string> nodeGroupCells(const Json& o, util::SystemTime now) {
  const Json& spec = sub(o, "spec");
  const Json& status = sub(o, "status");
  std::optional<int64_t> ready;
  if (const Json* nodes = util::member(status, "nodes"); nodes && nodes->IsArray()) {
    ready = std::count_if(nodes->Begin(), nodes->End(), [](const Json& n) {
      return util::stringMember(n, "status") == "ACTIVE";
    });
  }
  auto max = util::intMember(spec, "maxNodeCount");
  return {text(sub(o, "metadata"), "name"),
          text(spec, "cluster"),
          text(spec, "role"),
          observedOverDesired(ready, util::intMember(spec, "nodeCount")),
          text(spec, "minNodeCount"),
          max ? std::to_string(*max) : std::string(kNone),
          phaseOf(o),
          age(o, now),
          text(spec, "flavor"),
          text(spec, "image"),
          text(status, "statusReason")};
}

// Events keep their fields in spec (magnumd's Event kind); tolerate Kubernetes' top-level form.
const Json& eventFields(const Json& o) {
  const Json& spec = sub(o, "spec");
  return util::member(spec, "reason") ? spec : o;
}

std::vector<std::string> eventCells(const Json& o, util::SystemTime now) {
  const Json& e = eventFields(o);
  const Json& involved = sub(e, "involvedObject");
  std::string kind = util::stringMember(involved, "kind").value_or("");
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string object =
      fmt::format("{}/{}", kind, util::stringMember(involved, "name").value_or("?"));
  std::string message = text(e, "message");
  auto count = util::intMember(e, "count");
  if (count && *count > 1) message += fmt::format(" (x{})", *count);
  std::string seen = eventLastSeen(o);
  return {util::ageOf(seen.empty() ? std::nullopt : std::optional(seen), now), text(e, "type"),
          text(e, "reason"), object, message};
}

}  // namespace

const std::vector<PrinterColumn>& printerColumns(Kind kind) {
  switch (kind) {
    case Kind::Cluster:
      return kClusterColumns;
    case Kind::ClusterTemplate:
      return kTemplateColumns;
    case Kind::NodeGroup:
      return kNodeGroupColumns;
    case Kind::Event:
      return kEventColumns;
    case Kind::Quota:
      return kQuotaColumns;
    case Kind::ClusterSecret:
      return kNameOnly;
  }
  return kNameOnly;
}

std::vector<std::string> printerCells(Kind kind, const Json& object, util::SystemTime now) {
  switch (kind) {
    case Kind::Cluster:
      return clusterCells(object, now);
    case Kind::ClusterTemplate:
      return templateCells(object, now);
    case Kind::NodeGroup:
      return nodeGroupCells(object, now);
    case Kind::Event:
      return eventCells(object, now);
    case Kind::Quota:
      return quotaCells(object, now);
    case Kind::ClusterSecret:
      break;
  }
  return {text(sub(object, "metadata"), "name")};
}

std::string eventLastSeen(const Json& event) {
  auto when = util::stringMember(eventFields(event), "lastTimestamp");
  if (!when || when->empty())
    when = util::stringMember(sub(event, "metadata"), "creationTimestamp");
  return when.value_or("");
}

std::string rolloutSummary(const Json& status) {
  const Json* rollout = util::member(status, "rollout");
  if (rollout == nullptr || !rollout->IsObject()) return std::string(kNone);
  std::string phase = util::stringMember(*rollout, "phase").value_or("");
  if (phase.empty()) return std::string(kNone);
  if (phase == "Complete") return phase;
  std::string out =
      fmt::format("{} {}/{}", phase, util::intMember(*rollout, "updatedNodes").value_or(0),
                  util::intMember(*rollout, "totalNodes").value_or(0));
  std::string target = util::stringMember(*rollout, "targetVersion").value_or("");
  if (!target.empty()) out += " " + target;
  return out;
}

std::string observedOverDesired(std::optional<int64_t> observed, std::optional<int64_t> desired) {
  if (observed && desired) return fmt::format("{}/{}", *observed, *desired);
  if (desired) return std::to_string(*desired);
  if (observed) return std::to_string(*observed);
  return std::string(kNone);
}

}  // namespace magnumd::api
