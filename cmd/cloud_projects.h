// Which OpenStack project each namespace's objects live in, wired for both users of the answer:
// on every replica, before the API serves, the API's Keystone validator and its admission's
// lookups (images and flavors in the namespace's project); on the elected leader, the
// reconcilers' clouds (one driver and one observer per project).
//
// With Keystone (--keystone-auth, --dev) a namespace that names a project acts in that project
// with magnumd's service user scoped to it; without it, or when magnumd logs in with an
// application credential (bound to one project), every namespace shares magnumd's own project.
#pragma once

#include <functional>
#include <memory>

#include "cmd/daemon.h"
#include "drivers/cloud_lookup.h"
#include "drivers/openstack/openstack_driver.h"
#include "drivers/openstack/project_drivers.h"
#include "reconcilers/project_clouds.h"
#include "util/time.h"

namespace magnumd::cmd {

class ProjectWiring {
 public:
  // `openstack` (magnumd's own driver) and `clock` must outlive this object.
  ProjectWiring(drivers::openstack::OpenStackDriver& openstack, const util::Clock& clock)
      : openstack_(openstack), clock_(clock) {}

  // Every replica: sets services.keystone and services.cloud_lookups.
  void start(Services& services);

  // The leader: the clouds its reconcilers act in, magnumd's own project through `call` and
  // `observer` (which, like `counting`, must outlive this object's stop()).
  reconcilers::CloudProjects& lead(Services& services, reconcilers::CloudCall& call,
                                   reconcilers::CloudObserver& observer,
                                   const reconcilers::CountingCloudDriver& counting,
                                   const reconcilers::ObserverOptions& observer_options,
                                   reconcilers::CloudObserver::ChangeCallback on_change,
                                   std::function<bool()> leading);

  // The per-project observers' pool; null with one project.
  const reconcilers::CloudPool* pool() const { return pool_.get(); }
  // Stops the per-project observers (not magnumd's own).
  void stop();

 private:
  drivers::openstack::OpenStackDriver& openstack_;
  const util::Clock& clock_;
  std::unique_ptr<drivers::openstack::KeystoneProjectDrivers> project_drivers_;  // null: one
  std::unique_ptr<drivers::NamespaceLookups> lookups_;  // admission's, in the same projects
  std::unique_ptr<reconcilers::OneProject> one_project_;
  std::unique_ptr<reconcilers::CloudPool> pool_;  // its drivers share openstack_'s HTTP client
};

}  // namespace magnumd::cmd
