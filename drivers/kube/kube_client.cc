#include "drivers/kube/kube_client.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <span>

#include "pki/encoding.h"
#include "util/json.h"
#include "util/url.h"

namespace magnumd::drivers::kube {

namespace asio = boost::asio;
using util::ErrorCode;
using util::makeError;

namespace {

std::string bounded(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  // Cut on a UTF-8 boundary: never leave half a character.
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

ApiFailure fromTransport(http::FailureKind kind) {
  switch (kind) {
    case http::FailureKind::Connect:
      return ApiFailure::Connect;
    case http::FailureKind::Tls:
      return ApiFailure::Tls;
    case http::FailureKind::Timeout:
      return ApiFailure::Timeout;
    case http::FailureKind::TooLarge:
      return ApiFailure::TooLarge;
    case http::FailureKind::Transport:
    case http::FailureKind::None:
      break;
  }
  return ApiFailure::Connect;
}

// The API's base URL without a trailing slash.
std::string baseOf(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// A policy/v1 Eviction of one pod.
std::string evictionBody(std::string_view ns, std::string_view name) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  util::Json meta(rapidjson::kObjectType);
  meta.AddMember("name", util::str(name, a), a);
  meta.AddMember("namespace", util::str(ns, a), a);
  doc.AddMember("apiVersion", "policy/v1", a);
  doc.AddMember("kind", "Eviction", a);
  doc.AddMember("metadata", meta, a);
  return util::toJson(doc);
}

NodeInfo parseNode(const util::Json& item, size_t max_message_bytes) {
  NodeInfo node;
  if (const auto* meta = util::member(item, "metadata")) {
    node.name = util::stringMember(*meta, "name").value_or("");
    if (const auto* labels = util::member(*meta, "labels"); labels && labels->IsObject()) {
      for (const auto& label : labels->GetObject()) {
        std::string_view key(label.name.GetString(), label.name.GetStringLength());
        if (key.starts_with(kRoleLabelPrefix) && key.size() > kRoleLabelPrefix.size()) {
          node.roles.emplace_back(key.substr(kRoleLabelPrefix.size()));
        } else if (key == kNodeGroupLabel && label.value.IsString()) {
          node.nodegroup = label.value.GetString();
        }
      }
      std::sort(node.roles.begin(), node.roles.end());
    }
  }
  if (const auto* spec = util::member(item, "spec")) {
    if (const auto* cordoned = util::member(*spec, "unschedulable"); cordoned && cordoned->IsBool()) {
      node.unschedulable = cordoned->GetBool();
    }
  }
  if (const auto* status = util::member(item, "status")) {
    if (const auto* info = util::member(*status, "nodeInfo")) {
      node.kubelet_version = util::stringMember(*info, "kubeletVersion").value_or("");
    }
    if (const auto* conditions = util::member(*status, "conditions");
        conditions && conditions->IsArray()) {
      for (const auto& c : conditions->GetArray()) {
        if (util::stringMember(c, "type").value_or("") != "Ready") continue;
        node.ready = util::stringMember(c, "status").value_or("Unknown");
        if (node.ready != "True" && node.ready != "False") node.ready = "Unknown";
        node.ready_reason =
            bounded(util::stringMember(c, "reason").value_or(""), max_message_bytes);
        node.ready_message =
            bounded(util::stringMember(c, "message").value_or(""), max_message_bytes);
        node.ready_since = bounded(util::stringMember(c, "lastTransitionTime").value_or(""), 40);
      }
    }
  }
  return node;
}

}  // namespace

std::string_view apiFailureName(ApiFailure failure) {
  switch (failure) {
    case ApiFailure::None:
      return "None";
    case ApiFailure::Connect:
      return "Connect";
    case ApiFailure::Tls:
      return "Tls";
    case ApiFailure::Timeout:
      return "Timeout";
    case ApiFailure::HttpStatus:
      return "HttpStatus";
    case ApiFailure::TooLarge:
      return "TooLarge";
    case ApiFailure::Malformed:
      return "Malformed";
    case ApiFailure::Credentials:
      return "Credentials";
  }
  return "None";
}

const NodeInfo* ApiObservation::node(std::string_view name) const {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                             [](const NodeInfo& n, std::string_view v) { return n.name < v; });
  return it != nodes.end() && it->name == name ? &*it : nullptr;
}

util::Result<std::string> parseVersion(std::string_view body) {
  auto doc = util::parseJson(body, 8);
  if (!doc.ok())
    return makeError(ErrorCode::BadRequest, "/version is not JSON: " + doc.error().message);
  auto version = doc->IsObject() ? util::stringMember(*doc, "gitVersion") : std::nullopt;
  if (!version || version->empty())
    return makeError(ErrorCode::BadRequest, "/version has no gitVersion");
  return bounded(*version, 64);
}

util::Result<NodePage> parseNodeList(std::string_view body, size_t max_message_bytes) {
  auto doc = util::parseJson(body);
  if (!doc.ok())
    return makeError(ErrorCode::BadRequest, "the node list is not JSON: " + doc.error().message);
  const auto* items = doc->IsObject() ? util::member(*doc, "items") : nullptr;
  if (items == nullptr || !(items->IsArray() || items->IsNull())) {
    return makeError(ErrorCode::BadRequest, "the node list has no items");
  }
  NodePage page;
  if (items->IsArray()) {
    for (const auto& item : items->GetArray()) {
      auto node = parseNode(item, max_message_bytes);
      if (!node.name.empty()) page.nodes.push_back(std::move(node));
    }
  }
  if (const auto* meta = util::member(*doc, "metadata")) {
    page.continue_token = util::stringMember(*meta, "continue").value_or("");
  }
  return page;
}

std::string describeHttpError(int status, std::string_view body, size_t max_bytes) {
  std::string detail;
  if (auto doc = util::parseJson(body, 16); doc.ok() && doc->IsObject()) {
    detail = util::stringMember(*doc, "message").value_or("");
  }
  if (detail.empty()) detail = std::string(body.substr(0, std::min(body.size(), max_bytes)));
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  // /readyz lists its checks one per line: one line in a condition message.
  for (size_t at = detail.find('\n'); at != std::string::npos; at = detail.find('\n', at)) {
    detail.replace(at, 1, "; ");
  }
  return detail.empty() ? fmt::format("HTTP {}", status)
                        : fmt::format("HTTP {}: {}", status, bounded(detail, max_bytes));
}

KubeClient::KubeClient(http::HttpClient& http, KubeClientOptions options)
    : http_(http), options_(options) {}

struct KubeClient::Answer {
  int status = 0;  // 0: no answer
  std::string body;
  ApiFailure failure = ApiFailure::None;
  std::string error;
};

asio::awaitable<KubeClient::Answer> KubeClient::get(std::string url, http::TlsContextPtr tls,
                                                    uint64_t limit) {
  co_return co_await call("GET", std::move(url), "", "", std::move(tls), limit);
}

asio::awaitable<KubeClient::Answer> KubeClient::call(std::string method, std::string url,
                                                     std::string body, std::string content_type,
                                                     http::TlsContextPtr tls, uint64_t limit) {
  http::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.headers = {{"Accept", "application/json"}};
  if (!content_type.empty()) request.headers.push_back({"Content-Type", std::move(content_type)});
  request.body = std::move(body);
  request.tls = std::move(tls);
  request.max_response_bytes = limit;
  auto sent = co_await http_.send(std::move(request));
  Answer answer;
  if (!sent.ok()) {
    answer.failure = fromTransport(http::failureKind(sent.error()));
    answer.error = sent.error().message;
    co_return answer;
  }
  answer.status = sent->status;
  answer.body = std::move(sent->body);
  co_return answer;
}

asio::awaitable<ApiObservation> KubeClient::observe(std::string api_url, http::TlsContextPtr tls) {
  ApiObservation out;
  const std::string base = baseOf(std::move(api_url));
  auto version = co_await get(base + "/version", tls, options_.max_small_response_bytes);
  if (version.status == 0) {
    out.failure = version.failure;
    out.error = version.error;
    co_return out;
  }
  if (version.status != 200) {
    out.failure = ApiFailure::HttpStatus;
    out.error = "GET /version: " +
                describeHttpError(version.status, version.body, options_.max_message_bytes);
    co_return out;
  }
  auto parsed = parseVersion(version.body);
  if (!parsed.ok()) {
    out.failure = ApiFailure::Malformed;
    out.error = parsed.error().message;
    co_return out;
  }
  out.reachable = true;
  out.git_version = std::move(*parsed);
  co_await readiness(base, tls, &out);
  co_await listNodes(base, tls, &out);
  co_return out;
}

asio::awaitable<void> KubeClient::readiness(std::string base, http::TlsContextPtr tls,
                                            ApiObservation* out) {
  auto answer = co_await get(base + "/readyz", tls, options_.max_small_response_bytes);
  if (answer.status == 404) {  // servers older than 1.16 have only /healthz
    answer = co_await get(base + "/healthz", tls, options_.max_small_response_bytes);
  }
  if (answer.status == 0) {
    out->readiness_error = bounded(answer.error, options_.max_message_bytes);
  } else if (answer.status != 200) {
    out->readiness_error =
        describeHttpError(answer.status, answer.body, options_.max_message_bytes);
  } else {
    out->ready = true;
  }
}

asio::awaitable<void> KubeClient::listNodes(std::string base, http::TlsContextPtr tls,
                                            ApiObservation* out) {
  std::vector<NodeInfo> nodes;
  std::string token;
  for (int page = 0; page < options_.max_node_pages; ++page) {
    std::string url = fmt::format("{}/api/v1/nodes?limit={}", base, options_.nodes_page_size);
    if (!token.empty()) url += "&continue=" + util::percentEncode(token);
    auto answer = co_await get(std::move(url), tls, options_.max_nodes_response_bytes);
    if (answer.status != 200) {
      out->failure = answer.status == 0 ? answer.failure : ApiFailure::HttpStatus;
      out->error = answer.status == 0
                       ? answer.error
                       : "GET /api/v1/nodes: " + describeHttpError(answer.status, answer.body,
                                                                   options_.max_message_bytes);
      co_return;
    }
    auto parsed = parseNodeList(answer.body, options_.max_message_bytes);
    if (!parsed.ok()) {
      out->failure = ApiFailure::Malformed;
      out->error = parsed.error().message;
      co_return;
    }
    for (auto& n : parsed->nodes) nodes.push_back(std::move(n));
    token = std::move(parsed->continue_token);
    if (token.empty()) {
      std::sort(nodes.begin(), nodes.end(),
                [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
      nodes.erase(
          std::unique(nodes.begin(), nodes.end(),
                      [](const NodeInfo& a, const NodeInfo& b) { return a.name == b.name; }),
          nodes.end());
      out->nodes = std::move(nodes);
      out->nodes_listed = true;
      co_return;
    }
  }
  out->failure = ApiFailure::TooLarge;
  out->error = fmt::format("GET /api/v1/nodes: more than {} pages of {} nodes",
                           options_.max_node_pages, options_.nodes_page_size);
}

util::Result<DrainablePods> parseDrainablePods(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok())
    return makeError(ErrorCode::BadRequest, "the pod list is not JSON: " + doc.error().message);
  const auto* items = doc->IsObject() ? util::member(*doc, "items") : nullptr;
  if (items == nullptr || !(items->IsArray() || items->IsNull())) {
    return makeError(ErrorCode::BadRequest, "the pod list has no items");
  }
  DrainablePods out;
  if (!items->IsArray()) return out;
  for (const auto& pod : items->GetArray()) {
    const auto* meta = util::member(pod, "metadata");
    if (meta == nullptr) continue;
    // kubectl drain leaves DaemonSet pods (--ignore-daemonsets) and mirror (static) pods alone.
    bool skip = false;
    if (const auto* owners = util::member(*meta, "ownerReferences"); owners && owners->IsArray()) {
      for (const auto& o : owners->GetArray()) {
        if (util::stringMember(o, "kind").value_or("") == "DaemonSet") skip = true;
      }
    }
    if (const auto* notes = util::member(*meta, "annotations"); notes && notes->IsObject()) {
      if (util::member(*notes, "kubernetes.io/config.mirror") != nullptr) skip = true;
    }
    if (const auto* status = util::member(pod, "status")) {
      auto phase = util::stringMember(*status, "phase").value_or("");
      if (phase == "Succeeded" || phase == "Failed") skip = true;
    }
    if (skip) continue;
    if (util::member(*meta, "deletionTimestamp") != nullptr) {
      out.terminating++;
      continue;
    }
    auto ns = util::stringMember(*meta, "namespace").value_or("");
    auto name = util::stringMember(*meta, "name").value_or("");
    if (!ns.empty() && !name.empty()) out.to_evict.emplace_back(std::move(ns), std::move(name));
  }
  return out;
}

asio::awaitable<util::Result<DrainProgress>> ApiProber::drainStep(std::string, http::TlsContextPtr,
                                                                  std::string) {
  co_return makeError(ErrorCode::Unavailable, "this client cannot drain nodes");
}

asio::awaitable<util::Status> ApiProber::deleteNode(std::string, http::TlsContextPtr, std::string) {
  co_return makeError(ErrorCode::Unavailable, "this client cannot delete nodes");
}

asio::awaitable<util::Status> ApiProber::setClusterInfoCa(std::string, http::TlsContextPtr,
                                                          std::string) {
  co_return makeError(ErrorCode::Unavailable, "this client cannot write cluster-info");
}

asio::awaitable<util::Status> ApiProber::refreshBootstrapToken(std::string, http::TlsContextPtr,
                                                               std::string, util::SystemTime) {
  co_return makeError(ErrorCode::Unavailable, "this client cannot write bootstrap tokens");
}

std::string bootstrapTokenSecretJson(std::string_view token, util::SystemTime expires) {
  const auto dot = token.find('.');
  const std::string_view id = token.substr(0, dot);
  const std::string_view secret = dot == std::string_view::npos ? "" : token.substr(dot + 1);
  auto b64 = [](std::string_view text) {
    return pki::base64Encode(
        std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  };
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("apiVersion", "v1", a);
  doc.AddMember("kind", "Secret", a);
  util::Json meta(rapidjson::kObjectType);
  meta.AddMember("name", util::str(fmt::format("bootstrap-token-{}", id), a), a);
  meta.AddMember("namespace", "kube-system", a);
  doc.AddMember("metadata", meta, a);
  doc.AddMember("type", "bootstrap.kubernetes.io/token", a);
  util::Json data(rapidjson::kObjectType);
  for (auto [key, value] :
       {std::pair<std::string_view, std::string>{"token-id", std::string(id)},
        {"token-secret", std::string(secret)},
        {"expiration", util::formatRfc3339(expires)},
        {"usage-bootstrap-authentication", "true"},
        {"usage-bootstrap-signing", "true"},
        {"auth-extra-groups", "system:bootstrappers:kubeadm:default-node-token"},
        {"description", "refreshed by magnumd while nodes may still join"}}) {
    data.AddMember(util::str(key, a), util::str(b64(value), a), a);
  }
  doc.AddMember("data", data, a);
  return util::toJson(doc);
}

util::Result<std::string> replaceKubeconfigCa(std::string_view kubeconfig_yaml,
                                              std::string_view ca_bundle_pem) {
  YAML::Node config;
  try {
    config = YAML::Load(std::string(kubeconfig_yaml));
  } catch (const YAML::Exception& e) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("cluster-info's kubeconfig is not YAML: {}", e.msg));
  }
  if (!config.IsMap() || !config["clusters"].IsSequence() || config["clusters"].size() == 0) {
    return makeError(ErrorCode::BadRequest, "cluster-info's kubeconfig has no clusters");
  }
  const auto pem = std::span(reinterpret_cast<const unsigned char*>(ca_bundle_pem.data()),
                             ca_bundle_pem.size());
  for (auto entry : config["clusters"]) {
    if (!entry.IsMap() || !entry["cluster"].IsMap()) {
      return makeError(ErrorCode::BadRequest, "cluster-info's kubeconfig has a cluster without "
                                              "its cluster section");
    }
    entry["cluster"]["certificate-authority-data"] = pki::base64Encode(pem);
  }
  YAML::Emitter out;
  out << config;
  if (!out.good()) {
    return makeError(ErrorCode::Internal,
                     fmt::format("cluster-info's kubeconfig cannot be written: {}",
                                 out.GetLastError()));
  }
  return std::string(out.c_str()) + "\n";
}

asio::awaitable<util::Result<DrainProgress>> KubeClient::drainStep(std::string api_url,
                                                                   http::TlsContextPtr tls,
                                                                   std::string node) {
  const std::string base = baseOf(std::move(api_url));
  const std::string node_path = "/api/v1/nodes/" + util::percentEncode(node);
  auto fail = [&](std::string_view what, const Answer& a) {
    return makeError(a.status == 0 ? ErrorCode::Unavailable : ErrorCode::Internal,
                     fmt::format("{} {}: {}", what, node,
                                 a.status == 0 ? a.error
                                               : describeHttpError(a.status, a.body,
                                                                   options_.max_message_bytes)));
  };
  DrainProgress progress;
  // kubectl cordon sends a strategic merge patch; a merge patch says the same for this field.
  auto cordoned = co_await call("PATCH", base + node_path, R"({"spec":{"unschedulable":true}})",
                                "application/merge-patch+json", tls,
                                options_.max_small_response_bytes * 4);
  if (cordoned.status == 404) {
    progress.node_found = false;
    co_return progress;
  }
  if (cordoned.status != 200) co_return fail("cordoning node", cordoned);

  auto listed = co_await get(
      fmt::format("{}/api/v1/pods?fieldSelector={}&limit={}", base,
                  util::percentEncode("spec.nodeName=" + node), options_.max_drain_pods),
      tls, options_.max_nodes_response_bytes);
  if (listed.status != 200) co_return fail("listing the pods of node", listed);
  auto pods = parseDrainablePods(listed.body);
  if (!pods.ok()) co_return pods.takeError();
  progress.pods_left = pods->terminating;
  for (const auto& [ns, name] : pods->to_evict) {
    const std::string body = evictionBody(ns, name);
    auto evicted = co_await call(
        "POST",
        fmt::format("{}/api/v1/namespaces/{}/pods/{}/eviction", base, util::percentEncode(ns),
                    util::percentEncode(name)),
        body, "application/json", tls, options_.max_small_response_bytes);
    if (evicted.status == 404) continue;  // already gone
    progress.pods_left++;
    if (evicted.status == 429) progress.evictions_refused++;
  }
  co_return progress;
}

asio::awaitable<util::Status> KubeClient::deleteNode(std::string api_url, http::TlsContextPtr tls,
                                                     std::string node) {
  auto answer = co_await call("DELETE", baseOf(std::move(api_url)) + "/api/v1/nodes/" +
                                            util::percentEncode(node),
                              "", "", std::move(tls), options_.max_small_response_bytes * 4);
  if (answer.status == 200 || answer.status == 202 || answer.status == 404) co_return util::Status{};
  co_return makeError(answer.status == 0 ? ErrorCode::Unavailable : ErrorCode::Internal,
                      fmt::format("deleting node {}: {}", node,
                                  answer.status == 0
                                      ? answer.error
                                      : describeHttpError(answer.status, answer.body,
                                                          options_.max_message_bytes)));
}

asio::awaitable<util::Status> KubeClient::setClusterInfoCa(std::string api_url,
                                                           http::TlsContextPtr tls,
                                                           std::string ca_bundle_pem) {
  const std::string url =
      baseOf(std::move(api_url)) + "/api/v1/namespaces/kube-public/configmaps/cluster-info";
  auto failed = [&](const Answer& answer, std::string_view what) {
    return makeError(answer.status == 0 ? ErrorCode::Unavailable : ErrorCode::Internal,
                     fmt::format("{} cluster-info: {}", what,
                                 answer.status == 0
                                     ? answer.error
                                     : describeHttpError(answer.status, answer.body,
                                                         options_.max_message_bytes)));
  };
  auto got = co_await get(url, tls, options_.max_small_response_bytes * 4);
  if (got.status != 200) co_return failed(got, "reading");
  auto doc = util::parseJson(got.body);
  const util::Json* data = doc.ok() && doc->IsObject() ? util::member(*doc, "data") : nullptr;
  auto kubeconfig = data != nullptr && data->IsObject()
                        ? util::stringMember(*data, "kubeconfig")
                        : std::nullopt;
  if (!kubeconfig) co_return makeError(ErrorCode::Internal, "cluster-info has no data.kubeconfig");
  auto replaced = replaceKubeconfigCa(*kubeconfig, ca_bundle_pem);
  if (!replaced.ok()) co_return replaced.takeError();
  if (*replaced == *kubeconfig) co_return util::Status{};

  util::JsonDoc patch;
  auto& a = patch.GetAllocator();
  patch.SetObject();
  util::Json patch_data(rapidjson::kObjectType);
  patch_data.AddMember("kubeconfig", util::str(*replaced, a), a);
  patch.AddMember("data", patch_data, a);
  auto written = co_await call("PATCH", url, util::toJson(patch), "application/merge-patch+json",
                               std::move(tls), options_.max_small_response_bytes * 4);
  if (written.status != 200) co_return failed(written, "writing");
  co_return util::Status{};
}

asio::awaitable<util::Status> KubeClient::refreshBootstrapToken(std::string api_url,
                                                                http::TlsContextPtr tls,
                                                                std::string token,
                                                                util::SystemTime expires) {
  const std::string collection = baseOf(std::move(api_url)) + "/api/v1/namespaces/kube-system/secrets";
  const std::string id = token.substr(0, token.find('.'));
  std::string body = bootstrapTokenSecretJson(token, expires);
  auto failed = [&](const Answer& answer) {
    return makeError(answer.status == 0 ? ErrorCode::Unavailable : ErrorCode::Internal,
                     fmt::format("writing bootstrap token {}: {}", id,
                                 answer.status == 0
                                     ? answer.error
                                     : describeHttpError(answer.status, answer.body,
                                                         options_.max_message_bytes)));
  };
  auto put = co_await call("PUT", collection + "/bootstrap-token-" + util::percentEncode(id), body,
                           "application/json", tls, options_.max_small_response_bytes);
  if (put.status == 200 || put.status == 201) co_return util::Status{};
  if (put.status != 404) co_return failed(put);
  auto post = co_await call("POST", collection, std::move(body), "application/json",
                            std::move(tls), options_.max_small_response_bytes);
  if (post.status == 200 || post.status == 201) co_return util::Status{};
  co_return failed(post);
}

}  // namespace magnumd::drivers::kube
