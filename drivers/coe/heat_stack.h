// A cluster's Heat stack, rendered from the HOT templates under drivers/coe/templates/ the way
// Magnum's kubecluster.yaml, kubemaster.yaml and kubeminion.yaml read: cluster.yaml.tmpl (the
// private network, security groups, the API's stable endpoint, one OS::Heat::ResourceGroup per
// node group, the outputs) and, per node group, master.yaml.tmpl or worker.yaml.tmpl as the
// group's provider template (port, floating IP, volumes, server, load balancer member), passed in
// the stack's `files`. The code decides which sections apply and what the parameters are; the
// text is the templates'. docs/bootstrap.md ("Infrastructure") lists every label read here.
//
// Pure and deterministic: the same shape renders the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/coe/coe_driver.h"
#include "util/result.h"

namespace magnumd::coe {

// What differs between COEs in the stack: the API's port on the masters and the load balancer.
struct StackFacts {
  std::string_view coe;  // kubernetes | swarm | mesos: the templates' COE-specific sections
  int64_t api_port = 0;
  std::string coe_version;
};

// Fails, naming the field or label, when the shape cannot become a working stack (a label that is
// not a number, several masters without a stable API address, a load balancer without a subnet).
util::Result<StackDefinition> renderStack(const ClusterShape& cluster, const StackFacts& facts,
                                          int64_t timeout_mins);

// The provider template of a node group in the stack's `files`: "ng_default_worker.yaml".
std::string providerTemplateName(std::string_view nodegroup);

// The files under drivers/coe/templates/, embedded at build time; nullopt for an unknown name.
std::optional<std::string_view> embeddedStackTemplate(std::string_view file_name);

}  // namespace magnumd::coe
