// The cloud half of magnumd: the cloud driver (real OpenStack from clouds.yaml, or an embedded
// cloudsim in --dev), the observer, and the Cluster / NodeGroup reconcilers and the garbage
// collector under a controller Manager — wired as one Daemon Component.
//
// With Keystone (--keystone-auth, --dev) a namespace that names a project (its id, or its name
// where unambiguous) is acted on in that project, by magnumd's service user holding a role there,
// with one observer per project; other namespaces, and every namespace without Keystone, use the
// configured cloud's own project.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cmd/daemon.h"

namespace CLI {
class App;
}

namespace magnumd::cmd {

struct CloudOptions {
  bool enabled = true;            // --no-controllers: API only
  std::string os_cloud;           // --os-cloud (clouds.yaml entry); "" = OS_CLOUD / OS_* env
  double sync_interval_seconds = 10;
  int sweep_pages = 1;            // background sweep pages per sync period
  int workers = 4;
  double orphan_grace_seconds = 300;
  double failed_retry_seconds = 60;
  // Each Kubernetes cluster's own API (ControlPlaneObserver).
  double api_probe_interval_seconds = 10;
  int api_probes = 32;  // probes in flight at once, over all clusters
  // Certificates are renewed this long before they expire (a CA by a rotation, the masters'
  // kubeadm certificates by replacing the masters), like KubeadmControlPlane's
  // rolloutBefore.certificatesExpiryDays.
  std::string renew_before = "30d";
  // --dev only: the embedded cloudsim.
  uint16_t dev_cloud_port = 0;
  double dev_server_build_seconds = 1;
};

// Registers --os-cloud, --sync-interval, --workers, --orphan-grace, ... on `app`.
void addCloudFlags(CLI::App& app, CloudOptions& options);

std::unique_ptr<Component> makeCloudComponent(CloudOptions options);

}  // namespace magnumd::cmd
