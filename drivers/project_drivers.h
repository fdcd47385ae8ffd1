// Where a namespace's cloud actions happen when namespaces are Keystone projects: magnumd's
// service user holds a role on each project and acts there with a token scoped to it, so stacks
// and servers belong to the project as they do under Magnum. The OpenStack implementation is
// drivers/openstack/project_drivers.h; reconcilers/project_clouds.h keeps one driver and one
// observer per project.
#pragma once

#include <string>
#include <vector>

#include "drivers/cloud_driver.h"

namespace magnumd::drivers {

class ProjectDrivers {
 public:
  virtual ~ProjectDrivers() = default;

  // The id of the project namespace `ns` names (its id, or else its name where unambiguous)
  // among the projects magnumd's service user may act in; "" when `ns` names none and is not
  // shaped like a project id, so magnumd's own project serves it (a token-file user's namespace
  // such as "default"). Forbidden, naming the fix, when `ns` looks like a project id magnumd
  // has no role on; Unavailable when Keystone cannot be asked.
  virtual Task<std::string> projectOf(std::string ns) = 0;

  // The ids of every project magnumd's service user may act in, so each is observed even when
  // no namespace has named it yet (a restarted magnumd still collects the orphan stacks of a
  // project whose clusters were all deleted while it was down).
  virtual Task<std::vector<std::string>> projects() = 0;

  // A driver acting in `project_id` with a token scoped to it (cached, renewed before expiry).
  virtual util::Result<CloudDriverPtr> open(const std::string& project_id) = 0;
};

}  // namespace magnumd::drivers
