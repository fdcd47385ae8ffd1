// An in-memory CloudLookup for the API server's unit tests: images, flavors and key pairs a test
// puts in, a call count, and an outage switch; and namespaces mapped to projects, each with its
// own. Thread-safe.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "drivers/cloud_lookup.h"

namespace magnumd::drivers {

class FakeCloudLookup final : public CloudLookup {
 public:
  // The images, flavors and key pair the server tests' fixtures name (api_fixture.cc).
  FakeCloudLookup() {
    addImage("fedora-coreos-38", "fedora-coreos");
    for (const char* f : {"m1.small", "m1.medium", "m1.large"}) addFlavor(f);
    addKeypair("demo-key");
  }

  void addImage(const std::string& name, const std::string& os_distro) {
    std::lock_guard lock(mutex_);
    images_[name] = Image{"id-" + name, name, "active", os_distro, {}};
  }
  void addFlavor(const std::string& name) {
    std::lock_guard lock(mutex_);
    flavors_[name] = Flavor{"id-" + name, name, 1, 2048, 20};
  }
  void addKeypair(const std::string& name) {
    std::lock_guard lock(mutex_);
    keypairs_[name] = Keypair{name, "00:11", "ssh"};
  }
  void removeKeypair(const std::string& name) {
    std::lock_guard lock(mutex_);
    keypairs_.erase(name);
  }
  // While set, every lookup fails as an unreachable cloud does.
  std::atomic<bool> unavailable{false};
  std::atomic<int> calls{0};

  Task<Image> findImage(std::string name) override { co_return find(images_, name, "image"); }
  Task<Flavor> findFlavor(std::string name) override { co_return find(flavors_, name, "flavor"); }
  Task<Keypair> findKeypair(std::string name) override {
    co_return find(keypairs_, name, "key pair");
  }

 private:
  template <typename T>
  util::Result<T> find(const std::map<std::string, T>& items, const std::string& name,
                       const char* what) {
    ++calls;
    if (unavailable) {
      return util::makeError(util::ErrorCode::Unavailable,
                             "connect to 127.0.0.1:5000: Connection refused");
    }
    std::lock_guard lock(mutex_);
    auto it = items.find(name);
    if (it == items.end())
      return util::makeError(util::ErrorCode::NotFound, fmt::format("no {} {}", what, name));
    return it->second;
  }

  std::mutex mutex_;
  std::map<std::string, Image> images_;
  std::map<std::string, Flavor> flavors_;
  std::map<std::string, Keypair> keypairs_;
};

// Namespaces mapped to projects, each with its own FakeCloudLookup (a namespace not mapped: `own`,
// magnumd's own project); a namespace can be refused as one whose project magnumd has no role on.
class FakeNamespaceLookups final : public NamespaceLookups {
 public:
  explicit FakeNamespaceLookups(CloudLookup& own) : own_(own) {}

  void map(const std::string& ns, const std::string& project, CloudLookup& lookup) {
    std::lock_guard lock(mutex_);
    projects_[ns] = ProjectLookup{project, &lookup};
  }
  void refuse(const std::string& ns) {
    std::lock_guard lock(mutex_);
    refused_[ns] = true;
  }
  std::atomic<int> asked{0};

  Task<ProjectLookup> forNamespace(std::string ns) override {
    ++asked;
    std::lock_guard lock(mutex_);
    if (refused_.count(ns)) {
      co_return util::makeError(util::ErrorCode::Forbidden,
                                fmt::format("magnumd has no role on project {}", ns));
    }
    auto it = projects_.find(ns);
    co_return it == projects_.end() ? ProjectLookup{"", &own_} : it->second;
  }
  std::string keypairUser() const override { return "magnumd-svc"; }

 private:
  CloudLookup& own_;
  std::mutex mutex_;
  std::map<std::string, ProjectLookup> projects_;
  std::map<std::string, bool> refused_;
};

}  // namespace magnumd::drivers
