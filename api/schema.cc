#include "api/schema.h"

#include <fmt/format.h>

#include <type_traits>
#include <vector>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/codec.h"
#include "api/event.h"
#include "api/labels.h"
#include "api/nodegroup.h"
#include "api/quota.h"

namespace magnumd::api::schema {

namespace {

using util::Json;
using util::JsonAlloc;

struct Context {
  JsonAlloc& a;
  Dialect dialect;
  bool spec;  // defaults are what admission fills into a spec; a status has none
};

Json str(std::string_view s, JsonAlloc& a) { return util::str(s, a); }

Json typed(std::string_view type, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("type", str(type, a), a);
  return out;
}

Json stringList(const std::vector<std::string_view>& values, JsonAlloc& a) {
  Json out(rapidjson::kArrayType);
  for (auto v : values) out.PushBack(str(v, a), a);
  return out;
}

// A reference that keeps a description beside it: v3 ignores siblings of $ref, so kube-apiserver
// wraps the reference in allOf there.
Json reference(std::string_view definition, std::string_view description, const Context& c) {
  Json out(rapidjson::kObjectType);
  if (!description.empty()) out.AddMember("description", str(description, c.a), c.a);
  if (c.dialect == Dialect::V3) {
    Json ref(rapidjson::kObjectType);
    ref.AddMember("$ref", str(refTo(definition, c.dialect), c.a), c.a);
    Json all(rapidjson::kArrayType);
    all.PushBack(ref, c.a);
    out.AddMember("allOf", all, c.a);
  } else {
    out.AddMember("$ref", str(refTo(definition, c.dialect), c.a), c.a);
  }
  return out;
}

// Sentences appended to a description: what the other FieldDoc members say, in words, so that
// `kubectl explain` (which shows only descriptions and enums) tells everything.
std::string describe(const FieldDoc& doc, std::string_view size_unit,
                     const std::string& default_text) {
  std::vector<std::string> parts;
  if (!doc.description.empty()) parts.emplace_back(doc.description);
  if (!doc.accepts.empty()) parts.push_back(fmt::format("Use {}.", doc.accepts));
  if (doc.minimum && doc.maximum) {
    parts.push_back(fmt::format("From {} to {}.", *doc.minimum, *doc.maximum));
  } else if (doc.minimum) {
    parts.push_back(fmt::format("At least {}.", *doc.minimum));
  } else if (doc.maximum) {
    parts.push_back(fmt::format("At most {}.", *doc.maximum));
  }
  if (doc.max_size) parts.push_back(fmt::format("At most {} {}.", *doc.max_size, size_unit));
  if (!default_text.empty()) parts.push_back(fmt::format("Default: {}.", default_text));
  if (doc.required) parts.emplace_back("Required.");
  if (!doc.immutable.empty()) parts.push_back(fmt::format("Immutable: {}.", doc.immutable));
  return fmt::format("{}", fmt::join(parts, " "));
}

std::string_view labelScope(LabelScope scope) {
  switch (scope) {
    case LabelScope::Kubernetes:
      return "coe kubernetes";
    case LabelScope::Swarm:
      return "coe swarm";
    case LabelScope::Mesos:
      return "coe mesos";
    case LabelScope::Flannel:
      return "networkDriver flannel";
    case LabelScope::Calico:
      return "networkDriver calico";
    case LabelScope::Rexray:
      return "volumeDriver rexray";
    case LabelScope::Any:
      return "";
  }
  return "";
}

// What the labels table says of one key, in words: the value's form, where it applies, its
// default there, and the version a driver falls back to when it is unset.
std::string labelDescription(const LabelRule& rule) {
  std::vector<std::string> parts;
  switch (rule.type) {
    case LabelType::Text:
    case LabelType::Enum:
      break;
    case LabelType::EnumList:
      parts.push_back(
          fmt::format("A comma-separated list of {}, each at most once.", joinValues(rule.values)));
      break;
    case LabelType::Bool:
      parts.emplace_back("true or false, in any case.");
      break;
    case LabelType::Ipv4Cidr:
      parts.emplace_back("An IPv4 CIDR such as 10.100.0.0/16.");
      break;
    case LabelType::CidrList:
      parts.emplace_back("Comma-separated IPv4 or IPv6 CIDRs.");
      break;
    case LabelType::Integer:
      parts.push_back(fmt::format("An integer of at least {}.", rule.min));
      break;
    case LabelType::AbsolutePath:
      parts.emplace_back("An absolute path.");
      break;
    case LabelType::KubernetesVersion:
      parts.push_back(fmt::format("A Kubernetes release from v1.{} to v1.{}, such as {}.",
                                  kOldestKubernetesMinor, kNewestKubernetesMinor,
                                  kDefaultKubernetesVersion));
      break;
    case LabelType::Flags:
      parts.emplace_back("Command-line flags such as --v=2, separated by spaces.");
      break;
  }
  std::string_view scope = labelScope(rule.scope);
  if (!scope.empty() && !rule.default_value.empty()) {
    parts.push_back(fmt::format("With {}; default {}.", scope, rule.default_value));
  } else if (!scope.empty()) {
    parts.push_back(fmt::format("With {}.", scope));
  } else if (!rule.default_value.empty()) {
    parts.push_back(fmt::format("Default: {}.", rule.default_value));
  }
  if (auto fallback = versionLabelDefault(rule.key); fallback && rule.default_value.empty()) {
    parts.push_back(fmt::format("Unset: the driver uses {}.", *fallback));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

// A spec's labels: any key, string values; the keys the labels table knows listed with their
// values, so `kubectl explain clustertemplates.spec.labels` shows them.
Json labelsSchema(const Context& c) {
  Json out = typed("object", c.a);
  Json known(rapidjson::kObjectType);
  for (const LabelRule& rule : labelRules()) {
    Json label(rapidjson::kObjectType);
    std::string text = labelDescription(rule);
    if (!text.empty()) label.AddMember("description", str(text, c.a), c.a);
    label.AddMember("type", "string", c.a);
    if (rule.type == LabelType::Enum) label.AddMember("enum", stringList(rule.values, c.a), c.a);
    known.AddMember(str(rule.key, c.a), label, c.a);
  }
  out.AddMember("properties", known, c.a);
  Json value = typed("string", c.a);
  value.AddMember("maxLength", static_cast<int64_t>(kMaxLabelValue), c.a);
  out.AddMember("additionalProperties", value, c.a);
  return out;
}

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

template <class T>
struct Shape {
  static constexpr bool scalar =
      std::is_same_v<T, std::string> || std::is_same_v<T, int64_t> || std::is_same_v<T, bool>;
};

template <class T>
Json valueSchema(const FieldDoc& doc, const Context& c);

template <codec::Record R>
Json recordSchema(const Context& c);

template <class T>
Json fieldSchema(const T& initial, const FieldDoc& doc, const Context& c) {
  using Value = typename Unwrap<T>::type;
  Json type = valueSchema<Value>(doc, c);
  std::string default_text;
  Json default_value;
  if (!doc.default_value.empty()) {
    default_text = std::string(doc.default_value);
    default_value = str(doc.default_value, c.a);
  } else if constexpr (Shape<T>::scalar) {
    if (c.spec && !codec::isEmptyValue(initial)) {
      codec::encodeValue(initial, default_value, c.a);
      default_text = default_value.IsString() ? std::string(default_value.GetString())
                                              : util::toJson(default_value);
    }
  }
  std::string_view unit = std::is_same_v<Value, std::string> ? "characters" : "entries";
  std::string text = describe(doc, unit, default_text);
  Json out(rapidjson::kObjectType);
  if (!text.empty()) out.AddMember("description", str(text, c.a), c.a);
  for (auto& m : type.GetObject()) out.AddMember(m.name, m.value, c.a);
  if (!default_value.IsNull()) out.AddMember("default", default_value, c.a);
  if (doc.values != nullptr) out.AddMember("enum", stringList(doc.values(), c.a), c.a);
  if (doc.minimum) out.AddMember("minimum", *doc.minimum, c.a);
  if (doc.maximum) out.AddMember("maximum", *doc.maximum, c.a);
  if (doc.max_size) {
    std::string_view key = std::is_same_v<Value, std::string> ? "maxLength"
                           : codec::IsVector<Value>::value    ? "maxItems"
                                                              : "maxProperties";
    out.AddMember(str(key, c.a), Json(*doc.max_size), c.a);
  }
  if (!doc.format.empty()) out.AddMember("format", str(doc.format, c.a), c.a);
  if (!doc.immutable.empty()) {
    Json rule(rapidjson::kObjectType);
    rule.AddMember("rule", "self == oldSelf", c.a);
    rule.AddMember("message", str(fmt::format("field is immutable; {}", doc.immutable), c.a), c.a);
    Json rules(rapidjson::kArrayType);
    rules.PushBack(rule, c.a);
    out.AddMember("x-kubernetes-validations", rules, c.a);
  }
  return out;
}

template <class T>
Json valueSchema(const FieldDoc& doc, const Context& c) {
  if constexpr (std::is_same_v<T, std::string>) {
    return typed("string", c.a);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    Json out = typed("integer", c.a);
    out.AddMember("format", "int64", c.a);
    return out;
  } else if constexpr (std::is_same_v<T, bool>) {
    return typed("boolean", c.a);
  } else if constexpr (std::is_same_v<T, StringMap>) {
    if (doc.labels) return labelsSchema(c);
    Json out = typed("object", c.a);
    out.AddMember("additionalProperties", typed("string", c.a), c.a);
    return out;
  } else if constexpr (codec::IsVector<T>::value) {
    Json out = typed("array", c.a);
    out.AddMember("items", valueSchema<typename T::value_type>(FieldDoc{}, c), c.a);
    std::string_view list_type = doc.list_type == ListType::Map   ? "map"
                                 : doc.list_type == ListType::Set ? "set"
                                                                  : "atomic";
    out.AddMember("x-kubernetes-list-type", str(list_type, c.a), c.a);
    if (doc.list_type == ListType::Map) {
      Json keys(rapidjson::kArrayType);
      keys.PushBack(str(doc.list_key, c.a), c.a);
      out.AddMember("x-kubernetes-list-map-keys", keys, c.a);
    }
    return out;
  } else {
    static_assert(codec::Record<T>, "a field type the schema does not know");
    return recordSchema<T>(c);
  }
}

template <codec::Record R>
Json recordSchema(const Context& c) {
  Json out = typed("object", c.a);
  Json properties(rapidjson::kObjectType);
  Json required(rapidjson::kArrayType);
  const R initial{};
  auto visit = [&](std::string_view name, const auto& field, const FieldDoc& doc = {}) {
    properties.AddMember(str(name, c.a), fieldSchema(field, doc, c), c.a);
    if (doc.required) required.PushBack(str(name, c.a), c.a);
  };
  R::fields(initial, visit);
  out.AddMember("properties", properties, c.a);
  if (!required.Empty()) out.AddMember("required", required, c.a);
  return out;
}

Json gvk(std::string_view kind, JsonAlloc& a) {
  Json one(rapidjson::kObjectType);
  one.AddMember("group", str(kApiGroup, a), a);
  one.AddMember("kind", str(kind, a), a);
  one.AddMember("version", "v1", a);
  Json out(rapidjson::kArrayType);
  out.PushBack(one, a);
  return out;
}

Json described(Json schema, std::string_view description, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("description", str(description, a), a);
  for (auto& m : schema.GetObject()) out.AddMember(m.name, m.value, a);
  return out;
}

Json constant(std::string_view value, std::string_view description, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("description", str(description, a), a);
  out.AddMember("type", "string", a);
  Json values(rapidjson::kArrayType);
  values.PushBack(str(value, a), a);
  out.AddMember("enum", values, a);
  return out;
}

// A status nobody defines: any object written through /status is kept.
Json freeStatus(std::string_view description, JsonAlloc& a) {
  Json out = typed("object", a);
  out.AddMember("x-kubernetes-preserve-unknown-fields", true, a);
  return described(std::move(out), description, a);
}

struct KindDoc {
  Kind kind;
  std::string_view description;
  std::string_view spec;
  std::string_view status;
};

const std::vector<KindDoc>& kindDocs() {
  static const std::vector<KindDoc> kDocs = {
      {Kind::ClusterTemplate,
       "What every cluster made from it shares: COE, image, networks, flavors, drivers and labels "
       "(Magnum's ClusterTemplate). Its spec cannot change while clusters use it, except public "
       "and hidden: to upgrade them, create another template and point the clusters at it.",
       "The template. Unset fields take the defaults shown; labels get the label defaults of the "
       "COE and drivers.",
       "Unused: any object written through /status is kept."},
      {Kind::Cluster,
       "A container cluster on OpenStack made from a ClusterTemplate (Magnum's cluster): its "
       "masters, the default-worker node group, and any NodeGroups added to it.",
       "The cluster as wanted; the template's values fill what it leaves unset.",
       "What magnumd observes of the cluster, written by its controllers through /status."},
      {Kind::NodeGroup,
       "A pool of servers of one flavor and image in a cluster (Magnum's node group). magnumd "
       "makes default-master and default-worker for every cluster; users add more.",
       "The node group as wanted; the cluster's values fill what it leaves unset.",
       "What magnumd observes of the group's servers."},
      {Kind::Event,
       "What a controller did and why, about one object (Kubernetes' core/v1 Event, trimmed).",
       "The event.", "Unused: any object written through /status is kept."},
      {Kind::Quota,
       "A project's limit on clusters or on the servers its clusters want (Magnum's quota). "
       "Named after its resource (cluster, node); only admins write quotas. Without one, "
       "magnumd's --max-clusters-per-project and --max-nodes-per-project apply.",
       "The limit.", "Unused: any object written through /status is kept."},
  };
  return kDocs;
}

template <codec::Record R>
Json recordOf(std::string_view description, const Context& c) {
  return described(recordSchema<R>(c), description, c.a);
}

Json specSchema(const KindDoc& doc, const Context& c) {
  switch (doc.kind) {
    case Kind::ClusterTemplate:
      return recordOf<ClusterTemplateSpec>(doc.spec, c);
    case Kind::Cluster:
      return recordOf<ClusterSpec>(doc.spec, c);
    case Kind::NodeGroup:
      return recordOf<NodeGroupSpec>(doc.spec, c);
    case Kind::Event:
      return recordOf<EventSpec>(doc.spec, c);
    case Kind::Quota:
      return recordOf<QuotaSpec>(doc.spec, c);
    case Kind::ClusterSecret:
      break;
  }
  return Json(rapidjson::kObjectType);
}

Json statusSchema(const KindDoc& doc, const Context& c) {
  switch (doc.kind) {
    case Kind::Cluster:
      return recordOf<ClusterStatus>(doc.status, c);
    case Kind::NodeGroup:
      return recordOf<NodeGroupStatus>(doc.status, c);
    case Kind::ClusterTemplate:
    case Kind::Event:
    case Kind::Quota:
    case Kind::ClusterSecret:
      break;
  }
  return freeStatus(doc.status, c.a);
}

Json kindSchema(const KindDoc& doc, Context& c) {
  std::string_view name = kindInfo(doc.kind).name;
  Json properties(rapidjson::kObjectType);
  properties.AddMember("apiVersion", constant(kApiVersion, "The API group and version.", c.a), c.a);
  properties.AddMember("kind", constant(name, "The kind of object.", c.a), c.a);
  properties.AddMember("metadata",
                       reference(kObjectMeta,
                                 "The object's name, namespace, labels and the "
                                 "server's bookkeeping.",
                                 c),
                       c.a);
  c.spec = true;
  properties.AddMember("spec", specSchema(doc, c), c.a);
  c.spec = false;
  properties.AddMember("status", statusSchema(doc, c), c.a);
  Json out(rapidjson::kObjectType);
  out.AddMember("description", str(doc.description, c.a), c.a);
  out.AddMember("type", "object", c.a);
  out.AddMember("properties", properties, c.a);
  out.AddMember("x-kubernetes-group-version-kind", gvk(name, c.a), c.a);
  return out;
}

Json listSchema(Kind kind, const Context& c) {
  std::string_view name = kindInfo(kind).name;
  std::string list = fmt::format("{}List", name);
  Json items = typed("array", c.a);
  Json ref(rapidjson::kObjectType);
  ref.AddMember("$ref", str(refTo(definitionName(kind), c.dialect), c.a), c.a);
  items.AddMember("items", ref, c.a);
  Json properties(rapidjson::kObjectType);
  properties.AddMember("apiVersion", constant(kApiVersion, "The API group and version.", c.a), c.a);
  properties.AddMember("items", described(std::move(items), fmt::format("The {}s.", name), c.a),
                       c.a);
  properties.AddMember("kind", constant(list, "The kind of list.", c.a), c.a);
  properties.AddMember(
      "metadata", reference(kListMeta, "The list's resourceVersion and paging state.", c), c.a);
  Json out(rapidjson::kObjectType);
  out.AddMember("description", str(fmt::format("A list of {}s.", name), c.a), c.a);
  out.AddMember("type", "object", c.a);
  out.AddMember("required", stringList({"items"}, c.a), c.a);
  out.AddMember("properties", properties, c.a);
  out.AddMember("x-kubernetes-group-version-kind", gvk(list, c.a), c.a);
  return out;
}

// Properties written as (name, type, description[, format]) rows, for the meta.k8s.io types.
struct Property {
  std::string_view name;
  std::string_view type;  // string | integer | boolean | map (of strings) | set (of strings)
  std::string_view description;
  std::string_view format = {};
};

Json objectOf(std::string_view description, const std::vector<Property>& rows, JsonAlloc& a) {
  Json properties(rapidjson::kObjectType);
  for (const auto& row : rows) {
    Json p(rapidjson::kObjectType);
    p.AddMember("description", str(row.description, a), a);
    if (row.type == "map") {
      p.AddMember("type", "object", a);
      p.AddMember("additionalProperties", typed("string", a), a);
    } else if (row.type == "set") {
      p.AddMember("type", "array", a);
      p.AddMember("items", typed("string", a), a);
      p.AddMember("x-kubernetes-list-type", "set", a);
    } else {
      p.AddMember("type", str(row.type, a), a);
      if (row.type == "integer") p.AddMember("format", "int64", a);
    }
    if (!row.format.empty()) p.AddMember("format", str(row.format, a), a);
    properties.AddMember(str(row.name, a), p, a);
  }
  Json out(rapidjson::kObjectType);
  out.AddMember("description", str(description, a), a);
  out.AddMember("type", "object", a);
  out.AddMember("properties", properties, a);
  return out;
}

// metadata.managedFields: which field manager set which fields (api/managed_fields.h).
Json managedFields(JsonAlloc& a) {
  Json entry = objectOf(
      "The fields one manager set through one kind of write.",
      {{"manager", "string", "Who: the fieldManager of the write, else its User-Agent's product."},
       {"operation", "string", "Apply (server-side apply) or Update (any other write)."},
       {"apiVersion", "string", "The version the fields are named in: container-infra/v1."},
       {"time", "string", "When the manager last changed one of its fields.", "date-time"},
       {"fieldsType", "string", "FieldsV1, the only encoding."},
       {"subresource", "string", "Empty: the object itself."}},
      a);
  Json fields = typed("object", a);
  fields.AddMember("x-kubernetes-preserve-unknown-fields", true, a);
  entry["properties"].AddMember(
      "fieldsV1",
      described(std::move(fields),
                "The fields, in Kubernetes' FieldsV1 encoding: {\"f:spec\":{\"f:nodeCount\":{}}}.",
                a),
      a);
  Json out = typed("array", a);
  out.AddMember("items", entry, a);
  out.AddMember("x-kubernetes-list-type", "atomic", a);
  return described(std::move(out),
                   "Which field manager set which fields, per manager and operation; the server "
                   "keeps it. An update may replace it, and [{}] clears it.",
                   a);
}

// The ObjectMeta fields magnumd's decoder takes (api/object.cc), and nothing else: a schema
// that listed generateName or ownerReferences would promise what the server refuses.
Json objectMeta(JsonAlloc& a) {
  Json out = objectOf(
      "Metadata every object has. The server sets uid, resourceVersion, generation, "
      "creationTimestamp and deletionTimestamp; values sent for them are ignored.",
      {{"name", "string",
        "Unique in the namespace: a DNS-1123 label (lower-case letters, digits and '-', at most "
        "63 characters). Event names may be DNS-1123 subdomains."},
       {"namespace", "string",
        "The namespace, an OpenStack project: a DNS-1123 label. Taken from the URL; must match "
        "it when given."},
       {"uid", "string", "Set by the server when the object is created; never reused."},
       {"resourceVersion", "string",
        "Opaque version the server sets on every write. Sent back on update, the write succeeds "
        "only if the object has not changed since (optimistic concurrency)."},
       {"generation", "integer", "Set by the server; goes up when spec changes."},
       {"creationTimestamp", "string", "When the object was created.", "date-time"},
       {"deletionTimestamp", "string",
        "When deletion was asked for; the object goes when its finalizers are gone.", "date-time"},
       {"labels", "map", "Key/value pairs that label selectors match (labelSelector)."},
       {"annotations", "map", "Key/value pairs for tools, not selectable; at most 256 KiB in all."},
       {"finalizers", "set",
        "Qualified names (example.com/name) of what must happen before the object goes; each "
        "controller removes its own when done."}},
      a);
  out["properties"].AddMember("managedFields", managedFields(a), a);
  return out;
}

Json listMeta(JsonAlloc& a) {
  return objectOf(
      "Metadata of a list.",
      {{"resourceVersion", "string",
        "The store revision the list reflects; a watch from it misses nothing."},
       {"continue", "string", "Token for the next page (limit/continue); absent on the last page."},
       {"remainingItemCount", "integer", "Items after this page."}},
      a);
}

Json statusObject(JsonAlloc& a) {
  Json out = objectOf("What went wrong (or, rarely, right) with a request.",
                      {{"apiVersion", "string", "v1."},
                       {"kind", "string", "Status."},
                       {"status", "string", "Success or Failure."},
                       {"message", "string", "What happened, for people."},
                       {"reason", "string",
                        "Why, for programs: NotFound, AlreadyExists, Conflict, Invalid, "
                        "BadRequest, ..."},
                       {"code", "integer", "The HTTP status code."}},
                      a);
  Json cause = objectOf("One bad field.",
                        {{"reason", "string", "FieldValueInvalid, ..."},
                         {"message", "string", "What is wrong with it."},
                         {"field", "string", "The field's path: spec.nodeCount."}},
                        a);
  Json causes = typed("array", a);
  causes.AddMember("items", cause, a);
  Json details = objectOf("The object the status is about.",
                          {{"name", "string", "Its name."},
                           {"group", "string", "Its API group."},
                           {"kind", "string", "Its kind."}},
                          a);
  details["properties"].AddMember("causes", described(std::move(causes), "One per bad field.", a),
                                  a);
  out["properties"].AddMember("details", details, a);
  return out;
}

Json deleteOptions(JsonAlloc& a) {
  Json out = objectOf(
      "Options of a DELETE. Deletion always waits for finalizers, so propagationPolicy, "
      "gracePeriodSeconds and orphanDependents are accepted and ignored.",
      {{"apiVersion", "string", "v1."},
       {"kind", "string", "DeleteOptions."},
       {"propagationPolicy", "string", "Accepted and ignored."},
       {"gracePeriodSeconds", "integer", "Accepted and ignored."},
       {"orphanDependents", "boolean", "Accepted and ignored."},
       {"dryRun", "set", "[\"All\"]: check the delete without making it."}},
      a);
  Json preconditions = objectOf("Delete only if the object still has these.",
                                {{"uid", "string", "The object's metadata.uid."},
                                 {"resourceVersion", "string", "The object's resourceVersion."}},
                                a);
  out["properties"].AddMember("preconditions", preconditions, a);
  return out;
}

}  // namespace

std::string definitionName(Kind kind, bool list) {
  return fmt::format("{}.v1.{}{}", kApiGroup, kindInfo(kind).name, list ? "List" : "");
}

std::string refTo(std::string_view definition, Dialect dialect) {
  return fmt::format("{}{}", dialect == Dialect::V3 ? "#/components/schemas/" : "#/definitions/",
                     definition);
}

void addDefinitions(Json& out, JsonAlloc& a, Dialect dialect) {
  Context c{a, dialect, false};
  for (const KindDoc& doc : kindDocs()) {
    out.AddMember(str(definitionName(doc.kind), a), kindSchema(doc, c), a);
    out.AddMember(str(definitionName(doc.kind, true), a), listSchema(doc.kind, c), a);
  }
  out.AddMember(str(kObjectMeta, a), objectMeta(a), a);
  out.AddMember(str(kListMeta, a), listMeta(a), a);
  out.AddMember(str(kStatus, a), statusObject(a), a);
  out.AddMember(str(kDeleteOptions, a), deleteOptions(a), a);
  Json patch = typed("object", a);
  out.AddMember(str(kPatch, a),
                described(std::move(patch),
                          "A JSON merge patch (application/merge-patch+json), a JSON patch "
                          "(application/json-patch+json), or for server-side apply the object "
                          "as the field manager wants it (application/apply-patch+yaml).",
                          a),
                a);
  Json event = objectOf("One change of a watch stream.",
                        {{"type", "string", "ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."}}, a);
  Json object = typed("object", a);
  object.AddMember("x-kubernetes-preserve-unknown-fields", true, a);
  event["properties"].AddMember(
      "object", described(std::move(object), "The object, or a Status for ERROR.", a), a);
  out.AddMember(str(kWatchEvent, a), event, a);
}

}  // namespace magnumd::api::schema
