// Request targets of the REST API, parsed into what a handler needs:
//   /apis/container-infra/v1/namespaces/{ns}/{plural}[/{name}[/status]]
//   /apis/container-infra/v1/namespaces/{ns}/clusters/{name}/{ca|certificates|kubeconfig}
//   /apis/container-infra/v1/{plural}                 (every namespace: list and watch only)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"
#include "util/result.h"

namespace magnumd::server {

enum class Subresource {
  None,
  Status,        // any kind: the status the controllers write
  Ca,            // clusters: the cluster's CA certificate
  Certificates,  // clusters: sign a client CSR with the cluster's CA
  Kubeconfig,    // clusters: a kubeconfig with a freshly issued client certificate
};

struct ResourcePath {
  api::Kind kind = api::Kind::Cluster;
  std::string namespace_;  // empty: every namespace
  std::string name;        // empty: the collection
  Subresource subresource = Subresource::None;

  bool collection() const { return name.empty(); }
  bool allNamespaces() const { return namespace_.empty(); }
  bool status() const { return subresource == Subresource::Status; }
  // The credentials endpoints (ca, certificates, kubeconfig).
  bool credentials() const {
    return subresource == Subresource::Ca || subresource == Subresource::Certificates ||
           subresource == Subresource::Kubeconfig;
  }
  // "clusters", "clusters/status", "clusters/kubeconfig", for metrics and messages.
  std::string resource() const;
};

using QueryParams = std::map<std::string, std::string, std::less<>>;

struct Target {
  std::string path;  // percent-decoded
  QueryParams query; // percent-decoded; the last value wins for repeated keys
};

// BadRequest when the target is not an origin-form URI.
util::Result<Target> parseTarget(std::string_view target);

inline constexpr std::string_view kApiPrefix = "/apis/container-infra/v1";

// nullopt when `path` is not under kApiPrefix; NotFound naming the path for unknown resources.
std::optional<util::Result<ResourcePath>> parseResourcePath(std::string_view path);

// Query parameter helpers with errors that name the parameter.
util::Result<bool> boolParam(const QueryParams& q, std::string_view name, bool fallback = false);
util::Result<int64_t> intParam(const QueryParams& q, std::string_view name, int64_t fallback = 0);
std::string_view stringParam(const QueryParams& q, std::string_view name);

}  // namespace magnumd::server
