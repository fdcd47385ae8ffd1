// What one Cluster pass knows: the object, its decoded spec and status, the template, the node
// groups, the rendered stack, what the cloud shows, and what this pass did. Internal to
// reconcilers/cluster/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/nodegroup.h"
#include "api/object.h"
#include "drivers/cloud_driver.h"
#include "drivers/coe/coe_driver.h"
#include "reconcilers/cloud_observer.h"

namespace magnumd::reconcilers {

struct ClusterScope {
  api::Object cluster;  // the latest stored version; replaced after every metadata write
  api::ClusterSpec spec;
  api::ClusterStatus old_status;
  std::optional<ObservedCluster> observed;

  std::optional<api::ClusterTemplateSpec> tmpl;
  std::optional<api::ClusterConfig> config;
  std::vector<api::Object> nodegroups;           // live, in stack order (masters first)
  std::vector<api::Object> deleting_nodegroups;  // deletionTimestamp set
  coe::CoeDriverPtr coe;
  coe::ClusterShape shape;
  std::optional<coe::StackDefinition> definition;
  std::string desired_hash;
  std::vector<api::CertificateAuthorityStatus> certificate_authorities;  // empty: not loaded

  // The stack as this pass leaves it: observed, or what an action just started.
  std::optional<drivers::Stack> stack;
  std::string blocked;      // why no cloud action can happen (template missing, ...)
  std::string failure;      // the cloud's explanation of a failed stack
  std::string progress;     // what the pass started, for statusReason ("scaling default-worker")
  bool timed_out = false;
  bool paused = false;

  const std::string& uid() const { return cluster.metadata.uid; }
  std::vector<drivers::Server> serversOf(const std::string& group) const;
};

}  // namespace magnumd::reconcilers
