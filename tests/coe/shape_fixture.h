// Representative cluster shapes for the stack rendering tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "drivers/coe/coe_driver.h"

namespace magnumd::coe::testing {

// The seed's example cluster "prod": one master, three workers, flannel, floating IPs, no load
// balancer, a private network.
inline ClusterShape prodCluster() {
  ClusterShape c;
  c.name = "prod";
  c.namespace_ = "demo";
  c.uid = "4f9a1c2e-1111-4222-8333-444455556666";
  c.coe = "kubernetes";
  c.keypair = "demo-key";
  c.external_network = "public";
  c.dns_nameserver = "8.8.8.8";
  c.network_driver = "flannel";
  c.master_lb_enabled = false;
  c.floating_ip_enabled = true;
  c.labels = {{"kube_tag", "v1.28.2"}};
  NodeGroupShape master;
  master.name = "default-master";
  master.role = "master";
  master.node_count = 1;
  master.flavor = "m1.medium";
  master.image = "fcos";
  master.labels = c.labels;
  NodeGroupShape worker;
  worker.name = "default-worker";
  worker.role = "worker";
  worker.node_count = 3;
  worker.flavor = "m1.small";
  worker.image = "fcos";
  worker.removal_list = {"1"};
  worker.labels = c.labels;
  c.node_groups = {master, worker};
  return c;
}

// Sets a label on the cluster and on every node group (what label resolution gives them).
inline void setLabel(ClusterShape& c, const std::string& key, const std::string& value) {
  c.labels[key] = value;
  for (auto& ng : c.node_groups) ng.labels[key] = value;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace magnumd::coe::testing
