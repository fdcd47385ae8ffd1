// Who trusts whom in a simulated cluster, the way the nodes' files say it: a master trusts every
// certificate of its ca.crt and signs with the first (its ca.key), a worker trusts what
// cluster-info held when it joined, and a kubelet's client certificate comes from the CA of the
// master that led when it joined. A node is Ready only while every running master and it accept
// each other, which is what a CA rotation done in the wrong order breaks.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cloudsim/kube_cluster.h"
#include "pki/ca.h"
#include "pki/certificate.h"
#include "pki/encoding.h"
#include "pki/leaf.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::Json;
using util::makeError;

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

constexpr std::string_view kUnknownAuthority = "x509: certificate signed by unknown authority";

}  // namespace

util::Result<std::vector<CaCert>> readCaBundle(std::string_view pem) {
  ASSIGN_OR_RETURN(auto certs, pki::parseCertificateBundlePem(pem));
  if (certs.size() > kMaxBundleCas) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{} certificates; cloudsim reads at most {} CAs in a bundle",
                                 certs.size(), kMaxBundleCas));
  }
  std::vector<CaCert> out;
  for (auto& cert : certs) {
    ASSIGN_OR_RETURN(std::string text, pki::certificateToPem(*cert));
    out.push_back({pki::caCertHash(*cert), std::move(text)});
  }
  return out;
}

util::Result<std::vector<CaCert>> clusterInfoCas(std::string_view kubeconfig) {
  auto invalid = [](std::string_view field, std::string_view why) {
    return makeError(ErrorCode::Invalid, fmt::format("{}: {}", field, why));
  };
  util::YamlLimits limits;
  limits.max_nodes = 2000;
  limits.max_documents = 1;
  limits.max_depth = 16;
  auto docs = util::parseYamlDocuments(kubeconfig, limits);
  if (!docs.ok()) return invalid("<kubeconfig>", docs.error().message);
  if (docs->empty() || !docs->front().IsObject()) {
    return invalid("<kubeconfig>", "not a kubeconfig (a YAML mapping with clusters)");
  }
  const Json* clusters = util::member(docs->front(), "clusters");
  if (clusters == nullptr || !clusters->IsArray() || clusters->Empty()) {
    return invalid("clusters", "expected a list whose first entry is the cluster");
  }
  const Json& first = (*clusters)[0];
  const Json* cluster = first.IsObject() ? util::member(first, "cluster") : nullptr;
  if (cluster == nullptr || !cluster->IsObject()) {
    return invalid("clusters[0].cluster",
                   "expected a mapping with server and "
                   "certificate-authority-data");
  }
  constexpr std::string_view kField = "clusters[0].cluster.certificate-authority-data";
  const Json* data = util::member(*cluster, "certificate-authority-data");
  if (data == nullptr || !data->IsString()) {
    return invalid(kField, "expected the base64 of the CA certificates (PEM)");
  }
  std::string text(data->GetString(), data->GetStringLength());
  std::erase_if(text, [](unsigned char c) { return std::isspace(c) != 0; });
  auto pem = pki::base64Decode(text);
  if (!pem) return invalid(kField, "not valid base64");
  auto bundle = readCaBundle(*pem);
  if (!bundle.ok()) return invalid(kField, bundle.error().message);
  return bundle;
}

std::string clusterInfoKubeconfig(std::string_view server, std::string_view ca_pem) {
  std::string data =
      pki::base64Encode({reinterpret_cast<const unsigned char*>(ca_pem.data()), ca_pem.size()});
  return fmt::format(
      "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n"
      "    server: https://{}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\n"
      "kind: Config\npreferences: {{}}\nusers: null\n",
      data, server);
}

std::vector<const KubeNode*> runningMasters(const KubeCluster& cluster) {
  std::vector<const KubeNode*> out;
  for (const auto& [name, node] : cluster.nodes) {
    if (node.control_plane && node.server_active && !node.orphaned) out.push_back(&node);
  }
  std::sort(out.begin(), out.end(),
            [](const KubeNode* a, const KubeNode* b) { return a->joined < b->joined; });
  return out;
}

std::string trustProblem(const KubeNode& node, const std::vector<const KubeNode*>& masters) {
  for (const KubeNode* m : masters) {
    if (!contains(node.trust.trusted, m->trust.signing)) {
      return fmt::format(
          R"(Get "https://{}:6443/api/v1/nodes/{}": tls: failed to verify certificate: {} )"
          "(kube-apiserver on {} serves a certificate of CA {}, which the kubelet does not trust)",
          m->internal_ip, node.name, kUnknownAuthority, m->name, m->trust.signing);
    }
    if (!contains(m->trust.trusted, node.trust.client_ca)) {
      return fmt::format(
          "Unauthorized: kube-apiserver on {} refuses the kubelet's client certificate: {} "
          "(it was signed by CA {}, which is not in that master's ca.crt)",
          m->name, kUnknownAuthority, node.trust.client_ca);
    }
  }
  return "";
}

util::Result<NodeTrust> KubeClusters::controlPlaneTrust(KubeCluster& cluster,
                                                        const NodeBootstrap& boot) {
  if (boot.ca_cert_pem.empty()) {
    return makeError(ErrorCode::BadRequest, "/etc/kubernetes/pki/ca.crt is not written");
  }
  auto bundle = readCaBundle(boot.ca_cert_pem);
  if (!bundle.ok()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("/etc/kubernetes/pki/ca.crt: {}", bundle.error().message));
  }
  NodeTrust trust;
  for (const CaCert& ca : *bundle) trust.trusted.push_back(ca.hash);
  trust.signing = trust.client_ca = bundle->front().hash;
  // kubeadm checks that ca.key is the key of ca.crt (its first certificate) before it runs a
  // control plane; the serving certificate of each signing CA is made once.
  bool have_serving = cluster.serving.contains(trust.signing);
  if (!boot.ca_key_pem.empty() || !have_serving) {
    pki::CertificateAuthority ca{bundle->front().pem, boot.ca_key_pem};
    auto loaded = pki::loadCertificateAuthority(ca);
    if (!loaded.ok()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("/etc/kubernetes/pki/ca.key and the first certificate of "
                                   "ca.crt: {}",
                                   loaded.error().message));
    }
    if (!have_serving) {
      auto serving = pki::issueLeaf(ca, *cluster.serving_spec);
      if (!serving.ok()) {
        return makeError(
            ErrorCode::Internal,
            fmt::format("cannot sign the apiserver certificate: {}", serving.error().message));
      }
      cluster.serving[trust.signing] = {std::move(serving->cert_pem), std::move(serving->key_pem)};
    }
  }
  for (CaCert& ca : *bundle) cluster.ca_pems.try_emplace(ca.hash, std::move(ca.pem));
  return trust;
}

NodeTrust KubeClusters::workerTrust(const KubeCluster& cluster) const {
  NodeTrust trust;
  trust.trusted = cluster.cluster_info.cas;
  // The controller-manager that signs the kubelet's CSR runs on the oldest master; while none
  // runs, the oldest there is.
  auto masters = runningMasters(cluster);
  const KubeNode* leader = masters.empty() ? nullptr : masters.front();
  if (leader == nullptr) {
    for (const auto& [name, node] : cluster.nodes) {
      if (node.control_plane && (leader == nullptr || node.joined < leader->joined)) leader = &node;
    }
  }
  if (leader != nullptr) {
    trust.client_ca = leader->trust.signing;
  } else if (!cluster.cluster_info.cas.empty()) {
    trust.client_ca = cluster.cluster_info.cas.front();
  }
  return trust;
}

void KubeClusters::refreshTrust(KubeCluster& cluster) {
  auto masters = runningMasters(cluster);
  std::vector<ApiServerMember> members;
  for (const KubeNode* m : masters) members.push_back({m->name, m->trust});
  if (!members.empty() && members != cluster.api_servers) {
    cluster.api_servers = std::move(members);
    if (host_ != nullptr && cluster.port != 0) host_->apiServersChanged(cluster);
  }
  for (auto& [name, node] : cluster.nodes) {
    if (node.orphaned) continue;  // Unknown until deleted, whatever it trusts
    std::string problem = trustProblem(node, masters);
    if (problem == node.trust_problem) continue;
    node.trust_problem = std::move(problem);
    bool was_ready = node.ready;
    updateReady(cluster, node, false);
    // Still NotReady, for another reason: the condition's message changed.
    if (!node.ready && !was_ready) record(cluster, "MODIFIED", node);
  }
}

}  // namespace magnumd::cloudsim
