// OpenStack Magnum's v1 REST API over the same objects as /apis (magnum-behaviour.md §1), so
// `openstack coe`, Horizon, Terraform and the cluster-autoscaler's Magnum provider work unchanged:
//   GET /                         versions (no token)
//   GET /v1, /v1/                 the v1 root (no token)
//   /v1/clustertemplates[/detail|/{ident}]          CRUD, Magnum's JSON Patch
//   /v1/clusters[/detail|/{ident}]                   create 202 {"uuid"}, PATCH node_count/health
//   /v1/clusters/{ident}/actions/{resize,upgrade}    1.7+ and 1.8+
//   /v1/clusters/{ident}/nodegroups[/{ng}]           1.9+
//   /v1/certificates[/{cluster}]  CA show, CSR sign, CA rotate (PATCH)
//   /v1/credentials/{cluster}     credential rotation (PATCH, 1.12+): not supported, as with
//                                 Magnum's Heat driver (magnum_api_services.cc says why)
//   /v1/stats                     clusters and nodes per project
//   /v1/quotas[/{project}/{resource}]   per-project limits (Quota objects; admins write)
//   /v1/mservices                 the controllers, as Magnum shows its conductor (admin)
// It is a translation layer: every write becomes the /apis write it stands for, through the same
// admission, authorization and store (ResourceHandlers), and every read renders stored objects
// (magnum_views.h). A Magnum uuid is the object's uid; a project is a namespace.
// Errors are Magnum's body: {"errors":[{"request_id","code","status","title","detail","links"}]}.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "server/auth.h"
#include "server/credentials.h"
#include "server/magnum_policy.h"
#include "server/magnum_render_cache.h"
#include "server/magnum_version.h"
#include "server/magnum_views.h"
#include "server/resources.h"
#include "server/route.h"
#include "server/service_heartbeat.h"
#include "store/store.h"

namespace magnumd::server::magnum {

struct Call;  // one request (magnum_call.h)

// True for the paths this API answers: "/" and "/v1[/...]".
bool ownsPath(std::string_view path);
// "/" and "/v1[/]" need no token, as in Magnum (its public_api_routes).
bool isPublicPath(std::string_view path);

class MagnumApi {
 public:
  // `heartbeat` null: /v1/mservices lists no controller (API only). `policy` null: Magnum's
  // default rules.
  MagnumApi(store::Store& store, ResourceHandlers& resources, CredentialHandlers& credentials,
            const ServiceHeartbeat* heartbeat, std::shared_ptr<const Policy> policy = nullptr)
      : store_(store),
        resources_(resources),
        credentials_(credentials),
        heartbeat_(heartbeat),
        policy_(policy ? std::move(policy) : Policy::defaults()) {}

  // `identity` is null only for public paths.
  boost::asio::awaitable<net::Response> handle(const net::Request& request, const Target& target,
                                               const Identity* identity, bool tls);

 private:
  boost::asio::awaitable<net::Response> route(Call& call, std::string_view rest);
  net::Response versionsRoot(const Call& call) const;
  net::Response v1Root(const Call& call) const;
  boost::asio::awaitable<net::Response> certificates(Call& call, std::string_view cluster_ident);
  // PATCH /v1/credentials/{cluster} (1.12): Magnum's credential rotation.
  net::Response rotateCredentials(Call& call, std::string_view cluster_ident);
  net::Response stats(Call& call);
  // /v1/quotas[/{project}/{resource}] (magnum_quotas.cc).
  boost::asio::awaitable<net::Response> quotas(Call& call, std::string_view project,
                                               std::string_view resource);
  net::Response mservices(Call& call);

  // Reads.
  // Node groups: those of `cluster`.
  net::Response list(Call& call, api::Kind kind, bool detail, const api::Object* cluster = nullptr);
  net::Response show(Call& call, const api::Object& object);
  // Magnum's policy for a GET of `object` (cluster:get, nodegroup:get, ...).
  util::Status checkGet(const Call& call, const api::Object& object) const;
  util::Result<api::Object> find(const Call& call, api::Kind kind, std::string_view ident,
                                 const std::string& cluster_name = {}) const;
  // The cluster's template (clusters) or the cluster (node groups), as named by `spec`.
  static std::optional<api::ObjectKey> parentKeyOf(const api::Object& object,
                                                   const util::Json& spec);
  std::shared_ptr<const api::Object> parentOf(const api::Object& object) const;
  // A ViewContext::parent reading parents from the store.
  ViewContext::ParentLookup parentLookup() const;
  // The object's Magnum JSON in `view` (whose parent lookup it sets), from the render cache
  // when the object and its parent are unchanged (magnum_api_render.cc).
  std::shared_ptr<const std::string> rendered(const api::Object& object, ViewContext& view) const;
  // {"<plural>": [items...], "next": ...}: the next link only when `next` is not empty.
  std::string listBody(std::string_view plural, const std::vector<const api::Object*>& items,
                       ViewContext view, const std::string& next) const;

  // Writes (magnum_api_writes.cc; patchObject in magnum_api_patch.cc).
  boost::asio::awaitable<net::Response> createTemplate(Call& call);
  boost::asio::awaitable<net::Response> createCluster(Call& call);
  boost::asio::awaitable<net::Response> createNodeGroup(Call& call, const api::Object& cluster);
  boost::asio::awaitable<net::Response> patchObject(Call& call, const api::Object& object);
  boost::asio::awaitable<net::Response> remove(Call& call, const api::Object& object);
  boost::asio::awaitable<net::Response> resize(Call& call, const api::Object& cluster);
  boost::asio::awaitable<net::Response> upgrade(Call& call, const api::Object& cluster);
  // Runs the /apis request `verb` on `path` (a resource or a cluster's credentials) and answers
  // what /apis answered.
  boost::asio::awaitable<net::Response> forward(const Call& call, Verb verb,
                                                const ResourcePath& path, QueryParams query,
                                                std::string body, std::string_view content_type);
  // Runs the /apis write `verb` on `path` with `body` as `content_type`; the stored object, or
  // the error in the /apis answer.
  boost::asio::awaitable<util::Result<api::Object>> write(const Call& call, Verb verb,
                                                          ResourcePath path, std::string body,
                                                          std::string_view content_type);

  store::Store& store_;
  ResourceHandlers& resources_;
  CredentialHandlers& credentials_;
  const ServiceHeartbeat* heartbeat_;
  std::shared_ptr<const Policy> policy_;
  // uid -> key, so a lookup by uuid scans the store once; checked on every use.
  mutable std::mutex uid_mu_;
  mutable std::unordered_map<std::string, api::ObjectKey> by_uid_;
  // About 12,000 clusters' list renderings; a list of 100 then costs ~5x less CPU.
  static constexpr size_t kRenderCacheBytes = 16 << 20;
  mutable RenderCache render_cache_{kRenderCacheBytes};
};

// The error an /apis answer carries (its Status message), for Magnum's body.
util::Error errorOf(const net::Response& response);

// Magnum's error body and status for `error` (422 becomes 400, as Magnum answers invalid input).
net::Response errorResponse(const util::Error& error, const Microversion* version = nullptr);

}  // namespace magnumd::server::magnum
