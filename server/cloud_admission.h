// Admission against the cloud, as Magnum validates before it accepts a request: a ClusterTemplate's
// image must exist in Glance and carry an os_distro (the property that picks Magnum's driver), its
// flavor and master flavor must exist in Nova; a Cluster's effective key pair (its own, else its
// template's) must exist when the cluster is created, and so must the image and flavors it would
// boot. Everything is looked up in the project the object's namespace maps to, as Magnum looks it
// up with the user's own context: an image private to another project is not found. On an update
// only what changed is checked. Lookups are asynchronous (the cloud is never
// awaited on a blocked thread) and their answers are cached briefly, so a burst of creates naming
// the same image costs one call. A cloud that cannot be asked is Unavailable (503): admission does
// not accept what it could not check.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "drivers/cloud_lookup.h"
#include "store/store.h"
#include "util/time.h"

namespace magnumd::server {

struct CloudAdmissionOptions {
  std::chrono::seconds found_ttl{30};   // how long a found object is trusted
  std::chrono::seconds missing_ttl{5};  // how long "not found" stands (a user may create it)
  size_t max_entries = 4096;            // the cache is cleared when it grows beyond this
};

class CloudAdmission {
 public:
  CloudAdmission(const store::Store& store, drivers::NamespaceLookups& lookups,
                 const util::Clock& clock, CloudAdmissionOptions options = {});

  // `next` is the admitted object about to be written; `current` the stored one on an update
  // (null on a create). Invalid naming the field and the object when something is missing,
  // Unavailable when the cloud could not answer, Forbidden when magnumd may not act in the
  // namespace's project. ClusterTemplates and Clusters only.
  boost::asio::awaitable<util::Status> check(api::Object next, const api::Object* current);

  uint64_t cloudCalls() const;  // lookups that reached the cloud (for tests and metrics)

 private:
  enum class What { Image, Flavor, Keypair };
  struct Ref {
    What what;
    std::string value;
    std::string field;   // spec.image, spec.flavor, ...
    std::string origin;  // "" or ` (from template "t")`
    std::string coe;     // for an image: whose driver must boot its os_distro
  };
  struct Cached {
    util::Status status;
    std::string os_distro;
    std::chrono::steady_clock::time_point expires;
  };

  util::Result<std::vector<Ref>> refsOf(const api::Object& object) const;
  boost::asio::awaitable<util::Result<Cached>> lookup(drivers::ProjectLookup project, What what,
                                                      std::string value);
  util::Status judge(const Ref& ref, const util::Result<Cached>& found, api::Kind kind,
                     const std::string& keypair_user, std::vector<util::Cause>& causes) const;

  const store::Store& store_;
  drivers::NamespaceLookups& lookups_;
  const util::Clock& clock_;
  const CloudAdmissionOptions options_;
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, What, std::string>, Cached> cache_;  // by project too
  uint64_t calls_ = 0;
};

}  // namespace magnumd::server
