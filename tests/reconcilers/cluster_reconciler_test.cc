// The Cluster reconciler against the in-memory cloud: create, completion, failure, timeout,
// scale, delete, drift, adoption after a crash, idempotency, pause.
#include <gtest/gtest.h>

#include "controller/object_helpers.h"
#include "drivers/coe/coe_driver.h"
#include "reconcilers/names.h"
#include "tests/reconcilers/harness.h"

namespace magnumd::reconcilers::testing {
namespace {

using Op = FakeCloudDriver::Op;
using Verb = CountingCloudDriver;

const api::Condition* condition(const api::ClusterStatus& st, std::string_view type) {
  return api::findCondition(st.conditions, type);
}

class ClusterReconcilerTest : public ReconcilerTest {
 protected:
  // A cluster whose stack completed with every server ACTIVE.
  void createReadyCluster(const std::string& name, int64_t masters, int64_t workers) {
    createTemplate();
    createCluster(name, masters, workers);
    reconcileCluster(name);
    cloudSettles();
    reconcileCluster(name);
    ASSERT_EQ(clusterStatus(name).phase, "CREATE_COMPLETE");
  }
  std::string param(const std::string& key) {
    auto stacks = liveStacks();
    EXPECT_EQ(stacks.size(), 1u);
    return stacks.empty() ? "" : stacks.front().stack.parameters[key];
  }
};

TEST_F(ClusterReconcilerTest, CreateAddsFinalizerDefaultNodeGroupsAndOneStack) {
  createTemplate();
  auto cluster = createCluster("prod", 1, 2);
  auto result = reconcileCluster("prod");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(result.requeue_after.has_value());

  auto stored = get(api::Kind::Cluster, "prod");
  EXPECT_TRUE(controller::hasFinalizer(stored, kClusterFinalizer));
  auto master = get(api::Kind::NodeGroup, "prod-default-master");
  auto worker = get(api::Kind::NodeGroup, "prod-default-worker");
  EXPECT_EQ(api::decodeNodeGroupSpec(worker.spec)->node_count, 2);
  EXPECT_EQ(api::decodeNodeGroupSpec(master.spec)->role, "master");
  EXPECT_TRUE(controller::hasFinalizer(worker, kNodeGroupFinalizer));

  auto stacks = liveStacks();
  ASSERT_EQ(stacks.size(), 1u);
  EXPECT_EQ(stacks[0].stack.ref.name, coe::stackNameFor("prod", cluster.metadata.uid));
  EXPECT_EQ(stacks[0].stack.parameters["ng_default_worker_count"], "2");
  EXPECT_EQ(stacks[0].stack.parameters["ng_default_master_count"], "1");
  EXPECT_NE(std::find(stacks[0].stack.tags.begin(), stacks[0].stack.tags.end(),
                      coe::clusterTag(cluster.metadata.uid)),
            stacks[0].stack.tags.end());

  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_EQ(st.stack_id, stacks[0].stack.ref.id);
  EXPECT_EQ(condition(st, "Ready")->status, "False");
  EXPECT_TRUE(hasReason(events_, "StackCreating"));

  // Heat still working: a pass creates nothing more.
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::CreateStack), 1);
  EXPECT_EQ(liveStacks().size(), 1u);
}

TEST_F(ClusterReconcilerTest, CompletionReportsAddressesAndConditions) {
  createReadyCluster("prod", 1, 2);
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.api_address, "https://192.0.2.10:6443");
  EXPECT_EQ(st.master_addresses.size(), 1u);
  EXPECT_EQ(st.node_addresses.size(), 2u);
  EXPECT_EQ(st.coe_version, "v1.32.4");
  EXPECT_EQ(st.health_status, "HEALTHY");
  EXPECT_EQ(st.observed_generation, get(api::Kind::Cluster, "prod").metadata.generation);
  EXPECT_EQ(condition(st, "Ready")->status, "True");
  EXPECT_EQ(condition(st, "StackReady")->status, "True");
  EXPECT_EQ(condition(st, "NodesReady")->status, "True");

  reconcileNodeGroup("prod-default-worker");
  auto ng = nodeGroupStatus("prod-default-worker");
  EXPECT_EQ(ng.phase, "CREATE_COMPLETE");
  ASSERT_EQ(ng.nodes.size(), 2u);
  EXPECT_EQ(ng.nodes[0].status, "ACTIVE");
  EXPECT_FALSE(ng.nodes[0].server_id.empty());
  EXPECT_FALSE(ng.nodes[0].addresses.empty());
}

TEST_F(ClusterReconcilerTest, SecretsAreMadeOnceBeforeTheStackAndLeaveWithTheCluster) {
  createTemplate();
  createCluster("prod", 1, 1);
  reconcileCluster("prod");
  auto secret = store_->get({api::Kind::ClusterSecret, "demo", "prod"});
  ASSERT_TRUE(secret.ok());
  auto st = clusterStatus("prod");
  ASSERT_EQ(st.certificate_authorities.size(), 3u);
  EXPECT_EQ(st.certificate_authorities[0].name, "cluster");
  EXPECT_EQ(st.certificate_authorities[0].fingerprint.size(), 95u);  // 32 bytes as "AB:CD:..."
  EXPECT_EQ(st.status_reason.find("PRIVATE"), std::string::npos);
  // What was stored decrypts with the key it was stored under.
  auto loaded = secrets_->load(get(api::Kind::Cluster, "prod"));
  ASSERT_TRUE(loaded.ok());
  cloudSettles();
  reconcileCluster("prod");
  EXPECT_EQ(store_->get({api::Kind::ClusterSecret, "demo", "prod"})->metadata.resource_version,
            secret->metadata.resource_version);  // made once
  EXPECT_EQ(clusterStatus("prod").certificate_authorities, st.certificate_authorities);

  deleteObject(api::Kind::Cluster, "prod");
  for (int i = 0; i < 5 && store_->get({api::Kind::Cluster, "demo", "prod"}).ok(); ++i) {
    reconcileCluster("prod");
    cloudSettles();
  }
  EXPECT_FALSE(store_->get({api::Kind::Cluster, "demo", "prod"}).ok());
  EXPECT_EQ(store_->get({api::Kind::ClusterSecret, "demo", "prod"}).error().code,
            util::ErrorCode::NotFound);
}

TEST_F(ClusterReconcilerTest, SecondPassMakesNoCloudCallAndNoWrite) {
  createReadyCluster("prod", 1, 2);
  reconcileNodeGroup("prod-default-worker");
  reconcileNodeGroup("prod-default-master");
  const auto calls = counting_->total();
  const auto revision = store_->currentRevision();
  EXPECT_TRUE(reconcileCluster("prod").ok());
  EXPECT_TRUE(reconcileNodeGroup("prod-default-worker").ok());
  EXPECT_EQ(counting_->total(), calls);
  EXPECT_EQ(store_->currentRevision(), revision);
}

TEST_F(ClusterReconcilerTest, FailureShowsTheCloudsReasonAndRetriesWhenTheSpecChanges) {
  createTemplate();
  createCluster("prod", 1, 2);
  reconcileCluster("prod");
  auto stack = liveStacks().at(0);
  auto resources = stack.resources;
  resources[1].status = "CREATE_FAILED";
  resources[1].status_reason = "ResourceInError: resources[1]: No valid host was found.";
  fake_->setResources(stack.stack.ref.id, resources);
  fake_->setStackStatus(stack.stack.ref.id, "CREATE_FAILED", "Resource CREATE failed");
  observe();
  reconcileCluster("prod");

  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_FAILED");
  EXPECT_NE(st.status_reason.find("No valid host was found"), std::string::npos) << st.status_reason;
  EXPECT_EQ(condition(st, "StackReady")->reason, "CreateFailed");
  EXPECT_TRUE(hasReason(events_, "StackCreateFailed"));

  // Nothing changed: no retry yet, and the failure is explained only once.
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::ExplainFailure), 1);
  EXPECT_EQ(counting_->mutations(), 1u);

  // The user touches the spec: delete the failed stack, then create it again.
  patchSpec(api::Kind::Cluster, "prod", R"({"nodeCount":3})");
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 1);
  EXPECT_TRUE(hasReason(events_, "StackRetry"));
  completeStacks();
  observe();
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::CreateStack), 2);
  ASSERT_EQ(liveStacks().size(), 1u);
  EXPECT_EQ(param("ng_default_worker_count"), "3");
  cloudSettles();
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");
}

TEST_F(ClusterReconcilerTest, TransientFailureIsRetriedAfterBackoff) {
  createTemplate();
  createCluster("prod", 1, 1);
  reconcileCluster("prod");
  auto id = liveStacks().at(0).stack.ref.id;
  fake_->setStackStatus(id, "CREATE_FAILED", "Resource CREATE failed: 503 Service Unavailable");
  observe();
  auto result = reconcileCluster("prod");
  ASSERT_TRUE(result.requeue_after.has_value());
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 0);
  clock_.advance(options_.failed_retry + std::chrono::seconds(1));
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 1);
}

TEST_F(ClusterReconcilerTest, CreateTimeoutIsReported) {
  createTemplate();
  createCluster("prod", 1, 1, R"("createTimeout":5)");
  reconcileCluster("prod");
  clock_.advance(std::chrono::minutes(6));
  observe();
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_FAILED");
  EXPECT_NE(st.status_reason.find("createTimeout (5 minutes)"), std::string::npos) << st.status_reason;
}

TEST_F(ClusterReconcilerTest, ScaleUpPatchesTheGroupCount) {
  createReadyCluster("prod", 1, 2);
  patchSpec(api::Kind::Cluster, "prod", R"({"nodeCount":4})");
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::PatchStack), 1);
  EXPECT_EQ(param("ng_default_worker_count"), "4");
  EXPECT_EQ(api::decodeNodeGroupSpec(get(api::Kind::NodeGroup, "prod-default-worker").spec)->node_count, 4);
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_IN_PROGRESS");
  cloudSettles();
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_COMPLETE");
  EXPECT_EQ(st.node_addresses.size(), 4u);
}

TEST_F(ClusterReconcilerTest, ScaleDownRemovesNamedThenUnhealthyThenNewest) {
  createReadyCluster("prod", 1, 5);  // workers c-default-worker-0..4
  fake_->setServerStatus(serversOf("default-worker")[3].id, "ERROR");  // index 3
  patchSpec(api::Kind::NodeGroup, "prod-default-worker", R"({"nodesToRemove":["c-default-worker-1"]})");
  clock_.advance(std::chrono::seconds(1));
  observe();
  patchSpec(api::Kind::Cluster, "prod", R"({"nodeCount":2})");
  reconcileCluster("prod");
  EXPECT_EQ(param("ng_default_worker_count"), "2");
  EXPECT_EQ(param("ng_default_worker_removal_list"), "1,3,4");
  cloudSettles();
  std::vector<std::string> names;
  for (const auto& s : serversOf("default-worker")) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"c-default-worker-0", "c-default-worker-2"}));
}

TEST_F(ClusterReconcilerTest, NodeCountStaysWithinMinAndMax) {
  createReadyCluster("prod", 1, 1);
  // The API refuses nodeCount > maxNodeCount; a spec stored before a validation change (here
  // written straight to the store) must still not take the group outside its bounds.
  createNodeGroup("big", "prod", 2, R"("minNodeCount":1,"maxNodeCount":3)");
  patchSpec(api::Kind::NodeGroup, "big", R"({"nodeCount":12})");
  reconcileCluster("prod");
  EXPECT_EQ(param("ng_big_count"), "3");
  reconcileNodeGroup("big");
  auto st = nodeGroupStatus("big");
  EXPECT_NE(st.status_reason.find("above maxNodeCount 3"), std::string::npos) << st.status_reason;
}

TEST_F(ClusterReconcilerTest, ExtraNodeGroupIsAddedAndRemoved) {
  createReadyCluster("prod", 1, 1);
  createNodeGroup("big", "prod", 2);
  reconcileNodeGroup("big");
  EXPECT_TRUE(controller::hasFinalizer(get(api::Kind::NodeGroup, "big"), kNodeGroupFinalizer));
  reconcileCluster("prod");
  EXPECT_EQ(param("ng_big_count"), "2");
  cloudSettles();
  reconcileCluster("prod");
  reconcileNodeGroup("big");
  EXPECT_EQ(nodeGroupStatus("big").nodes.size(), 2u);
  EXPECT_EQ(nodeGroupStatus("big").phase, "UPDATE_COMPLETE");
  EXPECT_EQ(clusterStatus("prod").node_count, std::optional<int64_t>(3));  // default-worker 1 + big 2, as Magnum counts
  EXPECT_EQ(clusterStatus("prod").node_addresses.size(), 3u);

  deleteObject(api::Kind::NodeGroup, "big");
  reconcileNodeGroup("big");  // keeps its finalizer: servers still exist
  EXPECT_TRUE(get(api::Kind::NodeGroup, "big").deleting());
  auto r = reconcileCluster("prod");
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(param("ng_big_count"), "");
  cloudSettles();
  EXPECT_TRUE(serversOf("big").empty());
  reconcileCluster("prod");
  EXPECT_FALSE(store_->get({api::Kind::NodeGroup, "demo", "big"}).ok());
}

TEST_F(ClusterReconcilerTest, DeleteWhileCreatingRemovesStackNodeGroupsAndCluster) {
  createTemplate();
  createCluster("prod", 1, 2);
  reconcileCluster("prod");
  deleteObject(api::Kind::Cluster, "prod");
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 1);
  EXPECT_EQ(clusterStatus("prod").phase, "DELETE_IN_PROGRESS");
  EXPECT_TRUE(hasReason(events_, "StackDeleting"));
  // Heat still deleting: nothing more happens.
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 1);
  completeStacks();
  observe();
  reconcileCluster("prod");
  EXPECT_FALSE(store_->get({api::Kind::Cluster, "demo", "prod"}).ok());
  EXPECT_FALSE(store_->get({api::Kind::NodeGroup, "demo", "prod-default-worker"}).ok());
  EXPECT_TRUE(liveStacks().empty());
  EXPECT_TRUE(fake_->servers().empty());
}

TEST_F(ClusterReconcilerTest, DeleteFailedIsRetriedWithItsReasonShown) {
  createReadyCluster("prod", 1, 1);
  deleteObject(api::Kind::Cluster, "prod");
  reconcileCluster("prod");
  auto id = liveStacks().at(0).stack.ref.id;
  fake_->setStackStatus(id, "DELETE_FAILED", "Resource DELETE failed: port is in use");
  observe();
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "DELETE_FAILED");
  EXPECT_NE(st.status_reason.find("port is in use"), std::string::npos) << st.status_reason;
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 1);
  clock_.advance(options_.failed_retry + std::chrono::seconds(1));
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 2);
}

TEST_F(ClusterReconcilerTest, DeletedStackIsAlreadyGone) {
  createReadyCluster("prod", 1, 1);
  fake_->failNext(Op::DeleteStack, util::makeError(util::ErrorCode::NotFound, "The Stack could not be found."));
  deleteObject(api::Kind::Cluster, "prod");
  reconcileCluster("prod");
  EXPECT_FALSE(store_->get({api::Kind::Cluster, "demo", "prod"}).ok());
}

TEST_F(ClusterReconcilerTest, ServerDeletedBehindOurBackIsReplaced) {
  createReadyCluster("prod", 1, 2);
  auto victim = serversOf("default-worker").at(0);
  fake_->removeServer(victim.id);
  clock_.advance(std::chrono::seconds(1));
  observe();
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 1);
  EXPECT_EQ(fake_->calls(Op::PatchStack), 1);
  EXPECT_TRUE(hasReason(events_, "NodesMissing"));
  cloudSettles();
  reconcileCluster("prod");
  auto workers = serversOf("default-worker");
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_COMPLETE");
}

TEST_F(ClusterReconcilerTest, StackDeletedBehindOurBackIsRecreatedOnce) {
  createReadyCluster("prod", 1, 1);
  auto old = liveStacks().at(0).stack.ref.id;
  for (const auto& s : fake_->servers()) fake_->removeServer(s.id);
  fake_->removeStack(old);
  observe(true);
  reconcileCluster("prod");
  auto stacks = liveStacks();
  ASSERT_EQ(stacks.size(), 1u);
  EXPECT_NE(stacks[0].stack.ref.id, old);
  EXPECT_TRUE(hasReason(events_, "StackRecreated"));
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_NE(st.status_reason.find("deleted outside magnumd"), std::string::npos) << st.status_reason;
  reconcileCluster("prod");
  EXPECT_EQ(liveStacks().size(), 1u);
}

TEST_F(ClusterReconcilerTest, CrashAfterCreateAdoptsTheStackInsteadOfMakingAnother) {
  createTemplate();
  auto cluster = createCluster("prod", 1, 1);
  // A previous process created the stack, then died before the observer or status saw it.
  drivers::StackCreate request;
  request.name = coe::stackNameFor("prod", cluster.metadata.uid);
  request.template_text = "heat_template_version: 2018-08-31";
  request.tags = {"magnumd", coe::clusterTag(cluster.metadata.uid)};
  ASSERT_TRUE(cloud_->run(fake_->createStack(request)).ok());
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::CreateStack), 1);  // only the one above
  EXPECT_EQ(liveStacks().size(), 1u);
  EXPECT_TRUE(hasReason(events_, "StackAdopted"));
}

TEST_F(ClusterReconcilerTest, PausedClusterMakesNoCloudCall) {
  createTemplate();
  createCluster("prod", 1, 1, R"("paused":true)");
  const auto calls = counting_->total();
  reconcileCluster("prod");
  EXPECT_EQ(counting_->total(), calls);
  auto st = clusterStatus("prod");
  ASSERT_NE(condition(st, "Paused"), nullptr);
  EXPECT_EQ(condition(st, "Paused")->status, "True");
  EXPECT_NE(st.status_reason.find("paused"), std::string::npos);
  patchSpec(api::Kind::Cluster, "prod", R"({"paused":false})");
  reconcileCluster("prod");
  EXPECT_EQ(liveStacks().size(), 1u);
  EXPECT_EQ(condition(clusterStatus("prod"), "Paused"), nullptr);
}

TEST_F(ClusterReconcilerTest, MissingTemplateIsReportedWithoutCloudCalls) {
  createCluster("prod", 1, 1);
  const auto calls = counting_->total();
  reconcileCluster("prod");
  EXPECT_EQ(counting_->total(), calls);
  auto st = clusterStatus("prod");
  EXPECT_NE(st.status_reason.find("ClusterTemplate demo/k8s not found"), std::string::npos) << st.status_reason;
}

TEST_F(ClusterReconcilerTest, AStackThatCannotWorkIsNotCreatedAndTheStatusSaysWhy) {
  createTemplate();
  // Three masters, no load balancer, no floating IP: nothing could be the API's address.
  createCluster("prod", 3, 1, R"("masterLbEnabled":false,"floatingIpEnabled":false)");
  reconcileCluster("prod");
  EXPECT_TRUE(liveStacks().empty());
  auto st = clusterStatus("prod");
  EXPECT_NE(st.status_reason.find("spec.masterCount: 3 masters need a stable API address"),
            std::string::npos)
      << st.status_reason;
  // Fixing the spec is enough.
  patchSpec(api::Kind::Cluster, "prod", R"({"floatingIpEnabled":true})");
  reconcileCluster("prod");
  EXPECT_EQ(liveStacks().size(), 1u);
}

}  // namespace
}  // namespace magnumd::reconcilers::testing
