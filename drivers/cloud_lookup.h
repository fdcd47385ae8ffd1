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

// Lookups as the configured cloud user sees them (key pairs are that user's own, as in Nova).
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

}  // namespace magnumd::drivers
