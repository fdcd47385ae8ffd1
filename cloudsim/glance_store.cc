#include "cloudsim/glance_store.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>

#include "pki/encoding.h"

namespace magnumd::cloudsim {

using util::ErrorCode;
using util::makeError;

namespace {

// The images magnumd's examples, docs and tests name. Each carries the os_distro that selects
// magnumd's Kubernetes driver (api/cluster_template.cc accepts fedora-atomic, coreos and
// fedora-coreos for kubernetes), whatever its name says.
struct SeedImage {
  const char* name;
  const char* os_distro;
};
constexpr SeedImage kSeedImages[] = {
    {"fedora-coreos-38", "fedora-coreos"},
    {"ubuntu-2204-kube-v1.32.4", "fedora-coreos"},
    {"ubuntu-2204-kube-v1.33.1", "fedora-coreos"},
};

constexpr char kDemoKeyName[] = "demo-key";
constexpr char kDemoKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAryRm/JJuIzw4uI3eOqPVeGzGyXb0vYtCLNUKzecsRU "
    "demo-key (cloudsim)";

}  // namespace

void ImageStore::seed() {
  for (const auto& s : kSeedImages) {
    Image image;
    image.id = imageId(s.name);
    image.name = s.name;
    image.status = "active";
    image.visibility = "public";
    image.disk_format = "qcow2";
    image.container_format = "bare";
    image.properties["os_distro"] = s.os_distro;
    image.size = 0;
    (void)create(std::move(image));
  }
}

util::Result<const Image*> ImageStore::create(Image image) {
  if (images_.count(image.id) > 0) {
    return makeError(ErrorCode::Conflict,
                     fmt::format("Image with identifier {} already exists!", image.id));
  }
  image.created = image.updated = clock_.now();
  image.seq = next_seq_++;
  std::string id = image.id;
  auto [it, inserted] = images_.emplace(std::move(id), std::move(image));
  return &it->second;
}

Image* ImageStore::find(std::string_view id) {
  auto it = images_.find(id);
  return it == images_.end() ? nullptr : &it->second;
}

bool ImageStore::remove(std::string_view id) {
  auto it = images_.find(id);
  if (it == images_.end()) return false;
  images_.erase(it);
  return true;
}

std::vector<const Image*> ImageStore::listed() const {
  std::vector<const Image*> out;
  for (const auto& [id, image] : images_) out.push_back(&image);
  std::sort(out.begin(), out.end(), [](const Image* a, const Image* b) {
    if (a->seq != b->seq) return a->seq > b->seq;
    return a->id > b->id;
  });
  return out;
}

util::Result<std::string> KeypairStore::fingerprint(std::string_view public_key) {
  auto space = public_key.find(' ');
  std::string_view type = public_key.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? "" : public_key.substr(space + 1);
  std::string_view data = rest.substr(0, rest.find(' '));
  auto blob = pki::base64Decode(data);
  // The blob starts with its own type name (RFC 4253 §6.6): a length and the name again.
  std::string prefix(4, '\0');
  prefix[3] = static_cast<char>(type.size());
  prefix += type;
  if (type.empty() || type.size() > 64 || !blob || blob->rfind(prefix, 0) != 0) {
    return makeError(ErrorCode::BadRequest,
                     "Keypair data is invalid: failed to generate fingerprint");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(blob->data(), blob->size(), digest, &length, EVP_md5(), nullptr);
  std::string out;
  for (unsigned i = 0; i < length; ++i)
    out += fmt::format("{}{:02x}", i == 0 ? "" : ":", digest[i]);
  return out;
}

void KeypairStore::seedUser(std::string_view user_id) {
  if (by_user_.count(user_id) > 0) return;
  auto& keys = by_user_[std::string(user_id)];
  Keypair demo;
  demo.name = kDemoKeyName;
  demo.user_id = std::string(user_id);
  demo.public_key = kDemoKey;
  demo.fingerprint = fingerprint(kDemoKey).value();
  demo.id = ++next_id_;
  demo.created = clock_.now();
  keys.emplace(demo.name, std::move(demo));
}

util::Result<const Keypair*> KeypairStore::create(Keypair keypair) {
  seedUser(keypair.user_id);
  auto& keys = by_user_[keypair.user_id];
  if (keys.count(keypair.name) > 0) {
    return makeError(ErrorCode::Conflict,
                     fmt::format("Key pair '{}' already exists.", keypair.name));
  }
  keypair.id = ++next_id_;
  keypair.created = clock_.now();
  std::string name = keypair.name;
  auto [it, inserted] = keys.emplace(std::move(name), std::move(keypair));
  return &it->second;
}

const Keypair* KeypairStore::find(std::string_view user_id, std::string_view name) {
  seedUser(user_id);
  auto& keys = by_user_.find(user_id)->second;
  auto it = keys.find(name);
  return it == keys.end() ? nullptr : &it->second;
}

bool KeypairStore::remove(std::string_view user_id, std::string_view name) {
  seedUser(user_id);
  auto& keys = by_user_.find(user_id)->second;
  auto it = keys.find(name);
  if (it == keys.end()) return false;
  keys.erase(it);
  return true;
}

std::vector<const Keypair*> KeypairStore::list(std::string_view user_id) {
  seedUser(user_id);
  std::vector<const Keypair*> out;
  for (const auto& [name, key] : by_user_.find(user_id)->second) out.push_back(&key);
  return out;
}

}  // namespace magnumd::cloudsim
