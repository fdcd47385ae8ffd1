// The cloud objects an API request names and admission checks before it accepts the request: an
// image (with the os_distro property Magnum reads), flavors, a key pair. A separate interface
// from CloudDriver because its user is the API server, not the reconcilers: the observer,
// the counting decorator and the reconcilers' fakes need none of it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "drivers/cloud_driver.h"

namespace magnumd::drivers {

struct Image {
  std::string id;
  std::string name;
  std::string status;                             // Glance's: queued, active, ...
  std::string os_distro;                          // "" when the image has no os_distro property
  std::map<std::string, std::string> properties;  // the other string-valued attributes
};

struct Flavor {
  std::string id;
  std::string name;
  int vcpus = 0;
  int ram_mib = 0;
  int disk_gib = 0;
};

struct Keypair {
  std::string name;
  std::string fingerprint;
  std::string type;  // ssh, x509
};

// Lookups as the configured cloud user sees them in its project (key pairs are that user's own,
// as in Nova).
// Errors: NotFound when nothing matches (the message names what was looked for), Conflict when a
// name matches several, otherwise the cloud's own (Unavailable, Timeout, Unauthorized, ...).
class CloudLookup {
 public:
  virtual ~CloudLookup() = default;
  // By id first, then by exact name, as `openstack image show` finds one.
  virtual Task<Image> findImage(std::string name_or_id) = 0;
  virtual Task<Flavor> findFlavor(std::string name_or_id) = 0;
  virtual Task<Keypair> findKeypair(std::string name) = 0;
};

using CloudLookupPtr = std::unique_ptr<CloudLookup>;

// The lookups of the project a namespace's objects live in. Magnum looks a template's image and
// flavors up with the requesting user's context, so an image private to another project is not
// found; magnumd does the same with its service user scoped to the namespace's project.
struct ProjectLookup {
  std::string project;            // the Keystone project id; "" for magnumd's own project
  CloudLookup* lookup = nullptr;  // lives as long as the NamespaceLookups that gave it
};

class NamespaceLookups {
 public:
  virtual ~NamespaceLookups() = default;
  // Errors as ProjectDrivers::projectOf's: Forbidden naming the fix when magnumd may not act in
  // the project `ns` names, Unavailable when Keystone cannot be asked.
  virtual Task<ProjectLookup> forNamespace(std::string ns) = 0;
  // The Nova user whose key pairs every project's servers boot with ("" when not known): key
  // pairs belong to a user, not to a project, and magnumd acts in each project as one user.
  virtual std::string keypairUser() const = 0;
};

// Every namespace in magnumd's own project (no Keystone projects, or an application credential).
class OneProjectLookups final : public NamespaceLookups {
 public:
  explicit OneProjectLookups(CloudLookup& lookup, std::string keypair_user = "")
      : lookup_(lookup), keypair_user_(std::move(keypair_user)) {}
  Task<ProjectLookup> forNamespace(std::string) override { co_return ProjectLookup{"", &lookup_}; }
  std::string keypairUser() const override { return keypair_user_; }

 private:
  CloudLookup& lookup_;
  const std::string keypair_user_;
};

}  // namespace magnumd::drivers
