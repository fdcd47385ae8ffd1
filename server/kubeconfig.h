// The kubeconfig the credentials endpoint hands out, laid out as `openstack coe cluster config`
// writes it: one cluster named after the Cluster (its CA inline, its API address), one user named
// after the certificate's CN (certificate and key inline), one context "default" joining them.
// `magnumd --dev` writes its own (for kubectl and magnumctl) the same way, with a bearer token.
#pragma once

#include <string>

namespace magnumd::server {

inline constexpr const char* kKubeconfigContext = "default";

struct KubeconfigParams {
  std::string cluster_name;
  std::string server;  // the Cluster's status.apiAddress
  std::string ca_pem;  // empty: clients trust their system's CAs
  std::string user;
  std::string client_certificate_pem;
  std::string client_key_pem;  // plaintext: the document must go only to its owner
  std::string token;           // set: the user authenticates with this bearer token instead
  std::string context = kKubeconfigContext;
  std::string namespace_;  // the context's namespace; empty: none
};

// YAML (client-go's clientcmd v1 Config), names quoted where YAML needs it.
std::string renderKubeconfig(const KubeconfigParams& params);

}  // namespace magnumd::server
