#include "api/object.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/codec.h"

namespace magnumd::api {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

namespace {

const std::vector<KindInfo> kKinds = {
    {Kind::ClusterTemplate, "ClusterTemplate", "clustertemplates", "clustertemplate", "ct"},
    {Kind::Cluster, "Cluster", "clusters", "cluster", "cl"},
    {Kind::NodeGroup, "NodeGroup", "nodegroups", "nodegroup", "ng"},
    {Kind::Event, "Event", "events", "event", "ev"},
    {Kind::ClusterSecret, "ClusterSecret", "clustersecrets", "clustersecret", "", false},
    {Kind::Quota, "Quota", "quotas", "quota", ""},
};
static_assert(kKindCount == 6);

const std::vector<KindInfo> kServedKinds = [] {
  std::vector<KindInfo> served;
  for (const auto& k : kKinds) {
    if (k.served) served.push_back(k);
  }
  return served;
}();

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void encodeStringMap(const StringMap& map, Json& out, JsonAlloc& a) {
  out.SetObject();
  for (const auto& [k, v] : map) out.AddMember(util::str(k, a), util::str(v, a), a);
}

util::Status decodeStringMap(const Json& value, std::string_view field, StringMap& out) {
  if (value.IsNull()) return {};
  if (!value.IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: must be an object of strings, got {}", field, util::typeName(value)));
  }
  for (const auto& m : value.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsString()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("{}.{}: must be a string, got {}", field, key, util::typeName(m.value)));
    }
    out[key] = std::string(m.value.GetString(), m.value.GetStringLength());
  }
  return {};
}

util::Status decodeString(const Json& value, std::string_view field, std::string& out) {
  if (value.IsNull()) return {};
  if (!value.IsString()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: must be a string, got {}", field, util::typeName(value)));
  }
  out.assign(value.GetString(), value.GetStringLength());
  return {};
}

util::Status decodeManagedFields(const Json& value, std::vector<ManagedFieldsEntry>& out) {
  if (value.IsNull()) return {};
  if (!value.IsArray()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("metadata.managedFields: must be an array of objects, got {}",
                                 util::typeName(value)));
  }
  for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
    const Json& entry = value[i];
    std::string field = fmt::format("metadata.managedFields[{}]", i);
    if (!entry.IsObject()) {
      return makeError(ErrorCode::BadRequest, fmt::format("{}: must be an object, got {}", field,
                                                          util::typeName(entry)));
    }
    ManagedFieldsEntry& e = out.emplace_back();
    for (const auto& m : entry.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      std::string* text = name == "manager"       ? &e.manager
                          : name == "operation"   ? &e.operation
                          : name == "apiVersion"  ? &e.api_version
                          : name == "time"        ? &e.time
                          : name == "fieldsType"  ? &e.fields_type
                          : name == "subresource" ? &e.subresource
                                                  : nullptr;
      if (text != nullptr) {
        RETURN_IF_ERROR(decodeString(m.value, fmt::format("{}.{}", field, name), *text));
      } else if (name == "fieldsV1") {
        if (m.value.IsNull()) continue;
        if (!m.value.IsObject()) {
          return makeError(ErrorCode::BadRequest,
                           fmt::format("{}.fieldsV1: must be an object, got {}", field,
                                       util::typeName(m.value)));
        }
        e.fields_v1 = util::toJson(m.value);
      } else {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("{}: unknown field \"{}\"; known: manager, operation, "
                                     "apiVersion, time, fieldsType, fieldsV1, subresource",
                                     field, name));
      }
    }
  }
  return {};
}

void encodeManagedFields(const std::vector<ManagedFieldsEntry>& entries, Json& out, JsonAlloc& a) {
  out.SetArray();
  for (const auto& e : entries) {
    Json entry(rapidjson::kObjectType);
    for (auto [name, text] : {std::pair<const char*, const std::string*>{"manager", &e.manager},
                              {"operation", &e.operation},
                              {"apiVersion", &e.api_version},
                              {"time", &e.time},
                              {"fieldsType", &e.fields_type}}) {
      if (!text->empty()) entry.AddMember(rapidjson::StringRef(name), util::str(*text, a), a);
    }
    if (!e.fields_v1.empty()) {
      util::JsonDoc parsed;
      parsed.Parse(e.fields_v1.data(), e.fields_v1.size());
      Json fields(rapidjson::kObjectType);
      if (!parsed.HasParseError() && parsed.IsObject()) fields.CopyFrom(parsed, a);
      entry.AddMember("fieldsV1", fields, a);
    }
    if (!e.subresource.empty()) entry.AddMember("subresource", util::str(e.subresource, a), a);
    out.PushBack(entry, a);
  }
}

util::Status decodeMetadata(const Json& value, ObjectMeta& meta) {
  if (!value.IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("metadata: must be an object, got {}", util::typeName(value)));
  }
  std::vector<std::string> unknown;
  for (const auto& m : value.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const Json& v = m.value;
    if (name == "name") {
      RETURN_IF_ERROR(decodeString(v, "metadata.name", meta.name));
    } else if (name == "namespace") {
      RETURN_IF_ERROR(decodeString(v, "metadata.namespace", meta.namespace_));
    } else if (name == "uid") {
      RETURN_IF_ERROR(decodeString(v, "metadata.uid", meta.uid));
    } else if (name == "resourceVersion") {
      std::string rv;
      if (v.IsInt64()) {
        if (v.GetInt64() < 0) {
          return makeError(ErrorCode::BadRequest,
                           fmt::format("metadata.resourceVersion: {} is not a resource version this server "
                                       "issued (a decimal number)", v.GetInt64()));
        }
        meta.resource_version = v.GetInt64();
        continue;
      }
      RETURN_IF_ERROR(decodeString(v, "metadata.resourceVersion", rv));
      if (rv.empty()) continue;
      char* end = nullptr;
      long long parsed = std::strtoll(rv.c_str(), &end, 10);
      if (end == rv.c_str() || *end != '\0' || parsed < 0) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("metadata.resourceVersion: \"{}\" is not a resource version "
                                     "this server issued (a decimal number)", rv));
      }
      meta.resource_version = parsed;
    } else if (name == "generation") {
      if (v.IsInt64()) meta.generation = v.GetInt64();
    } else if (name == "creationTimestamp") {
      RETURN_IF_ERROR(decodeString(v, "metadata.creationTimestamp", meta.creation_timestamp));
    } else if (name == "deletionTimestamp") {
      std::string ts;
      RETURN_IF_ERROR(decodeString(v, "metadata.deletionTimestamp", ts));
      if (!ts.empty()) meta.deletion_timestamp = ts;
    } else if (name == "labels") {
      RETURN_IF_ERROR(decodeStringMap(v, "metadata.labels", meta.labels));
    } else if (name == "annotations") {
      RETURN_IF_ERROR(decodeStringMap(v, "metadata.annotations", meta.annotations));
    } else if (name == "finalizers") {
      if (v.IsNull()) continue;
      if (!v.IsArray()) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("metadata.finalizers: must be an array of strings, got {}",
                                     util::typeName(v)));
      }
      for (const auto& f : v.GetArray()) {
        if (!f.IsString()) {
          return makeError(ErrorCode::BadRequest, "metadata.finalizers: must be an array of strings");
        }
        meta.finalizers.emplace_back(f.GetString(), f.GetStringLength());
      }
    } else if (name == "managedFields") {
      RETURN_IF_ERROR(decodeManagedFields(v, meta.managed_fields));
    } else {
      unknown.emplace_back(name);
    }
  }
  if (!unknown.empty()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("metadata: unknown field(s) {}; known: name, namespace, labels, "
                                 "annotations, finalizers, resourceVersion, uid, generation, "
                                 "creationTimestamp, deletionTimestamp, managedFields",
                                 fmt::join(unknown, ", ")));
  }
  return {};
}

}  // namespace

const KindInfo& kindInfo(Kind kind) { return kKinds[static_cast<size_t>(kind)]; }
const std::vector<KindInfo>& allKinds() { return kServedKinds; }

std::optional<Kind> kindFromAnyName(std::string_view name) {
  if (name.empty()) return std::nullopt;  // a kind without a short name must not match ""
  for (const auto& k : kServedKinds) {
    if (iequals(name, k.name) || iequals(name, k.plural) || iequals(name, k.singular) ||
        iequals(name, k.short_name)) {
      return k.kind;
    }
  }
  return std::nullopt;
}

std::optional<Kind> kindFromPlural(std::string_view plural) {
  for (const auto& k : kServedKinds) {
    if (plural == k.plural) return k.kind;
  }
  return std::nullopt;
}

void encodeObject(const Object& o, Json& out, JsonAlloc& a) {
  out.SetObject();
  out.AddMember("apiVersion", util::str(kApiVersion, a), a);
  out.AddMember("kind", util::str(kindInfo(o.kind).name, a), a);
  Json meta(rapidjson::kObjectType);
  const ObjectMeta& m = o.metadata;
  meta.AddMember("name", util::str(m.name, a), a);
  if (!m.namespace_.empty()) meta.AddMember("namespace", util::str(m.namespace_, a), a);
  if (!m.uid.empty()) meta.AddMember("uid", util::str(m.uid, a), a);
  if (m.resource_version != 0) {
    meta.AddMember("resourceVersion", util::str(std::to_string(m.resource_version), a), a);
  }
  if (m.generation != 0) meta.AddMember("generation", Json(m.generation), a);
  if (!m.creation_timestamp.empty()) {
    meta.AddMember("creationTimestamp", util::str(m.creation_timestamp, a), a);
  }
  if (m.deletion_timestamp) meta.AddMember("deletionTimestamp", util::str(*m.deletion_timestamp, a), a);
  if (!m.labels.empty()) {
    Json labels;
    encodeStringMap(m.labels, labels, a);
    meta.AddMember("labels", labels, a);
  }
  if (!m.annotations.empty()) {
    Json annotations;
    encodeStringMap(m.annotations, annotations, a);
    meta.AddMember("annotations", annotations, a);
  }
  if (!m.finalizers.empty()) {
    Json finalizers(rapidjson::kArrayType);
    for (const auto& f : m.finalizers) finalizers.PushBack(util::str(f, a), a);
    meta.AddMember("finalizers", finalizers, a);
  }
  if (!m.managed_fields.empty()) {
    Json managed;
    encodeManagedFields(m.managed_fields, managed, a);
    meta.AddMember("managedFields", managed, a);
  }
  out.AddMember("metadata", meta, a);
  for (auto [name, text] : {std::pair<const char*, const std::string*>{"spec", &o.spec},
                            {"status", &o.status}}) {
    util::JsonDoc parsed;
    parsed.Parse(text->data(), text->size());
    Json copy;
    if (parsed.HasParseError() || !parsed.IsObject()) {
      copy.SetObject();
    } else {
      copy.CopyFrom(parsed, a);
    }
    out.AddMember(rapidjson::StringRef(name), copy, a);
  }
}

std::string encodeObject(const Object& object) {
  util::JsonDoc doc;
  encodeObject(object, doc, doc.GetAllocator());
  return util::toJson(doc);
}

util::Result<Object> decodeObject(const Json& value) {
  if (!value.IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("object: must be a JSON object, got {}", util::typeName(value)));
  }
  // Before anything recursive (serialising spec, comparing, copying) touches user input; YAML
  // bodies arrive here without the UTF-8 validation the JSON parser does.
  RETURN_IF_ERROR(checkJsonShape(value, "object"));
  Object object;
  bool has_kind = false;
  std::vector<std::string> unknown;
  for (const auto& m : value.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const Json& v = m.value;
    if (name == "apiVersion") {
      if (!v.IsString() || std::string_view(v.GetString(), v.GetStringLength()) != kApiVersion) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("apiVersion: must be \"{}\"", kApiVersion));
      }
    } else if (name == "kind") {
      std::string kind;
      RETURN_IF_ERROR(decodeString(v, "kind", kind));
      // By exact Kind name, internal kinds included: the store decodes its own objects here,
      // and the REST layer refuses any kind that differs from its URL's.
      auto found = std::find_if(kKinds.begin(), kKinds.end(),
                                [&](const KindInfo& k) { return k.name == kind; });
      std::optional<Kind> k;
      if (found != kKinds.end()) k = found->kind;
      if (!k) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("kind: \"{}\" is not one of ClusterTemplate, Cluster, "
                                     "NodeGroup, Event", kind));
      }
      object.kind = *k;
      has_kind = true;
    } else if (name == "metadata") {
      RETURN_IF_ERROR(decodeMetadata(v, object.metadata));
    } else if (name == "spec" || name == "status") {
      if (v.IsNull()) continue;
      if (!v.IsObject()) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("{}: must be an object, got {}", name, util::typeName(v)));
      }
      (name == "spec" ? object.spec : object.status) = util::toJson(v);
    } else {
      unknown.emplace_back(name);
    }
  }
  if (!unknown.empty()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("unknown field(s) {}; an object has apiVersion, kind, metadata, "
                                 "spec and status", fmt::join(unknown, ", ")));
  }
  if (!has_kind) {
    return makeError(ErrorCode::BadRequest,
                     "kind: required (one of ClusterTemplate, Cluster, NodeGroup)");
  }
  return object;
}

util::Result<Object> decodeObject(std::string_view json_text) {
  ASSIGN_OR_RETURN(auto doc, util::parseJson(json_text));
  return decodeObject(static_cast<const Json&>(doc));
}

}  // namespace magnumd::api
