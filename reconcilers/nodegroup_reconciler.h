// The NodeGroup reconciler: keeps the finalizer on node groups of live clusters and reports each
// group's nodes (name, server id, Nova status, addresses) and phase from the observer's cache.
// It never talks to the cloud: the Cluster reconciler owns the stack, and a NodeGroup's spec
// change reaches it through the NodeGroup → Cluster mapping. A deleted NodeGroup's finalizer is
// dropped by the Cluster reconciler once the stack no longer has its servers (or here, when its
// cluster is gone).
#pragma once

#include "controller/event_recorder.h"
#include "controller/types.h"
#include "reconcilers/project_clouds.h"
#include "store/store.h"
#include "util/time.h"

namespace magnumd::reconcilers {

struct NodeGroupDeps {
  store::Store& store;
  CloudProjects& clouds;  // the observer of the node group's project
  controller::EventRecorder& events;
  const util::Clock& clock;
};

class NodeGroupReconciler final : public controller::Reconciler {
 public:
  explicit NodeGroupReconciler(NodeGroupDeps deps) : deps_(deps) {}
  controller::Result reconcile(const controller::Request& request) override;

 private:
  NodeGroupDeps deps_;
};

}  // namespace magnumd::reconcilers
