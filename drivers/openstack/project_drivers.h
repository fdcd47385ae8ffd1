// ProjectDrivers over Keystone: the projects magnumd's service user may act in are those it has
// a role on (GET /v3/auth/projects, listed again on a miss at most every `relist_after`), and a
// project's driver is the service driver rescoped to it, sharing its HTTP client. The service
// user's password stays where it is (clouds.yaml); nothing per project is stored.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/cloud_lookup.h"
#include "drivers/openstack/openstack_driver.h"
#include "drivers/project_drivers.h"
#include "util/time.h"

namespace magnumd::drivers::openstack {

struct KeystoneProjectsOptions {
  std::chrono::seconds relist_after{30};
  // A namespace shaped like a project id that is not in the listing relists sooner: it is most
  // likely a project an operator just created or granted magnumd a role on, and the API refuses
  // its writes until it is found.
  std::chrono::seconds relist_id_after{1};
};

// Keystone's own project ids are uuid4 hex: 32 lowercase hex digits.
bool looksLikeProjectId(std::string_view ns);

class KeystoneProjectDrivers final : public ProjectDrivers {
 public:
  // `service` is magnumd's own driver (its project serves namespaces that name none); it must
  // outlive this object and every driver it opens.
  KeystoneProjectDrivers(OpenStackDriver& service, const util::Clock& clock,
                         KeystoneProjectsOptions options = {});

  Task<std::string> projectOf(std::string ns) override;
  Task<std::vector<std::string>> projects() override;
  util::Result<CloudDriverPtr> open(const std::string& project_id) override;

  uint64_t listings() const;
  // The service user's name (its id when configured by id), as operators name it in commands.
  std::string serviceUser() const;

 private:
  // The project `ns` names in the cached list: its id, "" when none, Forbidden when ambiguous.
  util::Result<std::string> find(const std::string& ns) const;  // mutex_ held
  // GET /v3/auth/projects into the cache.
  boost::asio::awaitable<util::Status> relist();

  OpenStackDriver& service_;
  const util::Clock& clock_;
  const KeystoneProjectsOptions options_;

  mutable std::mutex mutex_;
  std::vector<ProjectRef> projects_;
  std::optional<util::SystemTime> listed_at_;
  uint64_t listings_ = 0;
};

// Admission's lookups in the project a namespace names, by the service user scoped to it (one
// driver per project, opened on first use and kept, sharing the service driver's HTTP client);
// namespaces that name no project look up in magnumd's own project. Key pairs are the service
// user's in every project, as Nova keeps them per user.
class KeystoneProjectLookups final : public NamespaceLookups {
 public:
  // `projects` and `service` must outlive this object.
  KeystoneProjectLookups(KeystoneProjectDrivers& projects, OpenStackDriver& service)
      : projects_(projects), service_(service) {}

  Task<ProjectLookup> forNamespace(std::string ns) override;
  std::string keypairUser() const override { return projects_.serviceUser(); }

 private:
  KeystoneProjectDrivers& projects_;
  OpenStackDriver& service_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<OpenStackDriver>> drivers_;  // by project id
};

}  // namespace magnumd::drivers::openstack
