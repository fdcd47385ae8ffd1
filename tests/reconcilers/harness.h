// A Cluster/NodeGroup reconciler test bench: a real SqliteStore, informers, the CloudObserver and
// the reconcilers over the in-memory FakeCloudDriver, with a small Heat model that turns stack
// parameters into servers (ResourceGroup semantics: removal list first, then the highest
// indices; indices never reused; CHECK_FAILED members replaced on update).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "api/admission.h"
#include "api/cluster.h"
#include "api/nodegroup.h"
#include "controller/informer.h"
#include "reconcilers/cloud_call.h"
#include "reconcilers/cloud_observer.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/counting_cloud_driver.h"
#include "reconcilers/garbage_collector.h"
#include "reconcilers/nodegroup_reconciler.h"
#include "reconcilers/project_clouds.h"
#include "secrets/cluster_secrets.h"
#include "tests/controller/fakes.h"
#include "tests/controller/store_fixture.h"
#include "tests/support/fake_cloud_driver.h"

namespace magnumd::reconcilers::testing {

using drivers::FakeCloudDriver;

// Whether an event with this reason was recorded.
inline bool hasReason(const controller::testing::FakeEventRecorder& events,
                      std::string_view reason) {
  for (const auto& r : events.reasons()) {
    if (r == reason) return true;
  }
  return false;
}

class ReconcilerTest : public controller::testing::StoreFixture {
 protected:
  void SetUp() override;
  void TearDown() override;

  // ---- objects
  api::Object createTemplate(const std::string& name = "k8s");
  api::Object createCluster(const std::string& name, int64_t masters, int64_t workers,
                            const std::string& extra_spec = "");
  api::Object createNodeGroup(const std::string& name, const std::string& cluster, int64_t count,
                              const std::string& extra_spec = "");
  api::Object get(api::Kind kind, const std::string& name);
  api::ClusterStatus clusterStatus(const std::string& name);
  api::NodeGroupStatus nodeGroupStatus(const std::string& name);
  void patchSpec(api::Kind kind, const std::string& name, const std::string& merge_fields);
  void deleteObject(api::Kind kind, const std::string& name);

  // ---- passes
  controller::Result reconcileCluster(const std::string& name);
  controller::Result reconcileNodeGroup(const std::string& name);
  void observe(bool full = false);
  void settleInformers();

  // ---- the cloud acting on its own
  void activateServers();                 // BUILD -> ACTIVE
  void completeStacks();                  // *_IN_PROGRESS -> *_COMPLETE (deletes remove servers)
  // activate + complete + observe: what a few sync periods of a healthy cloud look like.
  void cloudSettles();
  std::vector<FakeCloudDriver::FakeStack> liveStacks() const;
  std::vector<drivers::Server> serversOf(const std::string& group) const;

  controller::testing::FakeClock clock_;
  std::optional<pki::KeyEncryptionKey> kek_;
  std::unique_ptr<secrets::ClusterSecretStore> secrets_;
  std::unique_ptr<FakeCloudDriver> fake_;
  std::unique_ptr<CountingCloudDriver> counting_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::thread io_thread_;
  std::unique_ptr<CloudCall> cloud_;
  std::unique_ptr<CloudObserver> observer_;
  std::unique_ptr<OneProject> clouds_;
  std::unique_ptr<controller::Informer> clusters_;
  std::unique_ptr<controller::Informer> nodegroups_;
  controller::testing::FakeEventRecorder events_;
  std::unique_ptr<ClusterReconciler> cluster_reconciler_;
  std::unique_ptr<NodeGroupReconciler> nodegroup_reconciler_;
  std::unique_ptr<GarbageCollector> gc_;
  ClusterReconcilerOptions options_;
  std::vector<std::string> changed_;  // uids the observer reported

 private:
  void simulateHeat(FakeCloudDriver& fake, const std::string& stack_id);
  struct Member {
    int index;
    std::string server_id;
  };
  std::mutex heat_mutex_;
  std::map<std::string, std::map<std::string, std::vector<Member>>> members_;  // stack -> group id
  std::map<std::string, std::map<std::string, int>> next_index_;
  int next_server_ = 1;
};

}  // namespace magnumd::reconcilers::testing
