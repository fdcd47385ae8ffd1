// Magnum v1 quotas (magnum/api/controllers/v1/quota.py): Quota objects, one per project and
// resource, written by admins; a project without one shows the configured default.
#include <fmt/format.h>

#include "api/quota.h"
#include "server/magnum_api.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"

namespace magnumd::server::magnum {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

// Magnum's quota id is a database row number; here a stable number from the object's uid.
int64_t idOf(const std::string& uid) {
  int64_t id = 0;
  for (char c : uid.substr(0, 7))
    id = id * 16 + (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10);
  return id;
}

Json render(const std::string& project, std::string_view resource, int64_t hard_limit,
            const api::Object* object, util::JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  out.AddMember("id", object ? Json(idOf(object->metadata.uid)) : Json(), a);
  out.AddMember("project_id", util::str(project, a), a);
  out.AddMember("resource", util::str(resource, a), a);
  out.AddMember("hard_limit", hard_limit, a);
  out.AddMember("created_at",
                object ? util::str(magnumTime(object->metadata.creation_timestamp), a) : Json(), a);
  out.AddMember("updated_at", Json(), a);
  return out;
}

util::Result<api::QuotaSpec> specOf(const api::Object& object) {
  return api::decodeQuotaSpec(object.spec);
}

// Magnum's resource names are capitalised ("Cluster"); accept any case.
std::optional<std::string_view> resourceOf(std::string_view text) {
  for (std::string_view r : api::quotaResources()) {
    if (api::quotaObjectName(r) == api::quotaObjectName(text)) return r;
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<net::Response> MagnumApi::quotas(Call& call, std::string_view project,
                                                 std::string_view resource_text) {
  const http::verb method = call.request.method();
  // Magnum's quota rules by operation; a project's caller reads only its own (below).
  std::string_view rule = method == http::verb::get
                              ? (project.empty() ? "quota:get_all" : "quota:get")
                          : method == http::verb::post    ? "quota:create"
                          : method == http::verb::patch   ? "quota:update"
                          : method == http::verb::delete_ ? "quota:delete"
                                                          : "";
  if (!rule.empty()) {
    if (auto ok = call.enforce(rule); !ok.ok()) co_return errorResponse(ok.error(), &call.version);
  }
  if (project.empty()) {
    if (method == http::verb::get) {
      // Every project for an identity of every namespace (Magnum's all_tenants), else its own.
      store::ListOptions options;
      options.kind = api::Kind::Quota;
      options.namespace_ = call.project();
      auto listed = store_.list(options);
      if (!listed.ok()) co_return errorResponse(listed.error(), &call.version);
      util::JsonDoc doc;
      doc.SetObject();
      auto& a = doc.GetAllocator();
      Json items(rapidjson::kArrayType);
      for (const auto& q : listed->items) {
        auto spec = specOf(q);
        if (spec.ok())
          items.PushBack(render(q.metadata.namespace_, spec->resource, spec->hard_limit, &q, a), a);
      }
      doc.AddMember("quotas", items, a);
      co_return call.json(http::status::ok, doc);
    }
    if (method != http::verb::post) co_return call.methodNotAllowed();
  }
  util::JsonDoc body;
  std::string body_project, body_resource;  // what `project` and `resource_text` point at
  if (method == http::verb::post || method == http::verb::patch) {
    auto parsed = util::parseJson(call.request.body());
    if (!parsed.ok() || !parsed->IsObject()) {
      co_return errorResponse(makeError(ErrorCode::BadRequest,
                                        "the request body must be {\"project_id\", \"resource\", "
                                        "\"hard_limit\"}"),
                              &call.version);
    }
    body = std::move(parsed).value();
    if (project.empty()) {
      body_project = util::stringMember(body, "project_id").value_or("");
      body_resource = util::stringMember(body, "resource").value_or("");
      project = body_project;
      resource_text = body_resource;
    }
  }
  std::string project_id(project);
  auto resource = resourceOf(resource_text);
  if (project_id.empty() || !resource) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      fmt::format("Invalid input for field/attribute resource. "
                                                  "Value: '{}'. Value should be one of: Cluster, "
                                                  "Node",
                                                  resource_text)),
                            &call.version);
  }
  if (!call.project().empty() && project_id != call.project()) {
    co_return errorResponse(makeError(ErrorCode::Forbidden,
                                      fmt::format("Policy doesn't allow quota to be performed for "
                                                  "project {}.",
                                                  project_id)),
                            &call.version);
  }
  ResourcePath path{api::Kind::Quota, project_id, api::quotaObjectName(*resource)};
  auto existing = store_.get({api::Kind::Quota, project_id, path.name});
  util::JsonDoc doc;
  auto show = [&](const api::Object& q, http::status status) {
    auto spec = specOf(q);
    doc.CopyFrom(
        render(project_id, *resource, spec.ok() ? spec->hard_limit : 0, &q, doc.GetAllocator()),
        doc.GetAllocator());
    return call.json(status, doc);
  };
  switch (method) {
    case http::verb::get: {
      if (auto allowed = call.authorize(Verb::Get, api::Kind::Quota, path.name, project_id);
          !allowed.ok()) {
        co_return errorResponse(allowed.error(), &call.version);
      }
      if (existing.ok()) co_return show(*existing, http::status::ok);
      ProjectUsage limits = resources_.quotas().limits(project_id);
      int64_t fallback = *resource == api::kQuotaCluster ? limits.clusters : limits.nodes;
      doc.CopyFrom(render(project_id, *resource, fallback, nullptr, doc.GetAllocator()),
                   doc.GetAllocator());
      co_return call.json(http::status::ok, doc);
    }
    case http::verb::post:
    case http::verb::patch: {
      auto limit = util::intMember(body, "hard_limit");
      if (!limit || *limit < 0) {
        co_return errorResponse(makeError(ErrorCode::BadRequest,
                                          "Invalid input for field/attribute hard_limit: a whole "
                                          "number of at least 0 is required"),
                                &call.version);
      }
      api::Object quota = existing.ok() ? *existing : api::Object{};
      if (method == http::verb::post && existing.ok()) {
        co_return errorResponse(
            makeError(ErrorCode::Conflict, fmt::format("Quota for project {} already exists for "
                                                       "resource {}.",
                                                       project_id, *resource)),
            &call.version);
      }
      if (method == http::verb::patch && !existing.ok()) {
        co_return errorResponse(
            makeError(ErrorCode::NotFound,
                      fmt::format("Quota could not be found: {}/{}", project_id, *resource)),
            &call.version);
      }
      quota.kind = api::Kind::Quota;
      quota.metadata.namespace_ = project_id;
      quota.metadata.name = path.name;
      quota.spec = api::encodeQuotaSpec(api::QuotaSpec{std::string(*resource), *limit});
      auto written =
          co_await write(call, existing.ok() ? Verb::Update : Verb::Create,
                         existing.ok() ? path : ResourcePath{api::Kind::Quota, project_id},
                         api::encodeObject(quota), "application/json");
      if (!written.ok()) co_return errorResponse(written.error(), &call.version);
      co_return show(*written,
                     method == http::verb::post ? http::status::created : http::status::accepted);
    }
    case http::verb::delete_: {
      if (!existing.ok()) co_return errorResponse(existing.error(), &call.version);
      auto removed = co_await write(call, Verb::Delete, path, "", "application/json");
      if (!removed.ok()) co_return errorResponse(removed.error(), &call.version);
      net::Response res{http::status::no_content, 11};
      res.prepare_payload();
      co_return res;
    }
    default:
      co_return call.methodNotAllowed();
  }
}

}  // namespace magnumd::server::magnum
