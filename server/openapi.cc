#include "server/openapi.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cctype>
#include <utility>
#include <vector>

#include "api/schema.h"
#include "server/codec.h"
#include "server/request_context.h"
#include "server/version.h"

namespace magnumd::server {

namespace http = net::http;
using api::schema::Dialect;
using util::Json;
using util::JsonAlloc;

namespace {

Json str(std::string_view s, JsonAlloc& a) { return util::str(s, a); }

struct QueryParam {
  std::string_view name;
  std::string_view type;  // string | integer | boolean
  std::string_view description;
};

const QueryParam kPretty{"pretty", "string", "true: indent the JSON answer."};
const QueryParam kDryRun{"dryRun", "string", "All: check the request without storing anything."};
const QueryParam kFieldValidation{
    "fieldValidation", "string",
    "Strict, Warn or Ignore. magnumd refuses unknown and duplicate fields whichever is asked, "
    "with a 400 naming them (Strict)."};
const QueryParam kFieldManager{
    "fieldManager", "string",
    "The field manager to record the write under (metadata.managedFields); required for "
    "server-side apply. Without it a write is recorded under the User-Agent's product name."};
const QueryParam kForce{
    "force", "boolean",
    "Server-side apply only: take the fields other managers own instead of answering 409."};
const QueryParam kLabelSelector{
    "labelSelector", "string",
    "Only objects whose labels match: a=b,c!=d,e in (x,y),f notin (z),g,!h."};
const QueryParam kFieldSelector{"fieldSelector", "string",
                                "metadata.name or metadata.namespace with =, == or !=."};
const QueryParam kLimit{"limit", "integer",
                        "At most this many items; metadata.continue then asks for the rest."};
const QueryParam kContinue{"continue", "string", "The previous page's metadata.continue."};
const QueryParam kResourceVersion{"resourceVersion", "string",
                                  "With watch: stream the changes after this revision."};
const QueryParam kWatch{"watch", "boolean",
                        "Stream the changes as WatchEvents, one JSON object per line."};
const QueryParam kBookmarks{"allowWatchBookmarks", "boolean", "With watch: send BOOKMARK events."};
const QueryParam kTimeout{"timeoutSeconds", "integer",
                          "With watch: end the stream after this long."};

enum class Body { None, Object, Patch, ApplyPatch, DeleteOptions };
enum class Answer { Object, List };

struct Operation {
  std::string_view method;  // get | post | put | patch | delete
  std::string_view action;  // x-kubernetes-action
  std::string id;
  std::string description;
  std::vector<const QueryParam*> query;
  Body body = Body::None;
  Answer answer = Answer::Object;
  bool created = false;  // also answers 201
};

struct PathItem {
  std::string path;
  bool namespaced = false;
  bool named = false;
  std::vector<Operation> operations;
};

std::vector<PathItem> pathsOf(const api::KindInfo& info) {
  const std::string kind(info.name);
  const std::string prefix(kApiPrefix);
  const std::string id = "ContainerInfraV1";
  const std::vector<const QueryParam*> list_query = {&kLabelSelector, &kFieldSelector,   &kLimit,
                                                     &kContinue,      &kResourceVersion, &kWatch,
                                                     &kBookmarks,     &kTimeout,         &kPretty};
  const std::vector<const QueryParam*> write_query = {&kDryRun, &kFieldManager, &kFieldValidation,
                                                      &kPretty};
  const std::vector<const QueryParam*> apply_query = {&kDryRun, &kFieldManager, &kForce,
                                                      &kFieldValidation, &kPretty};
  std::vector<PathItem> out;
  out.push_back({fmt::format("{}/{}", prefix, info.plural),
                 false,
                 false,
                 {{"get", "list", fmt::format("list{}{}ForAllNamespaces", id, kind),
                   fmt::format("list or watch objects of kind {} in every namespace", kind),
                   list_query, Body::None, Answer::List}}});
  out.push_back(
      {fmt::format("{}/namespaces/{{namespace}}/{}", prefix, info.plural),
       true,
       false,
       {{"get", "list", fmt::format("list{}Namespaced{}", id, kind),
         fmt::format("list or watch objects of kind {}", kind), list_query, Body::None,
         Answer::List},
        {"post", "post", fmt::format("create{}Namespaced{}", id, kind),
         fmt::format("create a {}", kind), write_query, Body::Object, Answer::Object, true}}});
  out.push_back(
      {fmt::format("{}/namespaces/{{namespace}}/{}/{{name}}", prefix, info.plural),
       true,
       true,
       {{"get",
         "get",
         fmt::format("read{}Namespaced{}", id, kind),
         fmt::format("read the specified {}", kind),
         {&kPretty}},
        {"put", "put", fmt::format("replace{}Namespaced{}", id, kind),
         fmt::format("replace the specified {}", kind), write_query, Body::Object},
        {"patch", "patch", fmt::format("patch{}Namespaced{}", id, kind),
         fmt::format("partially update the specified {}", kind), apply_query, Body::ApplyPatch},
        {"delete",
         "delete",
         fmt::format("delete{}Namespaced{}", id, kind),
         fmt::format("delete a {}", kind),
         {&kDryRun, &kPretty},
         Body::DeleteOptions}}});
  out.push_back(
      {fmt::format("{}/namespaces/{{namespace}}/{}/{{name}}/status", prefix, info.plural),
       true,
       true,
       {{"get",
         "get",
         fmt::format("read{}Namespaced{}Status", id, kind),
         fmt::format("read status of the specified {}", kind),
         {&kPretty}},
        {"put", "put", fmt::format("replace{}Namespaced{}Status", id, kind),
         fmt::format("replace status of the specified {}", kind), write_query, Body::Object},
        {"patch", "patch", fmt::format("patch{}Namespaced{}Status", id, kind),
         fmt::format("partially update status of the specified {}", kind), write_query,
         Body::Patch}}});
  return out;
}

Json gvk(std::string_view kind, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("group", str(api::kApiGroup, a), a);
  out.AddMember("kind", str(kind, a), a);
  out.AddMember("version", "v1", a);
  return out;
}

Json ref(std::string_view definition, Dialect d, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("$ref", str(api::schema::refTo(definition, d), a), a);
  return out;
}

// A parameter: in v2 its type sits on it, in v3 in a schema.
Json parameter(std::string_view name, std::string_view in, std::string_view type,
               std::string_view description, bool required, Dialect d, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("name", str(name, a), a);
  out.AddMember("in", str(in, a), a);
  out.AddMember("description", str(description, a), a);
  if (required) out.AddMember("required", true, a);
  Json type_value = str(type, a);
  if (d == Dialect::V2) {
    out.AddMember("type", type_value, a);
  } else {
    Json schema(rapidjson::kObjectType);
    schema.AddMember("type", type_value, a);
    out.AddMember("schema", schema, a);
  }
  return out;
}

Json mediaTypes(const std::vector<std::string_view>& types, JsonAlloc& a) {
  Json out(rapidjson::kArrayType);
  for (auto t : types) out.PushBack(str(t, a), a);
  return out;
}

// v3 content: each media type with the same schema.
Json content(const std::vector<std::string_view>& types, std::string_view definition, Dialect d,
             JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  for (auto t : types) {
    Json media(rapidjson::kObjectType);
    media.AddMember("schema", ref(definition, d, a), a);
    out.AddMember(str(t, a), media, a);
  }
  return out;
}

struct BodyShape {
  std::string definition;
  std::vector<std::string_view> types;
  bool required = true;
};

BodyShape bodyShape(Body body, api::Kind kind) {
  switch (body) {
    case Body::Object:
      return {api::schema::definitionName(kind), {kJsonType, kYamlType}};
    case Body::Patch:
      // No strategic merge patch: kubectl then sends a JSON merge patch, as for a CRD.
      return {std::string(api::schema::kPatch), {kMergePatchType, kJsonPatchType}};
    case Body::ApplyPatch:
      return {std::string(api::schema::kPatch),
              {kMergePatchType, kJsonPatchType, kApplyPatchType}};
    case Body::DeleteOptions:
      return {std::string(api::schema::kDeleteOptions), {kJsonType}, false};
    case Body::None:
      break;
  }
  return {};
}

Json operation(const Operation& op, api::Kind kind, Dialect d, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("tags", mediaTypes({"containerInfra_v1"}, a), a);
  out.AddMember("description", str(op.description, a), a);
  out.AddMember("operationId", str(op.id, a), a);
  const std::vector<std::string_view> produces = {kJsonType, kYamlType};
  BodyShape body = bodyShape(op.body, kind);
  if (d == Dialect::V2) {
    if (op.body != Body::None) out.AddMember("consumes", mediaTypes(body.types, a), a);
    std::vector<std::string_view> types = produces;
    if (op.answer == Answer::List) types.push_back(kWatchType);
    out.AddMember("produces", mediaTypes(types, a), a);
    out.AddMember("schemes", mediaTypes({"https"}, a), a);
  }
  Json parameters(rapidjson::kArrayType);
  if (op.body != Body::None && d == Dialect::V2) {
    Json p(rapidjson::kObjectType);
    p.AddMember("name", "body", a);
    p.AddMember("in", "body", a);
    if (body.required) p.AddMember("required", true, a);
    p.AddMember("schema", ref(body.definition, d, a), a);
    parameters.PushBack(p, a);
  }
  for (const QueryParam* q : op.query) {
    parameters.PushBack(parameter(q->name, "query", q->type, q->description, false, d, a), a);
  }
  out.AddMember("parameters", parameters, a);
  if (op.body != Body::None && d == Dialect::V3) {
    Json request(rapidjson::kObjectType);
    request.AddMember("content", content(body.types, body.definition, d, a), a);
    if (body.required) request.AddMember("required", true, a);
    out.AddMember("requestBody", request, a);
  }
  std::string answer = api::schema::definitionName(kind, op.answer == Answer::List);
  Json responses(rapidjson::kObjectType);
  auto respond = [&](std::string_view code, std::string_view description) {
    Json r(rapidjson::kObjectType);
    r.AddMember("description", str(description, a), a);
    if (d == Dialect::V2) {
      r.AddMember("schema", ref(answer, d, a), a);
    } else {
      Json c = content(produces, answer, d, a);
      if (op.answer == Answer::List) {
        Json watch(rapidjson::kObjectType);
        watch.AddMember("schema", ref(api::schema::kWatchEvent, d, a), a);
        c.AddMember(str(kWatchType, a), watch, a);
      }
      r.AddMember("content", c, a);
    }
    responses.AddMember(str(code, a), r, a);
  };
  respond("200", "OK");
  if (op.created) respond("201", "Created");
  Json unauthorized(rapidjson::kObjectType);
  unauthorized.AddMember("description", "Unauthorized", a);
  responses.AddMember("401", unauthorized, a);
  out.AddMember("responses", responses, a);
  out.AddMember("x-kubernetes-action", str(op.action, a), a);
  out.AddMember("x-kubernetes-group-version-kind", gvk(api::kindInfo(kind).name, a), a);
  return out;
}

Json paths(Dialect d, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  for (const auto& info : api::allKinds()) {
    for (const PathItem& item : pathsOf(info)) {
      Json path(rapidjson::kObjectType);
      for (const Operation& op : item.operations) {
        path.AddMember(str(op.method, a), operation(op, info.kind, d, a), a);
      }
      Json parameters(rapidjson::kArrayType);
      if (item.named) {
        parameters.PushBack(parameter("name", "path", "string",
                                      fmt::format("name of the {}", info.name), true, d, a),
                            a);
      }
      if (item.namespaced) {
        parameters.PushBack(
            parameter("namespace", "path", "string",
                      "object name and auth scope, such as for teams and projects", true, d, a),
            a);
      }
      if (!parameters.Empty()) path.AddMember("parameters", parameters, a);
      out.AddMember(str(item.path, a), path, a);
    }
  }
  return out;
}

Json info(JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("title", "magnumd", a);
  out.AddMember("version", str(buildInfo().version, a), a);
  return out;
}

Json bearerScheme(JsonAlloc& a) {
  Json scheme(rapidjson::kObjectType);
  scheme.AddMember("type", "apiKey", a);
  scheme.AddMember("name", "authorization", a);
  scheme.AddMember("in", "header", a);
  scheme.AddMember("description", "Bearer token: \"Authorization: Bearer TOKEN\".", a);
  Json out(rapidjson::kObjectType);
  out.AddMember("BearerToken", scheme, a);
  return out;
}

Json security(JsonAlloc& a) {
  Json one(rapidjson::kObjectType);
  one.AddMember("BearerToken", Json(rapidjson::kArrayType), a);
  Json out(rapidjson::kArrayType);
  out.PushBack(one, a);
  return out;
}

std::string sha512Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha512(), nullptr);
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02X}", digest[i]);
  return out;
}

OpenApiDocument finish(const Json& doc) {
  OpenApiDocument out{util::toJson(doc), ""};
  out.etag = sha512Hex(out.json);
  return out;
}

std::string groupVersionUrl() {
  return fmt::format("{}/{}?hash={}", kOpenApiV3Path, kOpenApiGroupVersion,
                     openApiV3GroupVersion().etag);
}

// JSON is acceptable unless every alternative Accept lists is something else (kubectl asks for
// /openapi/v2 in protobuf only).
bool acceptsJson(std::string_view accept) {
  if (accept.find_first_not_of(" \t") == std::string_view::npos) return true;
  size_t pos = 0;
  while (pos <= accept.size()) {
    size_t comma = accept.find(',', pos);
    std::string type =
        mediaType(accept.substr(pos, comma == std::string_view::npos ? accept.npos : comma - pos));
    if (type == "application/json" || type == "application/*" || type == "*/*") return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

bool etagMatches(std::string_view if_none_match, std::string_view quoted) {
  size_t pos = 0;
  while (pos <= if_none_match.size()) {
    size_t comma = if_none_match.find(',', pos);
    std::string_view tag = if_none_match.substr(
        pos, comma == std::string_view::npos ? if_none_match.npos : comma - pos);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.front())))
      tag.remove_prefix(1);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back())))
      tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == quoted) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

const OpenApiDocument& openApiV2() {
  static const OpenApiDocument kDocument = [] {
    util::JsonDoc doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("swagger", "2.0", a);
    doc.AddMember("info", info(a), a);
    doc.AddMember("paths", paths(Dialect::V2, a), a);
    Json definitions(rapidjson::kObjectType);
    api::schema::addDefinitions(definitions, a, Dialect::V2);
    doc.AddMember("definitions", definitions, a);
    doc.AddMember("securityDefinitions", bearerScheme(a), a);
    doc.AddMember("security", security(a), a);
    return finish(doc);
  }();
  return kDocument;
}

const OpenApiDocument& openApiV3GroupVersion() {
  static const OpenApiDocument kDocument = [] {
    util::JsonDoc doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("openapi", "3.0.0", a);
    doc.AddMember("info", info(a), a);
    doc.AddMember("paths", paths(Dialect::V3, a), a);
    Json schemas(rapidjson::kObjectType);
    api::schema::addDefinitions(schemas, a, Dialect::V3);
    Json components(rapidjson::kObjectType);
    components.AddMember("schemas", schemas, a);
    components.AddMember("securitySchemes", bearerScheme(a), a);
    doc.AddMember("components", components, a);
    doc.AddMember("security", security(a), a);
    return finish(doc);
  }();
  return kDocument;
}

const OpenApiDocument& openApiV3Index() {
  static const OpenApiDocument kDocument = [] {
    util::JsonDoc doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    Json entry(rapidjson::kObjectType);
    entry.AddMember("serverRelativeURL", str(groupVersionUrl(), a), a);
    Json entries(rapidjson::kObjectType);
    entries.AddMember(str(kOpenApiGroupVersion, a), entry, a);
    doc.AddMember("paths", entries, a);
    return finish(doc);
  }();
  return kDocument;
}

bool isOpenApiPath(std::string_view path) {
  return path == kOpenApiV2Path || path == kOpenApiV3Path ||
         path.substr(0, kOpenApiV3Path.size() + 1) == std::string(kOpenApiV3Path) + "/";
}

net::Response openApiResponse(const net::Request& request, std::string_view path,
                              const QueryParams& query) {
  const std::string group_version_path = fmt::format("{}/{}", kOpenApiV3Path, kOpenApiGroupVersion);
  const OpenApiDocument* doc = nullptr;
  if (path == kOpenApiV2Path) {
    doc = &openApiV2();
  } else if (path == kOpenApiV3Path || path == std::string(kOpenApiV3Path) + "/") {
    doc = &openApiV3Index();
  } else if (path == group_version_path) {
    doc = &openApiV3GroupVersion();
  } else {
    return statusResponse(util::makeError(
        util::ErrorCode::NotFound,
        fmt::format("the server could not find the requested resource {}; {} lists the "
                    "OpenAPI documents it has",
                    path, kOpenApiV3Path)));
  }
  if (!acceptsJson(request[http::field::accept])) {
    return statusResponse(
        util::makeError(util::ErrorCode::NotAcceptable,
                        fmt::format("{} is served as application/json only, not as {}", path,
                                    std::string(request[http::field::accept]))));
  }
  const std::string etag = fmt::format("\"{}\"", doc->etag);
  net::Response res{http::status::ok, 11};
  res.set(http::field::etag, etag);
  res.set(http::field::vary, "Accept");
  res.set(http::field::cache_control, "no-cache, private");
  if (doc == &openApiV3GroupVersion()) {
    auto hash = stringParam(query, "hash");
    if (!hash.empty() && hash != doc->etag) {
      res.result(http::status::moved_permanently);
      res.set(http::field::location, groupVersionUrl());
      return res;
    }
    // The hash names this very content: clients may keep it for good.
    if (!hash.empty()) res.set(http::field::cache_control, "public, max-age=31536000, immutable");
  }
  if (etagMatches(request[http::field::if_none_match], etag)) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, kJsonType);
  res.body() = doc->json;
  return res;
}

}  // namespace magnumd::server
