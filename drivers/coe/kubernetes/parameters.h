// Labels and template fields → the values the node templates are rendered with. Internal to the
// bootstrap; every label read here has a row in docs/bootstrap.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "drivers/coe/kubernetes/bootstrap.h"
#include "util/result.h"

namespace magnumd::coe::kubernetes {

// A command-line flag of a Kubernetes component, "--name=value" without the dashes.
struct Arg {
  std::string name;
  std::string value;
};

inline constexpr std::string_view kDefaultFlannelTag = "v0.26.4";
inline constexpr std::string_view kDefaultCalicoTag = "v3.29.3";

struct NodeParameters {
  std::string kubernetes_version;  // "v1.32.4"
  std::string api_version;         // kubeadm.k8s.io/v1beta3 | v1beta4
  bool v1beta4 = true;
  std::string pod_subnet;
  std::string service_subnet;
  std::string image_repository;  // empty: kubeadm's default registry
  std::vector<Arg> apiserver_args, controller_manager_args, scheduler_args, kubelet_args;
  // CNI.
  std::string cni_manifest_url;
  std::string flannel_backend, flannel_subnet_len;
  std::string calico_encapsulation;
  // Runtime.
  std::vector<Arg> proxy_env;     // HTTP_PROXY=..., values escaped for systemd
  std::string insecure_registry;  // "host[:port]", empty when none
};

util::Result<NodeParameters> nodeParameters(const BootstrapInput& input);

// "--max-pods=200 --v=2" → {max-pods 200} {v 2}; `field` names the label in errors.
util::Result<std::vector<Arg>> parseExtraArgs(std::string_view field, std::string_view value);

}  // namespace magnumd::coe::kubernetes
