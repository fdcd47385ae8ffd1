#include "drivers/coe/coe_driver.h"

#include <fmt/format.h>

#include <cctype>

#include "drivers/coe/heat_stack.h"
#include "util/json.h"

namespace magnumd::coe {

namespace {

std::string identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

// Per-COE facts: how the API is reached and what the version label is called.
struct CoeFacts {
  std::string_view coe;
  int tls_port;
  int plain_port;
  std::string_view scheme_tls;
  std::string_view version_label;
  std::string_view default_version;
};

class HeatCoeDriver final : public CoeDriver {
 public:
  explicit HeatCoeDriver(CoeFacts facts) : facts_(facts) {}

  std::string_view coe() const override { return facts_.coe; }

  util::Result<StackDefinition> render(const ClusterShape& cluster,
                                       int64_t timeout_mins) const override {
    StackFacts stack{facts_.coe, cluster.tls_disabled ? facts_.plain_port : facts_.tls_port,
                     coeVersion(cluster)};
    return renderStack(cluster, stack, timeout_mins);
  }

  ClusterEndpoints endpoints(const ClusterShape& cluster,
                             const std::map<std::string, std::string>& outputs) const override {
    ClusterEndpoints e;
    e.coe_version = coeVersion(cluster);
    auto api = outputs.find("api_address");
    if (api != outputs.end()) {
      auto parsed = util::parseJson(api->second);
      if (parsed.ok() && parsed->IsString() && parsed->GetStringLength() > 0) {
        std::string_view address(parsed->GetString(), parsed->GetStringLength());
        bool tls = !cluster.tls_disabled;
        e.api_address = address.find("://") != std::string_view::npos
                            ? std::string(address)
                            : fmt::format("{}://{}:{}", tls ? facts_.scheme_tls : "http", address,
                                          tls ? facts_.tls_port : facts_.plain_port);
      }
    }
    for (const auto& ng : cluster.node_groups) {
      auto it = outputs.find(groupParameter(ng.key(), "addresses"));
      if (it == outputs.end()) continue;
      auto parsed = util::parseJson(it->second);
      if (!parsed.ok() || !parsed->IsArray()) continue;
      auto& into = ng.role == "master" ? e.master_addresses : e.node_addresses;
      for (const auto& v : parsed->GetArray()) {
        if (v.IsString() && v.GetStringLength() > 0) into.emplace_back(v.GetString());
      }
    }
    return e;
  }

  std::string coeVersion(const ClusterShape& cluster) const override {
    auto it = cluster.labels.find(std::string(facts_.version_label));
    return it != cluster.labels.end() && !it->second.empty() ? it->second
                                                            : std::string(facts_.default_version);
  }

 private:
  CoeFacts facts_;
};

}  // namespace

CoeDriverPtr makeCoeDriver(std::string_view coe) {
  if (coe == "kubernetes") {
    return std::make_unique<HeatCoeDriver>(CoeFacts{"kubernetes", 6443, 8080, "https", "kube_tag", "v1.18.2"});
  }
  if (coe == "swarm") {
    return std::make_unique<HeatCoeDriver>(CoeFacts{"swarm", 2376, 2375, "tcp", "swarm_tag", "1.2.5"});
  }
  if (coe == "mesos") {
    return std::make_unique<HeatCoeDriver>(CoeFacts{"mesos", 5050, 5050, "http", "mesos_tag", "1.0.0"});
  }
  return nullptr;
}

std::string stackNameFor(std::string_view cluster_name, std::string_view uid) {
  std::string name;
  for (char c : cluster_name.substr(0, 40)) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-');
  }
  std::string short_uid;
  for (char c : uid) {
    if (c != '-') short_uid.push_back(c);
    if (short_uid.size() == 12) break;
  }
  return fmt::format("{}-{}", name, short_uid);
}

std::string clusterTag(std::string_view uid) { return fmt::format("magnumd-cluster={}", uid); }

std::string groupResourceName(std::string_view nodegroup) {
  return "ng_" + identifier(nodegroup);
}

std::string groupParameter(std::string_view nodegroup, std::string_view what) {
  return fmt::format("ng_{}_{}", identifier(nodegroup), what);
}

std::optional<std::string> memberIndexOf(std::string_view server_name) {
  auto dash = server_name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == server_name.size()) return std::nullopt;
  auto index = server_name.substr(dash + 1);
  for (char c : index) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::string(index);
}

}  // namespace magnumd::coe
