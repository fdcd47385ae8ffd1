// What each node boots with: the cluster's secrets (generated on the first pass, before any
// server exists) and, for Kubernetes, one cloud-config per node group rendered from them. The
// stack carries the user_data; Heat fills in the member index and the control plane's address.
#include <fmt/format.h>

#include "drivers/coe/kubernetes/bootstrap.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"

namespace magnumd::reconcilers {

namespace {

std::optional<std::string> nonEmpty(const std::optional<std::string>& value) {
  if (value && !value->empty()) return value;
  return std::nullopt;
}

}  // namespace

util::Status ClusterReconciler::renderBootstrap(ClusterScope& scope) {
  if (deps_.secrets == nullptr) return {};
  if (!scope.secrets) {
    ASSIGN_OR_RETURN(scope.secrets, deps_.secrets->ensure(scope.cluster));
  }
  const secrets::ClusterSecrets& secrets = *scope.secrets;
  ASSIGN_OR_RETURN(auto summary, secrets::summarize(secrets.pki));
  scope.certificate_authorities.clear();
  for (const auto& ca : summary) {
    scope.certificate_authorities.push_back(
        {ca.name, ca.fingerprint, util::formatRfc3339(ca.not_after)});
  }
  if (scope.shape.coe != "kubernetes") return {};

  const auto& tmpl = *scope.tmpl;
  coe::kubernetes::BootstrapInput in;
  in.cluster_name = scope.shape.name;
  in.cluster_uid = scope.shape.uid;
  in.control_plane_host = std::string(coe::kApiHostToken);
  in.bootstrap_token = secrets.bootstrap_token;
  // kubeadm init creates the token with the lifetime the cluster was made with (--join-token-ttl
  // then, 24 h by default), counted from the first master's boot; magnumd renews it in the
  // cluster (refreshJoinToken). Kept with the secret, so the rendered stack stays the same.
  in.token_ttl = secrets.token_ttl;
  in.network_driver = tmpl.network_driver;
  in.http_proxy = nonEmpty(tmpl.http_proxy);
  in.https_proxy = nonEmpty(tmpl.https_proxy);
  in.no_proxy = nonEmpty(tmpl.no_proxy);
  in.insecure_registry = nonEmpty(tmpl.insecure_registry);
  for (auto& group : scope.shape.node_groups) {
    const bool master = group.role == api::kRoleMaster;
    in.nodegroup = group.name;
    in.role = master ? coe::kubernetes::NodeRole::Master : coe::kubernetes::NodeRole::Worker;
    in.node_name = fmt::format("{}-{}-%index%", scope.shape.name, group.key());
    in.member_index = "%index%";
    in.labels = group.labels;
    in.node_labels = group.node_labels;
    in.node_taints = group.node_taints;
    // The CA set of the group's revision: during a CA rotation the revisions differ.
    auto set = api::parseCaSet(group.pki);
    if (!set) {
      return util::makeError(
          util::ErrorCode::Internal,
          fmt::format("node group {}: CA set \"{}\" cannot be read", group.name, group.pki));
    }
    ASSIGN_OR_RETURN(in.pki, secrets.nodePki(*set));
    auto user_data = coe::kubernetes::renderUserData(in);
    if (!user_data.ok()) {
      auto error = user_data.takeError();
      error.message = fmt::format("node group {}: {}", group.name, error.message);
      return error;
    }
    group.user_data = std::move(*user_data);
  }
  return {};
}

}  // namespace magnumd::reconcilers
