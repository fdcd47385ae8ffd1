#include "controller/object_helpers.h"

#include <gtest/gtest.h>

#include "tests/controller/store_fixture.h"

namespace magnumd::controller {
namespace {

constexpr std::string_view kFinalizer = "container-infra/cluster";

TEST(FinalizersTest, AddAndRemoveAreIdempotent) {
  api::Object o;
  EXPECT_FALSE(hasFinalizer(o, kFinalizer));
  EXPECT_TRUE(addFinalizer(o, kFinalizer));
  EXPECT_FALSE(addFinalizer(o, kFinalizer));
  EXPECT_EQ(o.metadata.finalizers, std::vector<std::string>{std::string(kFinalizer)});
  EXPECT_TRUE(hasFinalizer(o, kFinalizer));
  EXPECT_TRUE(removeFinalizer(o, kFinalizer));
  EXPECT_FALSE(removeFinalizer(o, kFinalizer));
  EXPECT_TRUE(o.metadata.finalizers.empty());
}

TEST(JsonEqualTest, IgnoresMemberOrderButNotValues) {
  EXPECT_TRUE(jsonEqual(R"({"a":1,"b":[1,2]})", R"({"b":[1,2],"a":1})"));
  EXPECT_FALSE(jsonEqual(R"({"a":1,"b":[1,2]})", R"({"b":[2,1],"a":1})"));
  EXPECT_FALSE(jsonEqual(R"({"a":1})", R"({"a":"1"})"));
  EXPECT_FALSE(jsonEqual("{", "{}"));
}

class ObjectHelpersTest : public testing::StoreBackendFixture {};

TEST_P(ObjectHelpersTest, PatchStatusWritesOnlyWhenTheStatusChanged) {
  auto prod = create(object(api::Kind::Cluster, "prod"));
  auto first = patchStatus(*store_, prod, R"({"phase":"CREATE_IN_PROGRESS","nodeCount":1})");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_GT(first->metadata.resource_version, prod.metadata.resource_version);
  const int64_t revision = store_->currentRevision();
  auto again = patchStatus(*store_, *first, R"({"nodeCount":1,"phase":"CREATE_IN_PROGRESS"})");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(store_->currentRevision(), revision) << "same status, other member order: no write";
  EXPECT_EQ(again->metadata.resource_version, first->metadata.resource_version);
  auto stale = patchStatus(*store_, prod, R"({"phase":"CREATE_COMPLETE"})");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, util::ErrorCode::Conflict);
}

TEST_P(ObjectHelpersTest, EnsureAndDropFinalizer) {
  auto prod = create(object(api::Kind::Cluster, "prod"));
  auto with = ensureFinalizer(*store_, prod, kFinalizer);
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(hasFinalizer(*store_->get(api::keyOf(prod)), kFinalizer));
  const int64_t revision = store_->currentRevision();
  auto again = ensureFinalizer(*store_, *with, kFinalizer);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(store_->currentRevision(), revision);
  auto deleting = store::removeSync(*store_, api::keyOf(prod), 0);
  ASSERT_TRUE(deleting.ok());
  ASSERT_TRUE(deleting->deleting());
  auto gone = dropFinalizer(*store_, *deleting, kFinalizer);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_FALSE(store_->get(api::keyOf(prod)).ok()) << "last finalizer gone: object removed";
}

TEST_P(ObjectHelpersTest, PatchHelperWritesWhatChangedAndNothingElse) {
  auto prod = create(object(api::Kind::Cluster, "prod", R"({"nodeCount":1})"));
  {
    PatchHelper helper(prod);
    auto out = helper.patch(*store_, prod);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(helper.writes(), 0);
  }
  api::Object modified = prod;
  addFinalizer(modified, kFinalizer);
  modified.status = R"({"phase":"CREATE_IN_PROGRESS"})";
  PatchHelper helper(prod);
  auto out = helper.patch(*store_, modified);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(helper.writes(), 2);
  auto stored = store_->get(api::keyOf(prod));
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(hasFinalizer(*stored, kFinalizer));
  EXPECT_EQ(stored->status, R"({"phase":"CREATE_IN_PROGRESS"})");
  EXPECT_EQ(stored->metadata.resource_version, out->metadata.resource_version);

  // The delete path: the last finalizer goes, the object with it; no status write after.
  auto deleting = store::removeSync(*store_, api::keyOf(prod), 0);
  ASSERT_TRUE(deleting.ok());
  api::Object done = *deleting;
  removeFinalizer(done, kFinalizer);
  done.status = R"({"phase":"DELETE_COMPLETE"})";
  PatchHelper last(*deleting);
  auto final_state = last.patch(*store_, done);
  ASSERT_TRUE(final_state.ok()) << final_state.error().message;
  EXPECT_EQ(last.writes(), 1);
  EXPECT_FALSE(store_->get(api::keyOf(prod)).ok());
}

INSTANTIATE_STORE_BACKENDS(ObjectHelpersTest);

}  // namespace
}  // namespace magnumd::controller
