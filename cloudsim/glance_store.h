// Glance v2 images and Nova key pairs: the cloud objects a cluster template names and that Magnum
// checks before it accepts one (an image with its os_distro property, a key pair). No HTTP here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudsim/support.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::cloudsim {

struct Image {
  std::string id;
  std::string name;
  std::string status = "queued";  // queued until data is uploaded, then active
  std::string visibility = "shared";
  std::string owner;  // project id
  std::string disk_format, container_format;
  int64_t min_disk = 0, min_ram = 0;
  bool is_protected = false;
  std::vector<std::string> tags;
  // Every other attribute the image was created with (os_distro, hw_*, ...), as Glance keeps them:
  // strings, shown as top-level fields.
  std::map<std::string, std::string> properties;
  std::optional<int64_t> size;
  std::string checksum;
  SystemTime created, updated;
  uint64_t seq = 0;  // creation order, Glance's created_at tie-breaker
};

class ImageStore {
 public:
  explicit ImageStore(const util::Clock& clock) : clock_(clock) {}
  // Public, active images every project sees (the ones magnumd's examples and tests name).
  void seed();
  util::Result<const Image*> create(Image image);
  Image* find(std::string_view id);
  bool remove(std::string_view id);
  // Newest first (Glance's default sort: created_at desc, id desc).
  std::vector<const Image*> listed() const;

 private:
  const util::Clock& clock_;
  std::map<std::string, Image, std::less<>> images_;
  uint64_t next_seq_ = 0;
};

struct Keypair {
  std::string name;
  std::string user_id;
  std::string public_key;
  std::string fingerprint;
  std::string type = "ssh";
  int64_t id = 0;
  SystemTime created;
};

// Key pairs belong to a user, as in Nova. Every user starts with the key pair `demo-key` (the one
// the examples name), made on the user's first key pair request.
class KeypairStore {
 public:
  explicit KeypairStore(const util::Clock& clock) : clock_(clock) {}
  // A public key in OpenSSH form ("ssh-ed25519 AAAA... comment") and its fingerprint as Nova
  // shows it (MD5 of the key blob, colon-separated hex); BadRequest when it is not one.
  static util::Result<std::string> fingerprint(std::string_view public_key);

  // Conflict when the user already has a key pair of that name.
  util::Result<const Keypair*> create(Keypair keypair);
  const Keypair* find(std::string_view user_id, std::string_view name);
  bool remove(std::string_view user_id, std::string_view name);
  std::vector<const Keypair*> list(std::string_view user_id);  // by name

 private:
  void seedUser(std::string_view user_id);

  const util::Clock& clock_;
  std::map<std::string, std::map<std::string, Keypair, std::less<>>, std::less<>> by_user_;
  int64_t next_id_ = 0;
};

}  // namespace magnumd::cloudsim
