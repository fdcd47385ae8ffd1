#include "server/api_server.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "server/codec.h"
#include "server/openapi.h"
#include "server/selectors.h"
#include "server/status.h"
#include "server/version.h"
#include "util/json.h"

namespace magnumd::server {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::makeError;

namespace {

net::Response textResponse(http::status status, std::string body) {
  net::Response res{status, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-cache, private");
  res.body() = std::move(body);
  return res;
}

net::Response jsonText(http::status status, std::string body) {
  net::Response res{status, 11};
  res.set(http::field::content_type, kJsonType);
  res.set(http::field::cache_control, "no-cache, private");
  res.body() = std::move(body);
  return res;
}

double residentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

util::Result<Verb> verbOf(const net::Request& request, const ResourcePath& path, bool watch) {
  auto method = request.method();
  auto notAllowed = [&] {
    return makeError(ErrorCode::MethodNotAllowed,
                     fmt::format("method {} is not allowed on {}", std::string(request.method_string()),
                                 path.collection() ? "a collection" : "an object"));
  };
  if (path.allNamespaces() && (method != http::verb::get || !path.collection())) return notAllowed();
  switch (path.subresource) {
    case Subresource::Ca:
      if (method == http::verb::get) return Verb::Get;
      return notAllowed();
    case Subresource::Certificates:
      if (method == http::verb::post) return Verb::Create;
      return notAllowed();
    case Subresource::Kubeconfig:
      // A GET that mints a credential: authorized as a create, as kube-apiserver authorizes a
      // GET of pods/exec.
      if (method == http::verb::get) return Verb::Create;
      return notAllowed();
    case Subresource::None:
    case Subresource::Status:
      break;
  }
  if (path.collection()) {
    if (method == http::verb::get) return watch ? Verb::Watch : Verb::List;
    if (method == http::verb::post && !path.status()) return Verb::Create;
    return notAllowed();
  }
  switch (method) {
    case http::verb::get: return Verb::Get;
    case http::verb::put: return Verb::Update;
    case http::verb::patch: return Verb::Patch;
    case http::verb::delete_:
      if (path.status()) return notAllowed();
      return Verb::Delete;
    default: return notAllowed();
  }
}

std::string discoveryJson() {
  std::string resources;
  for (const auto& kind : api::allKinds()) {
    if (!resources.empty()) resources += ',';
    resources += fmt::format(
        R"({{"name":"{0}","singularName":"{1}","namespaced":true,"kind":"{2}","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["{3}"]}},)"
        R"({{"name":"{0}/status","singularName":"","namespaced":true,"kind":"{2}","verbs":["get","patch","update"]}})",
        kind.plural, kind.singular, kind.name, kind.short_name);
  }
  return fmt::format(
      R"({{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"{}","resources":[{}]}})",
      api::kApiVersion, resources);
}

std::string groupListJson() {
  return fmt::format(
      R"({{"kind":"APIGroupList","apiVersion":"v1","groups":[{{"name":"{0}","versions":[{{"groupVersion":"{1}","version":"v1"}}],"preferredVersion":{{"groupVersion":"{1}","version":"v1"}}}}]}})",
      api::kApiGroup, api::kApiVersion);
}

}  // namespace

ApiServer::ApiServer(store::Store& store, std::shared_ptr<const Authenticator> authenticator,
                     util::MetricsRegistry& registry, ApiServerOptions options)
    : store_(store),
      authenticator_(std::move(authenticator)),
      keystone_(std::move(options.keystone)),
      registry_(registry),
      metrics_(registry),
      rss_(registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")),
      revision_(registry.gauge("magnumd_store_revision", "The store's current revision.")),
      store_bytes_(registry.gauge("magnumd_store_size_bytes",
                                  "Bytes of stored objects (their JSON), what the quota counts.")),
      store_quota_(registry.gauge("magnumd_store_quota_bytes",
                                  "The store quota (--store-quota-bytes); 0: none.")),
      store_objects_(registry.gauge("magnumd_store_objects", "Objects in the store.")),
      cloud_admission_(options.cloud ? std::make_unique<CloudAdmission>(
                                           store, *options.cloud, clock_, options.cloud_admission)
                                     : nullptr),
      resources_(store, metrics_, cloud_admission_.get(), options.quotas,
                 std::move(options.on_write)),
      credentials_(store, options.secrets, registry, std::move(options.on_credential_issued)),
      magnum_(store, resources_, credentials_, options.heartbeat, options.magnum_policy),
      watches_(store, metrics_, options.watch),
      role_(std::move(options.role)),
      stale_since_(std::move(options.stale_since)) {
  const auto& build = buildInfo();
  registry.gauge("magnumd_build_info", "Version and commit magnumd was built from (always 1).",
                 {"version", "git_commit"})
      .with({build.version, build.git_commit})
      .set(1);
}

ApiServer::~ApiServer() { watches_.shutdown(); }

net::Handler ApiServer::handler() {
  return [this](net::Request request, net::PeerInfo peer) {
    return handle(std::move(request), std::move(peer));
  };
}

net::Response ApiServer::transportError(http::status status, std::string message) {
  ErrorCode code = ErrorCode::BadRequest;
  if (status == http::status::payload_too_large) code = ErrorCode::TooLarge;
  if (status == http::status::internal_server_error) code = ErrorCode::Internal;
  auto res = statusResponse(makeError(code, std::move(message)));
  if (status == http::status::request_header_fields_too_large) {
    // No Status reason exists for 431; keep BadRequest's body but the transport's code.
    res.result(status);
  }
  return res;
}

void ApiServer::record(const std::string& verb, const std::string& resource, unsigned code,
                       double seconds, bool streaming) {
  metrics_.requests.with({verb, resource, std::to_string(code)}).inc();
  if (!streaming) metrics_.latency.with({verb, resource}).observe(seconds);
}

asio::awaitable<net::Reply> ApiServer::handle(net::Request request, net::PeerInfo peer) {
  const auto begun = std::chrono::steady_clock::now();
  std::string verb = "other";
  std::string resource = "other";
  net::Reply reply = co_await dispatch(request, peer.tls, verb, resource);
  if (stale_since_ && request.method() == http::verb::get) warnIfStale(request, reply);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  if (auto* response = std::get_if<net::Response>(&reply)) {
    record(verb, resource, response->result_int(), seconds, false);
  } else {
    record(verb, resource, std::get<net::StreamingResponse>(reply).head.result_int(), seconds, true);
  }
  co_return reply;
}

void ApiServer::warnIfStale(const net::Request& request, net::Reply& reply) const {
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with("/apis/") && !magnum::ownsPath(path)) return;  // not the store's data
  std::optional<util::SystemTime> since = stale_since_();
  if (!since) return;
  // RFC 7234's warn-code 299 with the agent "-", as kube-apiserver sends it; no quotes inside.
  std::string warning = fmt::format(
      "299 - \"the store lost contact with its etcd quorum at {}: this replica answers from its "
      "cache, which may be stale since then\"",
      util::formatRfc3339(*since));
  if (auto* response = std::get_if<net::Response>(&reply)) {
    response->set(http::field::warning, warning);
  } else {
    std::get<net::StreamingResponse>(reply).head.set(http::field::warning, warning);
  }
}

net::Response ApiServer::systemEndpoint(const net::Request& request, std::string_view path) const {
  if (request.method() != http::verb::get) {
    return statusResponse(makeError(ErrorCode::MethodNotAllowed,
                                    fmt::format("method {} is not allowed on {}",
                                                std::string(request.method_string()), path)));
  }
  if (path == "/healthz" || path == "/livez") return textResponse(http::status::ok, "ok\n");
  std::optional<ReplicaRole> role;
  if (role_) role = role_();
  if (path == "/readyz") {
    // Every replica serves the API, so a follower is ready too; the role is for operators.
    if (!ready_) {
      return textResponse(http::status::service_unavailable,
                          "not ready: shutting down or starting\n");
    }
    if (!role) return textResponse(http::status::ok, "ok\n");
    auto res = textResponse(
        http::status::ok,
        role->leading ? "ok: leader\n"
                      : fmt::format("ok: follower (leader: {})\n",
                                    role->leader.empty() ? "none elected" : role->leader));
    res.set("X-Magnumd-Role", role->leading ? "leader" : "follower");
    return res;
  }
  const auto& build = buildInfo();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("version", util::str(build.version, a), a);
  doc.AddMember("gitCommit", util::str(build.git_commit, a), a);
  doc.AddMember("buildDate", util::str(build.build_date, a), a);
  if (role) {
    doc.AddMember("replica", util::str(role->replica, a), a);
    doc.AddMember("role", util::str(role->leading ? "leader" : "follower", a), a);
    doc.AddMember("leader", util::str(role->leader, a), a);
  }
  return jsonText(http::status::ok, util::toJson(doc));
}

net::Response ApiServer::metricsEndpoint() {
  rss_.with({}).set(residentBytes());
  revision_.with({}).set(static_cast<double>(store_.currentRevision()));
  store::StoreUsage usage = store_.usage();
  store_bytes_.with({}).set(static_cast<double>(usage.bytes));
  store_quota_.with({}).set(static_cast<double>(usage.quota_bytes));
  store_objects_.with({}).set(static_cast<double>(usage.objects));
  net::Response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.body() = registry_.render();
  return res;
}

asio::awaitable<util::Result<Identity>> ApiServer::identify(const net::Request& request) {
  const std::string_view authorization = request[http::field::authorization];
  const std::string_view x_auth_token = request["X-Auth-Token"];
  if (!authorization.empty() || x_auth_token.empty()) {
    auto identity =
        authenticator_ ? authenticator_->authenticate(bearerToken(authorization)) : std::nullopt;
    if (identity) co_return std::move(*identity);
    co_return makeError(ErrorCode::Unauthorized,
                        authorization.empty()
                            ? "Unauthorized: send Authorization: Bearer <token> or X-Auth-Token"
                            : "Unauthorized: the bearer token is not valid");
  }
  // X-Auth-Token: a token of the token file (what `openstack --os-token` sends), else Keystone's.
  if (authenticator_) {
    if (auto identity = authenticator_->authenticate(x_auth_token)) co_return std::move(*identity);
  }
  if (!keystone_) {
    co_return makeError(ErrorCode::Unauthorized,
                        "Unauthorized: the X-Auth-Token is not a known token, and this magnumd "
                        "does not accept Keystone tokens (start it with --keystone-auth)");
  }
  co_return co_await keystone_->authenticate(std::string(x_auth_token));
}

asio::awaitable<net::Reply> ApiServer::dispatch(const net::Request& request, bool tls,
                                                std::string& verb_label,
                                                std::string& resource_label) {
  auto target = parseTarget(request.target());
  if (!target.ok()) co_return statusResponse(target.error());
  const std::string& path = target->path;
  if (path == "/healthz" || path == "/livez" || path == "/readyz" || path == "/version") {
    verb_label = "get";
    resource_label = path.substr(1);
    co_return systemEndpoint(request, path);
  }

  if (magnum::ownsPath(path)) {
    // Magnum's v1 API (magnum_api.h): clients send Keystone's X-Auth-Token.
    verb_label = "magnum";
    resource_label = "magnum";
    std::optional<Identity> identity;
    if (!magnum::isPublicPath(path) && (authenticator_ || keystone_)) {
      auto known = co_await identify(request);
      if (!known.ok()) {
        // Keystone's 503 (it could not be asked) and 403 (no usable role) keep their codes.
        if (known.error().code != ErrorCode::Unauthorized) {
          co_return magnum::errorResponse(known.error());
        }
        co_return magnum::errorResponse(makeError(ErrorCode::Unauthorized,
                                                  "The request you have made requires "
                                                  "authentication: send X-Auth-Token"));
      }
      identity = std::move(known).value();
    }
    co_return co_await magnum_.handle(request, *target, identity ? &*identity : nullptr, tls);
  }
  auto format = negotiateOutputFormat(request[http::field::accept]);
  Format error_format = format.ok() ? format->format : Format::Json;
  auto identity = co_await identify(request);
  if (!identity.ok()) co_return statusResponse(identity.error(), error_format);
  const bool discovery =
      path == "/apis" || path == "/apis/" || path == kApiPrefix || path == std::string(kApiPrefix) + "/";
  const bool openapi = isOpenApiPath(path);
  if ((path == "/metrics" || discovery || openapi) && request.method() != http::verb::get) {
    co_return statusResponse(makeError(ErrorCode::MethodNotAllowed,
                                       fmt::format("method {} is not allowed on {}; only GET is",
                                                   std::string(request.method_string()), path)),
                             error_format);
  }
  if (path == "/metrics") {
    verb_label = "get";
    resource_label = "metrics";
    co_return metricsEndpoint();
  }
  if (openapi) {
    verb_label = "get";
    resource_label = "openapi";
    co_return openApiResponse(request, path, target->query);
  }
  if (path == "/apis" || path == "/apis/") co_return jsonText(http::status::ok, groupListJson());
  if (discovery) co_return jsonText(http::status::ok, discoveryJson());

  auto parsed = parseResourcePath(path);
  if (!parsed) {
    co_return statusResponse(
        makeError(ErrorCode::NotFound,
                  fmt::format("the server could not find the requested resource {}", path)),
        error_format);
  }
  if (!parsed->ok()) co_return statusResponse(parsed->error(), error_format);
  // The credentials endpoints serve PEM and kubeconfigs too, and negotiate for themselves.
  if (!format.ok() && !parsed->value().credentials()) co_return statusResponse(format.error());
  RequestContext ctx{request, std::move(*parsed).value(), std::move(target->query),
                     std::move(identity).value()};
  ctx.format = error_format;
  if (format.ok()) ctx.conversion = format->conversion;
  resource_label = ctx.path.resource();
  auto pretty = boolParam(ctx.query, "pretty");
  auto watch = boolParam(ctx.query, "watch");
  if (!pretty.ok()) co_return errorResponse(ctx, pretty.error());
  if (!watch.ok()) co_return errorResponse(ctx, watch.error());
  ctx.pretty = *pretty;
  auto verb = verbOf(request, ctx.path, *watch);
  if (!verb.ok()) co_return errorResponse(ctx, verb.error());
  ctx.verb = *verb;
  verb_label = verbName(ctx.verb);
  if (auto allowed = authorize(ctx.identity, ctx.verb, ctx.path); !allowed.ok()) {
    co_return errorResponse(ctx, allowed.error());
  }

  if (ctx.path.credentials()) co_return co_await credentials_.handle(ctx);
  switch (ctx.verb) {
    case Verb::Get: co_return resources_.get(ctx);
    case Verb::List: co_return resources_.list(ctx);
    case Verb::Watch: co_return openWatch(ctx);
    case Verb::Create: co_return co_await resources_.create(ctx);
    case Verb::Update: co_return co_await resources_.replace(ctx);
    case Verb::Patch: co_return co_await resources_.patch(ctx);
    case Verb::Delete: co_return co_await resources_.remove(ctx);
  }
  co_return errorResponse(ctx, makeError(ErrorCode::Internal, "unhandled verb"));
}

net::Reply ApiServer::openWatch(const RequestContext& ctx) {
  auto filter = parseFilter(ctx.query);
  if (!filter.ok()) return errorResponse(ctx, filter.error());
  auto timeout = intParam(ctx.query, "timeoutSeconds");
  if (!timeout.ok()) return errorResponse(ctx, timeout.error());
  WatchRequest request;
  request.kind = ctx.path.kind;
  request.namespace_ = effectiveNamespace(ctx);
  request.filter = std::move(filter).value();
  request.timeout = std::chrono::seconds(*timeout);
  request.user = ctx.identity.user;
  if (ctx.conversion != Conversion::None) {
    auto table = tableOptions(ctx);
    if (!table.ok()) return errorResponse(ctx, table.error());
    auto bookmarks = boolParam(ctx.query, "allowWatchBookmarks");
    if (!bookmarks.ok()) return errorResponse(ctx, bookmarks.error());
    request.table = *table;
    request.bookmarks = *bookmarks;
  }
  auto rv_text = stringParam(ctx.query, "resourceVersion");
  if (!rv_text.empty()) {
    auto rv = intParam(ctx.query, "resourceVersion");
    if (!rv.ok()) return errorResponse(ctx, rv.error());
    request.resource_version = *rv;
  }
  auto stream = watches_.open(std::move(request));
  if (!stream.ok()) return errorResponse(ctx, stream.error());
  return std::move(stream).value();
}

}  // namespace magnumd::server
