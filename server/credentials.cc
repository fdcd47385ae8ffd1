#include "server/credentials.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <type_traits>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "pki/certificate.h"
#include "pki/csr.h"
#include "pki/leaf.h"
#include "server/credential_policy.h"
#include "server/kubeconfig.h"
#include "util/log.h"
#include "util/time.h"

namespace magnumd::server {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::makeError;

namespace {

constexpr size_t kPoolThreads = 2;
constexpr std::string_view kPemType = "application/x-pem-file";

// Runs `fn` on `pool` and resumes the awaiting coroutine on its own executor with the result.
template <typename Fn>
asio::awaitable<std::invoke_result_t<Fn&>> offload(asio::thread_pool::executor_type pool, Fn fn) {
  using T = std::invoke_result_t<Fn&>;
  auto initiate = [pool, fn = std::move(fn)](auto handler) mutable {
    using Handler = decltype(handler);
    struct Pending {
      Handler handler;
      asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
    };
    auto executor = asio::get_associated_executor(handler);
    auto pending =
        std::make_shared<Pending>(Pending{std::move(handler), asio::make_work_guard(executor)});
    asio::post(pool, [pending, fn = std::move(fn)]() mutable {
      T result = fn();
      auto ex = pending->work.get_executor();
      asio::post(ex, [pending, result = std::move(result)]() mutable {
        pending->handler(std::move(result));
        pending->work.reset();
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      std::move(initiate), asio::use_awaitable);
}

// What the caller asked for: the endpoint's own document (PEM; for /kubeconfig the kubeconfig
// YAML), or its JSON description (also as YAML for /ca and /certificates).
enum class Output { Document, Json, Yaml };

bool isYaml(std::string_view t) {
  return t == "application/yaml" || t == "application/x-yaml" || t == "text/yaml" ||
         t == "text/x-yaml";
}

util::Result<Output> negotiate(std::string_view accept) {
  if (accept.empty()) return Output::Document;
  std::string_view rest = accept;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string type = mediaType(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (type == "application/json") return Output::Json;
    if (isYaml(type)) return Output::Yaml;
    if (type == kPemType || type == "application/pem-certificate-chain" || type == "text/plain" ||
        type == "text/*" || type == "application/*" || type == "*/*") {
      return Output::Document;
    }
  }
  return makeError(ErrorCode::NotAcceptable,
                   fmt::format("Accept: {} names nothing this endpoint serves; it answers "
                               "application/x-pem-file (or the kubeconfig, application/yaml), "
                               "application/json or application/yaml",
                               accept));
}

net::Response textReply(http::status status, std::string_view content_type, std::string body,
                        bool secret) {
  net::Response res{status, 11};
  res.set(http::field::content_type, content_type);
  // A response with a credential in it must not outlive the exchange in any cache.
  res.set(http::field::cache_control, secret ? "no-store" : "no-cache, private");
  res.body() = std::move(body);
  return res;
}

net::Response describedReply(const RequestContext& ctx, http::status status, Output output,
                             const util::Json& doc, bool secret) {
  Format format = output == Output::Yaml ? Format::Yaml : Format::Json;
  return textReply(status, contentTypeOf(format), render(doc, format, ctx.pretty), secret);
}

std::string phaseOf(const api::Object& cluster) {
  auto status = api::decodeClusterStatus(cluster.status);
  if (!status.ok() || status->phase.empty()) return "no status yet";
  return "phase " + status->phase;
}

util::Error noCa(const api::Object& cluster) {
  return makeError(
      ErrorCode::Conflict,
      fmt::format("{} has no certificate authority yet ({}): magnumd creates it when "
                  "it first reconciles the cluster; retry in a moment",
                  objectRef(api::Kind::Cluster, cluster.metadata.name), phaseOf(cluster)));
}

// NotFound from the secret store means the cluster's PKI does not exist (yet): a state of the
// cluster, not a missing object. Other errors (an unreadable secret) pass through.
util::Error secretsError(const api::Object& cluster, util::Error error) {
  if (error.code == ErrorCode::NotFound) return noCa(cluster);
  return error;
}

// "kubernetes" (Magnum's name for the cluster CA, the default), "etcd", "front-proxy".
util::Result<const pki::CertificateAuthority*> chooseCa(const pki::ClusterPki& pki,
                                                        std::string_view type) {
  if (type.empty() || type == "kubernetes") return &pki.cluster_ca;
  if (type == "etcd") return &pki.etcd_ca;
  if (type == "front-proxy") return &pki.front_proxy_ca;
  return makeError(ErrorCode::BadRequest,
                   fmt::format("query parameter type: \"{}\" is not one of kubernetes, etcd, "
                               "front-proxy",
                               type));
}

util::Result<std::optional<int64_t>> expirationParam(const QueryParams& query) {
  if (stringParam(query, "expirationSeconds").empty()) return std::optional<int64_t>{};
  ASSIGN_OR_RETURN(int64_t seconds, intParam(query, "expirationSeconds"));
  return std::optional<int64_t>(seconds);
}

struct SignRequest {
  std::string csr;
  std::optional<int64_t> expiration_seconds;
};

// A PEM body (any Content-Type but JSON and YAML, so `curl --data-binary @client.csr` works), or
// JSON {"csr": "...", "expirationSeconds": N} as Magnum's API takes the CSR.
util::Result<SignRequest> decodeSignRequest(const RequestContext& ctx) {
  std::string type = mediaType(ctx.request[http::field::content_type]);
  SignRequest out;
  if (isYaml(type)) {
    return makeError(ErrorCode::UnsupportedMediaType,
                     "send the CSR as PEM, or as JSON {\"csr\": \"...\"}; not as YAML");
  }
  if (type != "application/json") {
    out.csr = ctx.request.body();
    ASSIGN_OR_RETURN(out.expiration_seconds, expirationParam(ctx.query));
    return out;
  }
  ASSIGN_OR_RETURN(auto doc, decodeBody(type, ctx.request.body()));
  if (!doc.IsObject()) {
    return makeError(ErrorCode::BadRequest, "request body: expected an object {\"csr\": \"...\"}");
  }
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    std::string_view name(m->name.GetString(), m->name.GetStringLength());
    if (name == "csr") {
      if (!m->value.IsString()) return makeError(ErrorCode::BadRequest, "csr: expected a string");
      out.csr.assign(m->value.GetString(), m->value.GetStringLength());
    } else if (name == "expirationSeconds") {
      if (!m->value.IsInt64()) {
        return makeError(ErrorCode::BadRequest, "expirationSeconds: expected an integer");
      }
      out.expiration_seconds = m->value.GetInt64();
    } else {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("request body: unknown field \"{}\" (known: csr, "
                                   "expirationSeconds)",
                                   name));
    }
  }
  if (out.csr.empty()) {
    return makeError(ErrorCode::Invalid, "csr: required: the PEM certificate signing request",
                     {{"csr", "Required value"}});
  }
  return out;
}

// The COE of the cluster's template: a kubeconfig only makes sense for Kubernetes.
util::Result<std::string> coeOf(store::Store& store, const api::Object& cluster) {
  ASSIGN_OR_RETURN(auto spec, api::decodeClusterSpec(cluster.spec));
  auto ref = api::splitTemplateRef(spec.cluster_template, cluster.metadata.namespace_);
  auto tmpl = store.get({api::Kind::ClusterTemplate, ref.namespace_, ref.name});
  if (!tmpl.ok()) {
    if (tmpl.error().code != ErrorCode::NotFound) return tmpl.takeError();
    return makeError(ErrorCode::Conflict,
                     fmt::format("{}: its template {}/{} no longer exists",
                                 objectRef(api::Kind::Cluster, cluster.metadata.name),
                                 ref.namespace_, ref.name));
  }
  ASSIGN_OR_RETURN(auto tmpl_spec, api::decodeClusterTemplateSpec(tmpl->spec));
  return tmpl_spec.coe;
}

struct Issued {
  std::string ca_pem;
  pki::IssuedCertificate certificate;  // key_pem empty when the caller brought the key (a CSR)
};

}  // namespace

CredentialHandlers::CredentialHandlers(store::Store& store, secrets::ClusterSecretStore* secrets,
                                       util::MetricsRegistry& registry, CredentialObserver observer)
    : store_(store),
      secrets_(secrets),
      issued_total_(registry.counter("magnumd_credentials_issued_total",
                                     "Client certificates issued with a cluster's CA, by endpoint "
                                     "(certificates, kubeconfig) and the caller's role.",
                                     {"endpoint", "role"})),
      observer_(std::move(observer)),
      pool_(kPoolThreads) {}

CredentialHandlers::~CredentialHandlers() { pool_.join(); }

asio::awaitable<net::Response> CredentialHandlers::handle(const RequestContext& ctx) {
  if (secrets_ == nullptr) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::Unavailable,
                       "cluster credentials are not available: this magnumd runs without the "
                       "cluster secrets (--encryption-key-file)"));
  }
  switch (ctx.path.subresource) {
    case Subresource::Ca:
      co_return co_await ca(ctx);
    case Subresource::Certificates:
      co_return co_await sign(ctx);
    case Subresource::Kubeconfig:
      co_return co_await kubeconfig(ctx);
    default:
      break;
  }
  co_return errorResponse(ctx, makeError(ErrorCode::Internal, "not a credentials endpoint"));
}

util::Result<api::Object> CredentialHandlers::loadCluster(const RequestContext& ctx) const {
  auto cluster = store_.get({api::Kind::Cluster, ctx.path.namespace_, ctx.path.name});
  if (!cluster.ok() && cluster.error().code == ErrorCode::NotFound) {
    return makeError(ErrorCode::NotFound,
                     objectRef(api::Kind::Cluster, ctx.path.name) + " not found");
  }
  return cluster;
}

util::Status CredentialHandlers::checkIssuable(const api::Object& cluster) {
  if (!cluster.deleting()) return {};
  return makeError(ErrorCode::Conflict,
                   fmt::format("{} is being deleted: no certificates are issued for it",
                               objectRef(api::Kind::Cluster, cluster.metadata.name)));
}

void CredentialHandlers::issued(const RequestContext& ctx, const api::Object& cluster,
                                std::string_view endpoint, const std::string& cert_pem) {
  issued_total_.with({std::string(endpoint), roleName(ctx.identity.role)}).inc();
  IssuedCredential record{std::string(endpoint), ctx.identity.user, "", "", ""};
  if (auto info = pki::inspectCertificate(cert_pem); info.ok()) {
    record.subject = info->subject;
    record.serial = info->serial;
    record.not_after = util::formatRfc3339(info->not_after);
  }
  LOG_INFO("credentials",
           "issued a client certificate for cluster {}/{} to user {} (role {}, {}): {}, serial {}, "
           "valid until {}",
           cluster.metadata.namespace_, cluster.metadata.name, ctx.identity.user,
           roleName(ctx.identity.role), endpoint, record.subject, record.serial, record.not_after);
  if (observer_) observer_(cluster, record);
}

asio::awaitable<net::Response> CredentialHandlers::ca(const RequestContext& ctx) {
  auto output = negotiate(ctx.request[http::field::accept]);
  if (!output.ok()) co_return errorResponse(ctx, output.error());
  auto cluster = loadCluster(ctx);
  if (!cluster.ok()) co_return errorResponse(ctx, cluster.error());
  std::string type(stringParam(ctx.query, "type"));
  if (type.empty()) type = "kubernetes";
  auto pem = co_await offload(
      pool_.get_executor(),
      [secrets = secrets_, cluster = *cluster, type]() -> util::Result<std::string> {
        auto loaded = secrets->load(cluster);
        if (!loaded.ok()) return secretsError(cluster, loaded.takeError());
        ASSIGN_OR_RETURN(const pki::CertificateAuthority* ca, chooseCa(loaded->pki, type));
        // During a rotation, every cluster CA an API server may present (the signing one first).
        if (ca == &loaded->pki.cluster_ca) return loaded->clientAuthority().cert_pem;
        return ca->cert_pem;
      });
  if (!pem.ok()) co_return errorResponse(ctx, pem.error());
  if (*output == Output::Document) {
    co_return textReply(http::status::ok, kPemType, std::move(*pem), false);
  }
  auto info = pki::inspectCertificate(*pem);
  if (!info.ok()) co_return errorResponse(ctx, info.error());
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("cluster", util::str(cluster->metadata.name, a), a);
  doc.AddMember("namespace", util::str(cluster->metadata.namespace_, a), a);
  doc.AddMember("clusterUid", util::str(cluster->metadata.uid, a), a);
  doc.AddMember("type", util::str(type, a), a);
  doc.AddMember("subject", util::str(info->subject, a), a);
  doc.AddMember("sha256Fingerprint", util::str(info->sha256_fingerprint, a), a);
  doc.AddMember("notAfter", util::str(util::formatRfc3339(info->not_after), a), a);
  doc.AddMember("pem", util::str(*pem, a), a);
  co_return describedReply(ctx, http::status::ok, *output, doc, false);
}

asio::awaitable<net::Response> CredentialHandlers::sign(const RequestContext& ctx) {
  auto output = negotiate(ctx.request[http::field::accept]);
  if (!output.ok()) co_return errorResponse(ctx, output.error());
  auto request = decodeSignRequest(ctx);
  if (!request.ok()) co_return errorResponse(ctx, request.error());
  auto validity = parseExpiration(request->expiration_seconds);
  if (!validity.ok()) co_return errorResponse(ctx, validity.error());
  auto cluster = loadCluster(ctx);
  if (!cluster.ok()) co_return errorResponse(ctx, cluster.error());
  if (auto issuable = checkIssuable(*cluster); !issuable.ok()) {
    co_return errorResponse(ctx, issuable.error());
  }
  auto cert = co_await offload(
      pool_.get_executor(),
      [secrets = secrets_, cluster = *cluster, caller = ctx.identity, csr = std::move(request->csr),
       validity = *validity]() -> util::Result<std::string> {
        // The CSR is judged before the CA is touched: a bad request is the same answer whatever
        // state the cluster is in.
        ASSIGN_OR_RETURN(pki::CertificateRequest parsed, pki::parseCertificateRequest(csr));
        RETURN_IF_ERROR(checkRequestedSubject(caller, parsed));
        auto loaded = secrets->load(cluster);
        if (!loaded.ok()) return secretsError(cluster, loaded.takeError());
        pki::SigningPolicy policy;
        policy.allow_system_masters = caller.role == Role::Admin;
        policy.validity = validity;
        // During a CA rotation: signed by the CA every API server of the cluster trusts now.
        return pki::signClientRequest(loaded->clientAuthority(), parsed, policy);
      });
  if (!cert.ok()) co_return errorResponse(ctx, cert.error());
  issued(ctx, *cluster, "certificates", *cert);
  if (*output == Output::Document) {
    co_return textReply(http::status::created, kPemType, std::move(*cert), true);
  }
  auto info = pki::inspectCertificate(*cert);
  if (!info.ok()) co_return errorResponse(ctx, info.error());
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("cluster", util::str(cluster->metadata.name, a), a);
  doc.AddMember("namespace", util::str(cluster->metadata.namespace_, a), a);
  doc.AddMember("clusterUid", util::str(cluster->metadata.uid, a), a);
  doc.AddMember("subject", util::str(info->subject, a), a);
  doc.AddMember("serial", util::str(info->serial, a), a);
  doc.AddMember("notBefore", util::str(util::formatRfc3339(info->not_before), a), a);
  doc.AddMember("notAfter", util::str(util::formatRfc3339(info->not_after), a), a);
  doc.AddMember("pem", util::str(*cert, a), a);
  co_return describedReply(ctx, http::status::created, *output, doc, true);
}

asio::awaitable<net::Response> CredentialHandlers::kubeconfig(const RequestContext& ctx) {
  auto output = negotiate(ctx.request[http::field::accept]);
  if (!output.ok()) co_return errorResponse(ctx, output.error());
  auto expiration = expirationParam(ctx.query);
  if (!expiration.ok()) co_return errorResponse(ctx, expiration.error());
  auto validity = parseExpiration(*expiration);
  if (!validity.ok()) co_return errorResponse(ctx, validity.error());
  auto identity = kubeconfigIdentity(ctx.identity);
  if (!identity) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::Forbidden,
                       fmt::format("role {} gets no kubeconfig", roleName(ctx.identity.role))));
  }
  auto cluster = loadCluster(ctx);
  if (!cluster.ok()) co_return errorResponse(ctx, cluster.error());
  if (auto issuable = checkIssuable(*cluster); !issuable.ok()) {
    co_return errorResponse(ctx, issuable.error());
  }
  const std::string& name = cluster->metadata.name;
  auto coe = coeOf(store_, *cluster);
  if (!coe.ok()) co_return errorResponse(ctx, coe.error());
  bool kubernetes = *coe == "kubernetes";
  if (*coe != "kubernetes" && *coe != "swarm") {
    co_return errorResponse(ctx,
                            makeError(ErrorCode::BadRequest,
                                      fmt::format("{} runs {}, which takes no client certificates",
                                                  objectRef(api::Kind::Cluster, name), *coe)));
  }
  if (!kubernetes && *output != Output::Json) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::BadRequest,
                       fmt::format("{} runs swarm: it has no kubeconfig; ask with Accept: "
                                   "application/json for its client certificate and key (magnumctl "
                                   "config writes them as ca.pem, cert.pem and key.pem)",
                                   objectRef(api::Kind::Cluster, name))));
  }
  auto status = api::decodeClusterStatus(cluster->status);
  std::string server = status.ok() ? status->api_address : std::string();
  if (server.empty()) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::Conflict,
                       fmt::format("{} has no API address yet ({}); its credentials are issued "
                                   "once its API is up",
                                   objectRef(api::Kind::Cluster, name), phaseOf(*cluster))));
  }
  auto issued_result = co_await offload(
      pool_.get_executor(),
      [secrets = secrets_, cluster = *cluster, who = *identity,
       validity = *validity]() -> util::Result<Issued> {
        auto loaded = secrets->load(cluster);
        if (!loaded.ok()) return secretsError(cluster, loaded.takeError());
        pki::LeafSpec spec;
        spec.common_name = who.user;
        spec.organizations = who.groups;
        spec.usage = pki::ExtendedKeyUsage::ClientAuth;
        spec.validity = validity;
        Issued out;
        // During a CA rotation the kubeconfig trusts every CA an API server of the cluster may
        // present, and its certificate comes from the one they all trust (secrets/).
        const pki::CertificateAuthority authority = loaded->clientAuthority();
        out.ca_pem = authority.cert_pem;
        ASSIGN_OR_RETURN(out.certificate, pki::issueLeaf(authority, spec));
        return out;
      });
  if (!issued_result.ok()) co_return errorResponse(ctx, issued_result.error());
  Issued& creds = *issued_result;
  issued(ctx, *cluster, "kubeconfig", creds.certificate.cert_pem);
  std::string kubeconfig;
  if (kubernetes) {
    kubeconfig = renderKubeconfig({name, server, creds.ca_pem, identity->user,
                                   creds.certificate.cert_pem, creds.certificate.key_pem});
  }
  if (*output != Output::Json) {
    co_return textReply(http::status::ok, kYamlType, std::move(kubeconfig), true);
  }
  auto info = pki::inspectCertificate(creds.certificate.cert_pem);
  if (!info.ok()) co_return errorResponse(ctx, info.error());
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("cluster", util::str(name, a), a);
  doc.AddMember("namespace", util::str(cluster->metadata.namespace_, a), a);
  doc.AddMember("clusterUid", util::str(cluster->metadata.uid, a), a);
  doc.AddMember("coe", util::str(*coe, a), a);
  doc.AddMember("server", util::str(server, a), a);
  doc.AddMember("user", util::str(identity->user, a), a);
  util::Json groups(rapidjson::kArrayType);
  for (const auto& group : identity->groups) groups.PushBack(util::str(group, a), a);
  doc.AddMember("groups", groups, a);
  doc.AddMember("notAfter", util::str(util::formatRfc3339(info->not_after), a), a);
  doc.AddMember("certificateAuthority", util::str(creds.ca_pem, a), a);
  doc.AddMember("clientCertificate", util::str(creds.certificate.cert_pem, a), a);
  doc.AddMember("clientKey", util::str(creds.certificate.key_pem, a), a);
  if (kubernetes) doc.AddMember("kubeconfig", util::str(kubeconfig, a), a);
  co_return describedReply(ctx, http::status::ok, *output, doc, true);
}

}  // namespace magnumd::server
