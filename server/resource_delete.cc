#include <fmt/format.h>

#include "api/admission.h"
#include "api/nodegroup.h"
#include "server/references.h"
#include "server/resources.h"
#include "util/time.h"

namespace magnumd::server {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::makeError;

namespace {

struct DeleteOptions {
  int64_t resource_version = 0;
  std::string uid;
  bool dry_run = false;
};

// The optional DeleteOptions body (kube's meta/v1 DeleteOptions subset) plus ?dryRun=All.
util::Result<DeleteOptions> parseDeleteOptions(const RequestContext& ctx) {
  DeleteOptions out;
  if (auto it = ctx.query.find("dryRun"); it != ctx.query.end() && !it->second.empty()) {
    if (it->second != "All") {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("dryRun: unsupported value \"{}\"; the only value is All", it->second));
    }
    out.dry_run = true;
  }
  const std::string& body = ctx.request.body();
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return out;
  ASSIGN_OR_RETURN(auto doc, decodeBody(ctx.request[http::field::content_type], body));
  if (!doc.IsObject()) return makeError(ErrorCode::BadRequest, "DeleteOptions: must be an object");
  for (const auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name == "kind" || name == "apiVersion" || name == "propagationPolicy" ||
        name == "gracePeriodSeconds" || name == "orphanDependents") {
      continue;  // accepted for kubectl compatibility; deletion is always finalizer-driven
    }
    if (name == "dryRun") {
      if (!m.value.IsArray()) return makeError(ErrorCode::BadRequest, "DeleteOptions.dryRun: must be [\"All\"]");
      for (const auto& v : m.value.GetArray()) {
        if (!v.IsString() || std::string_view(v.GetString()) != "All") {
          return makeError(ErrorCode::BadRequest, "DeleteOptions.dryRun: the only value is \"All\"");
        }
        out.dry_run = true;
      }
    } else if (name == "preconditions") {
      if (!m.value.IsObject()) {
        return makeError(ErrorCode::BadRequest, "DeleteOptions.preconditions: must be an object");
      }
      for (const auto& p : m.value.GetObject()) {
        std::string_view key(p.name.GetString(), p.name.GetStringLength());
        if (key == "uid" && p.value.IsString()) {
          out.uid = p.value.GetString();
        } else if (key == "resourceVersion" && p.value.IsString()) {
          char* end = nullptr;
          out.resource_version = std::strtoll(p.value.GetString(), &end, 10);
          if (*end != '\0' || out.resource_version <= 0) {
            return makeError(ErrorCode::BadRequest,
                             "DeleteOptions.preconditions.resourceVersion: must be a resource "
                             "version this server issued");
          }
        } else {
          return makeError(ErrorCode::BadRequest,
                           fmt::format("DeleteOptions.preconditions: unknown or mistyped field \"{}\"; "
                                       "known: uid, resourceVersion (strings)",
                                       key));
        }
      }
    } else {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("DeleteOptions: unknown field \"{}\"; known: preconditions, "
                                   "dryRun, propagationPolicy, gracePeriodSeconds",
                                   name));
    }
  }
  return out;
}

net::Response deletedResponse(const RequestContext& ctx, const api::Object& last) {
  util::JsonDoc doc;
  StatusDetails details = ctx.details();
  details.uid = last.metadata.uid;
  encodeSuccessStatus(details, doc, doc.GetAllocator());
  return jsonResponse(ctx, http::status::ok, doc);
}

}  // namespace

asio::awaitable<net::Response> ResourceHandlers::remove(const RequestContext& ctx) {
  auto options = parseDeleteOptions(ctx);
  if (!options.ok()) co_return errorResponse(ctx, options.error());
  auto current = store_.get({ctx.path.kind, ctx.path.namespace_, ctx.path.name});
  if (!current.ok()) co_return writeError(ctx, current.takeError());
  if (!options->uid.empty() && options->uid != current->metadata.uid) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::Conflict,
                       fmt::format("Precondition failed: UID in precondition: {}, UID in object "
                                   "meta: {}",
                                   options->uid, current->metadata.uid)));
  }
  if (ctx.path.kind == api::Kind::ClusterTemplate) {
    auto users = clustersUsingTemplate(store_, ctx.path.namespace_, ctx.path.name);
    if (!users.ok()) co_return errorResponse(ctx, users.error());
    if (!users->empty()) {
      std::vector<util::Cause> causes;
      for (const auto& user : *users) causes.push_back({"spec.clusterTemplate", "used by cluster " + user});
      co_return errorResponse(
          ctx, makeError(ErrorCode::Conflict,
                         fmt::format("{} is in use by clusters {}; delete them or point them at "
                                     "another template first",
                                     objectRef(ctx.path), fmt::join(*users, ", ")),
                         std::move(causes)));
    }
  }
  if (ctx.path.kind == api::Kind::NodeGroup) {
    // Magnum refuses this too: a cluster's default node groups go when the cluster goes.
    std::string owner = api::clusterOfNodeGroup(current->spec);
    if (api::isDefaultNodeGroupName(current->metadata.name, owner)) {
      auto cluster = store_.get({api::Kind::Cluster, ctx.path.namespace_, owner});
      if (cluster.ok() && !cluster->deleting()) {
        co_return errorResponse(
            ctx, makeError(ErrorCode::Conflict,
                           fmt::format("{} is a default node group of cluster {}/{}: it is "
                                       "deleted with the cluster; resize it with the cluster's "
                                       "spec.nodeCount or spec.masterCount instead",
                                       objectRef(ctx.path), ctx.path.namespace_, owner)));
      }
    }
  }
  if (options->dry_run) {
    if (options->resource_version != 0 &&
        options->resource_version != current->metadata.resource_version) {
      co_return writeError(ctx, makeError(ErrorCode::Conflict, "stale resourceVersion"));
    }
    if (current->metadata.finalizers.empty()) co_return deletedResponse(ctx, *current);
    api::Object marked = *current;
    if (!marked.deleting()) {
      marked.metadata.deletion_timestamp = util::formatRfc3339(std::chrono::system_clock::now());
    }
    co_return objectResponse(ctx, http::status::ok, marked);
  }
  auto removed = co_await storeWrite("delete", *current, options->resource_version);
  if (!removed.ok()) co_return writeError(ctx, removed.takeError());
  written(ctx, &*current, *removed, false);
  if (!removed->metadata.finalizers.empty()) {
    co_return objectResponse(ctx, http::status::ok, *removed);  // waits for its finalizers
  }
  co_return deletedResponse(ctx, *removed);
}

}  // namespace magnumd::server
