// Magnum v1 writes: each becomes the /apis write it stands for (create, merge patch, PUT,
// delete) and runs through ResourceHandlers, so admission, authorization, managedFields and the
// store's limits are the same whichever API a client uses. Creates, deletes and the cluster
// actions (resize, upgrade) are here; PATCH, with Magnum's JSON Patch rules, in
// magnum_api_patch.cc.
#include <fmt/format.h>

#include <algorithm>

#include "api/nodegroup.h"
#include "server/magnum_api.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"
#include "server/magnum_writes.h"
#include "util/time.h"

namespace magnumd::server::magnum {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

// The error code /apis answered with: the first whose HTTP code is `status` (util::httpCodeOf is
// the one table of both directions).
ErrorCode codeOf(unsigned status) {
  for (int c = static_cast<int>(ErrorCode::BadRequest); c <= static_cast<int>(ErrorCode::Timeout);
       ++c) {
    if (util::httpCodeOf(static_cast<ErrorCode>(c)) == static_cast<int>(status)) {
      return static_cast<ErrorCode>(c);
    }
  }
  return ErrorCode::Internal;
}

}  // namespace

util::Result<util::JsonDoc> parseBody(const Call& call) {
  auto doc = util::parseJson(call.request.body());
  if (!doc.ok()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("The request body is not valid JSON: {}", doc.error().message));
  }
  return doc;
}

net::Response accepted(const std::string& uid) {
  net::Response res{http::status::accepted, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = fmt::format(R"({{"uuid":"{}"}})", uid);
  res.prepare_payload();
  return res;
}

std::string mergePatch(std::string_view section, const Json& members) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember(util::str(section, a), Json(members, a), a);
  return util::toJson(doc);
}

std::string templateRef(const api::Object& tmpl, const std::string& namespace_) {
  return tmpl.metadata.namespace_ == namespace_
             ? tmpl.metadata.name
             : fmt::format("{}/{}", tmpl.metadata.namespace_, tmpl.metadata.name);
}

util::Error errorOf(const net::Response& response) {
  std::string message = fmt::format("HTTP {}", response.result_int());
  if (auto doc = util::parseJson(response.body()); doc.ok()) {
    if (auto text = util::stringMember(*doc, "message")) message = *text;
  }
  return makeError(codeOf(response.result_int()), std::move(message));
}

asio::awaitable<net::Response> MagnumApi::forward(const Call& call, Verb verb,
                                                  const ResourcePath& path, QueryParams query,
                                                  std::string body, std::string_view content_type) {
  if (auto allowed = server::authorize(*call.identity, verb, path); !allowed.ok()) {
    co_return statusResponse(allowed.error());
  }
  http::verb method = verb == Verb::Create   ? http::verb::post
                      : verb == Verb::Update ? http::verb::put
                      : verb == Verb::Patch  ? http::verb::patch
                      : verb == Verb::Delete ? http::verb::delete_
                                             : http::verb::get;
  std::string target = fmt::format("{}/namespaces/{}/{}", kApiPrefix, path.namespace_,
                                   api::kindInfo(path.kind).plural);
  if (!path.name.empty()) target += "/" + path.name;
  if (!path.resource().ends_with(api::kindInfo(path.kind).plural)) {
    target += path.resource().substr(api::kindInfo(path.kind).plural.size());
  }
  net::Request request{method, target, 11};
  if (!body.empty()) request.set(http::field::content_type, content_type);
  request.set(http::field::accept, "application/json");
  request.set(http::field::user_agent, call.request[http::field::user_agent]);
  request.body() = std::move(body);
  request.prepare_payload();
  RequestContext ctx{request, path, std::move(query), *call.identity};
  ctx.verb = verb;
  if (path.credentials()) co_return co_await credentials_.handle(ctx);
  switch (verb) {
    case Verb::Create:
      co_return co_await resources_.create(ctx);
    case Verb::Update:
      co_return co_await resources_.replace(ctx);
    case Verb::Patch:
      co_return co_await resources_.patch(ctx);
    case Verb::Delete:
      co_return co_await resources_.remove(ctx);
    default:
      co_return resources_.get(ctx);
  }
}

asio::awaitable<util::Result<api::Object>> MagnumApi::write(const Call& call, Verb verb,
                                                            ResourcePath path, std::string body,
                                                            std::string_view content_type) {
  net::Response response = co_await forward(call, verb, path, {}, std::move(body), content_type);
  if (response.result_int() >= 300) co_return errorOf(response);
  if (verb == Verb::Delete) co_return api::Object{};
  co_return api::decodeObject(response.body());
}

asio::awaitable<net::Response> MagnumApi::createTemplate(Call& call) {
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  if (!body->IsObject()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "the request body must be an object"),
                            &call.version);
  }
  if (auto ok = call.enforce("clustertemplate:create"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  std::string name = util::stringMember(*body, "name").value_or("");
  if (name.empty()) name = "template-" + util::newUuid().substr(0, 8);
  if (auto ok = checkMagnumName(name, "ClusterTemplate"); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  const bool publish = util::boolMember(*body, "public").value_or(false) ||
                       util::boolMember(*body, "hidden").value_or(false);
  if (publish && !call.policy->allows("clustertemplate:publish", *call.identity)) {
    co_return errorResponse(makeError(ErrorCode::Forbidden,
                                      "Policy doesn't allow clustertemplate:publish to be "
                                      "performed."),
                            &call.version);
  }
  api::Object object;
  object.kind = api::Kind::ClusterTemplate;
  object.metadata.namespace_ = call.createNamespace();
  object.metadata.name = objectNameFor(name);
  if (object.metadata.name != name)
    object.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
  if (auto ok = applyAttributes(object.kind, *body, object,
                                [&](const Field& f) {
                                  return f.create && call.version >= Microversion{1, f.since_minor};
                                });
      !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_};
  auto created =
      co_await write(call, Verb::Create, path, api::encodeObject(object), "application/json");
  if (!created.ok()) co_return errorResponse(created.error(), &call.version);
  net::Response res = show(call, *created);
  res.result(http::status::created);
  res.set(http::field::location,
          fmt::format("{}/v1/clustertemplates/{}", call.base_url, created->metadata.uid));
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::createCluster(Call& call) {
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  if (!body->IsObject()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "the request body must be an object"),
                            &call.version);
  }
  if (auto ok = call.enforce("cluster:create"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  std::string name = util::stringMember(*body, "name").value_or("");
  if (name.empty()) name = "cluster-" + util::newUuid().substr(0, 8);
  if (auto ok = checkMagnumName(name, "Cluster"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  auto template_id = util::stringMember(*body, "cluster_template_id");
  if (!template_id) {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, "Mandatory field missing: cluster_template_id"),
        &call.version);
  }
  auto tmpl = find(call, api::Kind::ClusterTemplate, *template_id);
  if (!tmpl.ok()) {  // Magnum answers 400 for a template that a create names but cannot find
    co_return errorResponse(makeError(ErrorCode::BadRequest, tmpl.error().message), &call.version);
  }
  if (auto count = util::intMember(*body, "node_count");
      count && *count == 0 && call.version < kZeroNodes) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      "node_count must be greater than 0 before API version 1.10"),
                            &call.version);
  }
  api::Object object;
  object.kind = api::Kind::Cluster;
  object.metadata.namespace_ = call.createNamespace();
  object.metadata.name = objectNameFor(name);
  if (object.metadata.name != name)
    object.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
  object.spec =
      fmt::format(R"({{"clusterTemplate":{}}})",
                  util::toJson(Json(templateRef(*tmpl, object.metadata.namespace_).c_str(),
                                    util::JsonDoc().GetAllocator())));
  if (auto ok =
          applyAttributes(object.kind, *body, object, [](const Field& f) { return f.create; });
      !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_};
  auto created =
      co_await write(call, Verb::Create, path, api::encodeObject(object), "application/json");
  if (!created.ok()) co_return errorResponse(created.error(), &call.version);
  co_return accepted(created->metadata.uid);
}

asio::awaitable<net::Response> MagnumApi::createNodeGroup(Call& call, const api::Object& cluster) {
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  if (!body->IsObject()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "the request body must be an object"),
                            &call.version);
  }
  if (auto ok = call.enforce("nodegroup:create"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  std::string name = util::stringMember(*body, "name").value_or("");
  if (auto ok = checkMagnumName(name, "NodeGroup"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  if (util::stringMember(*body, "role") == "master") {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, "Creating master nodegroups is currently not supported."),
        &call.version);
  }
  if (find(call, api::Kind::NodeGroup, name, cluster.metadata.name).ok()) {
    co_return errorResponse(
        makeError(ErrorCode::Conflict, fmt::format("A node group with name {} already exists in "
                                                   "the cluster {}.",
                                                   name, magnumName(cluster))),
        &call.version);
  }
  api::Object object;
  object.kind = api::Kind::NodeGroup;
  object.metadata.namespace_ = cluster.metadata.namespace_;
  object.metadata.name = objectNameFor(fmt::format("{}-{}", cluster.metadata.name, name));
  object.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
  object.spec = fmt::format(R"({{"cluster":"{}"}})", cluster.metadata.name);
  if (auto ok = applyAttributes(object.kind, *body, object,
                                [&](const Field& f) {
                                  return f.create && call.version >= Microversion{1, f.since_minor};
                                });
      !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_};
  auto created =
      co_await write(call, Verb::Create, path, api::encodeObject(object), "application/json");
  if (!created.ok()) co_return errorResponse(created.error(), &call.version);
  net::Response res = show(call, *created);
  res.result(http::status::accepted);
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::remove(Call& call, const api::Object& object) {
  if (object.kind != api::Kind::NodeGroup) {  // Magnum has no nodegroup:delete_all_projects
    if (auto ok = call.enforceAllProjects(policyRule(object.kind, "delete_all_projects"));
        !ok.ok()) {
      co_return errorResponse(ok.error(), &call.version);
    }
  }
  if (auto ok = call.enforce(policyRule(object.kind, "delete"), &object); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_, object.metadata.name};
  auto removed = co_await write(call, Verb::Delete, path, "", "application/json");
  if (!removed.ok() && object.kind == api::Kind::ClusterTemplate &&
      util::httpCodeOf(removed.error().code) == 409) {
    // Magnum's ClusterTemplateReferenced is a 400 (magnum/common/exception.py).
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, fmt::format("ClusterTemplate {} is referenced by one or "
                                                     "multiple clusters. ({})",
                                                     magnumName(object), removed.error().message)),
        &call.version);
  }
  if (!removed.ok()) co_return errorResponse(removed.error(), &call.version);
  net::Response res{http::status::no_content, 11};
  res.prepare_payload();
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::resize(Call& call, const api::Object& cluster) {
  if (auto ok = call.enforce("cluster:resize", &cluster); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  auto count = body->IsObject() ? util::intMember(*body, "node_count") : std::nullopt;
  if (!count || *count < 0) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      "Invalid input for field/attribute node_count: a whole "
                                      "number of at least 0 is required"),
                            &call.version);
  }
  if (*count == 0 && call.version < kZeroNodes) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      "node_count must be greater than 0 before API version 1.10"),
                            &call.version);
  }
  std::string group_name =
      util::stringMember(*body, "nodegroup").value_or(std::string(api::kDefaultWorkerNodeGroup));
  // default-worker follows the cluster's nodeCount; its NodeGroup object (made by the cluster's
  // reconciler) only carries nodes_to_remove, when it exists yet.
  const bool default_worker = group_name == api::kDefaultWorkerNodeGroup;
  auto group = find(call, api::Kind::NodeGroup, group_name, cluster.metadata.name);
  if (!group.ok() && !default_worker) co_return errorResponse(group.error(), &call.version);
  if (group.ok()) {
    auto spec = util::parseJson(group->spec);
    if (spec.ok() && util::stringMember(*spec, "role") == api::kRoleMaster) {
      co_return errorResponse(
          makeError(ErrorCode::BadRequest, "Resizing a master nodegroup is not supported."),
          &call.version);
    }
    util::JsonDoc changes;
    changes.SetObject();
    auto& a = changes.GetAllocator();
    if (const Json* remove = util::member(*body, "nodes_to_remove"); remove && remove->IsArray()) {
      changes.AddMember("nodesToRemove", Json(*remove, a), a);
    }
    if (!default_worker) changes.AddMember("nodeCount", Json(*count), a);
    if (changes.MemberCount() > 0) {
      ResourcePath group_path{api::Kind::NodeGroup, group->metadata.namespace_,
                              group->metadata.name};
      auto updated = co_await write(call, Verb::Patch, group_path, mergePatch("spec", changes),
                                    "application/merge-patch+json");
      if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
    }
  }
  if (default_worker) {  // default-worker follows the cluster's nodeCount
    ResourcePath path{api::Kind::Cluster, cluster.metadata.namespace_, cluster.metadata.name};
    auto updated = co_await write(call, Verb::Patch, path,
                                  fmt::format(R"({{"spec":{{"nodeCount":{}}}}})", *count),
                                  "application/merge-patch+json");
    if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
  }
  co_return accepted(cluster.metadata.uid);
}

asio::awaitable<net::Response> MagnumApi::upgrade(Call& call, const api::Object& cluster) {
  if (auto ok = call.enforceAllProjects("cluster:upgrade_all_projects"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  if (auto ok = call.enforce("cluster:upgrade", &cluster); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  auto template_id =
      body->IsObject() ? util::stringMember(*body, "cluster_template") : std::nullopt;
  if (!template_id) {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, "Mandatory field missing: cluster_template"),
        &call.version);
  }
  auto tmpl = find(call, api::Kind::ClusterTemplate, *template_id);
  if (!tmpl.ok()) co_return errorResponse(tmpl.error(), &call.version);
  int64_t batch = util::intMember(*body, "max_batch_size").value_or(1);
  if (batch < 1) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "max_batch_size must be at least 1"),
                            &call.version);
  }
  std::shared_ptr<const api::Object> current = parentOf(cluster);
  if (auto group = util::stringMember(*body, "nodegroup");
      group && *group != api::kDefaultWorkerNodeGroup && *group != api::kDefaultMasterNodeGroup &&
      (!current || current->metadata.uid != tmpl->metadata.uid)) {
    co_return errorResponse(
        makeError(ErrorCode::Conflict, fmt::format("Cluster template {} is not valid for the "
                                                   "upgrade of node group {}: a non-default node "
                                                   "group follows its cluster's template.",
                                                   *template_id, *group)),
        &call.version);
  }
  util::JsonDoc spec;
  spec.SetObject();
  auto& a = spec.GetAllocator();
  spec.AddMember("clusterTemplate", util::str(templateRef(*tmpl, cluster.metadata.namespace_), a),
                 a);
  Json rollout(rapidjson::kObjectType);
  rollout.AddMember("maxBatchSize", Json(batch), a);
  spec.AddMember("rolloutStrategy", rollout, a);
  ResourcePath path{api::Kind::Cluster, cluster.metadata.namespace_, cluster.metadata.name};
  auto updated = co_await write(call, Verb::Patch, path, mergePatch("spec", spec),
                                "application/merge-patch+json");
  if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
  co_return accepted(cluster.metadata.uid);
}

}  // namespace magnumd::server::magnum
