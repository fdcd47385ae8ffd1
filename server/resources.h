// The REST verbs on ClusterTemplates, Clusters, NodeGroups and Events, with kube-apiserver
// semantics: optimistic concurrency, the /status subresource, merge and JSON patches, dryRun,
// finalizer-aware DELETE, and admission (defaults, validation, cross-object rules) before every
// write. Authentication and authorization happened before these run.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>

#include "server/project_quotas.h"
#include "server/cloud_admission.h"
#include "server/request_context.h"
#include "server/server_metrics.h"
#include "server/table.h"
#include "store/store.h"

namespace magnumd::server {

// Told of every write of an object's spec or metadata that reached the store, through either
// API (never a dry run, never a /status write): who made it, the object before (null for a
// create) and after (for a delete, as the store left it). Runs on an I/O thread: must not block.
using WriteObserver = std::function<void(const Identity& who, Verb verb, const api::Object* before,
                                         const api::Object& after)>;

class ResourceHandlers {
 public:
  // `cloud`: admission against the cloud (images, flavors, key pairs); null when magnumd serves
  // the API without a cloud, and then nothing is checked there.
  ResourceHandlers(store::Store& store, ServerMetrics& metrics, CloudAdmission* cloud = nullptr,
                   QuotaDefaults quotas = {}, WriteObserver on_write = {})
      : store_(store),
        metrics_(metrics),
        cloud_(cloud),
        quotas_(store, quotas),
        on_write_(std::move(on_write)) {}

  // Per-project quotas (project_quotas.h), for Magnum's /v1/quotas and stats.
  ProjectQuotas& quotas() { return quotas_; }

  net::Response get(const RequestContext& ctx) const;
  net::Response list(const RequestContext& ctx) const;
  boost::asio::awaitable<net::Response> create(const RequestContext& ctx);
  boost::asio::awaitable<net::Response> replace(const RequestContext& ctx);  // PUT
  boost::asio::awaitable<net::Response> patch(const RequestContext& ctx);
  boost::asio::awaitable<net::Response> remove(const RequestContext& ctx);

 private:
  // PATCH application/apply-patch+yaml (resource_apply.cc).
  boost::asio::awaitable<net::Response> apply(const RequestContext& ctx, bool dry_run);
  // The checks and server-set fields of a create; errors already name the object.
  util::Result<api::Object> admitCreate(api::Object object) const;
  // The cloud half of admission (cloud_admission.h) for a spec write; OK without a cloud.
  boost::asio::awaitable<util::Status> checkCloud(const RequestContext& ctx,
                                                  const api::Object& next,
                                                  const api::Object* current);
  // Stores an admitted new object, or returns it as the store would have made it for dryRun.
  boost::asio::awaitable<util::Result<api::Object>> createObject(api::Object object, bool dry_run);
  // Validates and admits an update of `current` to `candidate`; returns the object to write.
  util::Result<api::Object> admitUpdate(const RequestContext& ctx, const api::Object& current,
                                        const api::Object& candidate) const;
  // Writes an admitted update (main resource or status) with the precondition, or returns it
  // unwritten for dryRun.
  boost::asio::awaitable<util::Result<api::Object>> writeUpdate(const RequestContext& ctx,
                                                                api::Object object,
                                                                int64_t expected_rv, bool dry_run);
  boost::asio::awaitable<util::Result<api::Object>> storeWrite(const char* op, api::Object object,
                                                               int64_t expected_rv);
  net::Response writeError(const RequestContext& ctx, util::Error error) const;
  void written(const RequestContext& ctx, const api::Object* before, const api::Object& after,
               bool dry_run) const {
    if (on_write_ && !dry_run && !ctx.path.status())
      on_write_(ctx.identity, ctx.verb, before, after);
  }

  store::Store& store_;
  ServerMetrics& metrics_;
  CloudAdmission* cloud_ = nullptr;
  ProjectQuotas quotas_;
  WriteObserver on_write_;
};

// The namespace a request reads: the path's, or the token's own for a namespace-limited token
// on a cluster-wide path.
std::string effectiveNamespace(const RequestContext& ctx);

// How a request that asked for a Table wants it (its includeObject parameter), with ages as of
// now. BadRequest for an includeObject that does not exist.
util::Result<TableOptions> tableOptions(const RequestContext& ctx);

}  // namespace magnumd::server
