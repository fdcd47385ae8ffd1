// The kubeconfig the credentials endpoint hands out, laid out as `openstack coe cluster config`
// writes it: one cluster named after the Cluster (its CA inline, its API address), one user named
// after the certificate's CN (certificate and key inline), one context "default" joining them.
#pragma once

#include <string>

namespace magnumd::server {

struct KubeconfigParams {
  std::string cluster_name;
  std::string server;  // the Cluster's status.apiAddress
  std::string ca_pem;
  std::string user;
  std::string client_certificate_pem;
  std::string client_key_pem;  // plaintext: the document must go only to its owner
};

inline constexpr const char* kKubeconfigContext = "default";

// YAML (client-go's clientcmd v1 Config), names quoted where YAML needs it.
std::string renderKubeconfig(const KubeconfigParams& params);

}  // namespace magnumd::server
