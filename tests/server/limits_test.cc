// Resource limits as an API client sees them: a full store answers 503, a namespace at its
// object limit 403, a user at its watch limit 429; each Status names the limit and how to raise
// it, and deleting (or closing a stream) makes room again.
#include <fmt/format.h>

#include "api_fixture.h"

namespace magnumd::server {
namespace {

using namespace testing;
using V = http::verb;
using Events = std::vector<std::pair<std::string, util::JsonDoc>>;

class LimitsTest : public ApiTest {
 protected:
  void restartWithStoreLimits(int64_t quota_bytes, int64_t max_objects) {
    stop();
    store_quota_bytes_ = quota_bytes;
    store_max_objects_ = max_objects;
    start(WatchOptions{});
  }
  void restartWithWatchesPerUser(size_t max) {
    stop();
    WatchOptions options;
    options.max_streams_per_user = max;
    start(options);
  }
  std::string clusters(const std::string& ns = "demo") {
    return fmt::format("{}/namespaces/{}/clusters", kBase, ns);
  }
};

TEST_F(LimitsTest, AFullStoreAnswers503UntilSomethingIsDeleted) {
  restartWithStoreLimits(8000, 0);
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  Reply full;
  int created = 0;
  for (; created < 50; ++created) {
    full = createCluster("demo", fmt::format("c{}", created), "k8s");
    if (full.code != 201u) break;
  }
  ASSERT_GT(created, 0);
  ASSERT_LT(created, 50) << "the quota never filled";
  EXPECT_EQ(full.code, 503u) << full.body;
  EXPECT_EQ(full.reason(), "ServiceUnavailable");
  EXPECT_NE(full.str("/message").find("store full: 8000 bytes quota reached"), std::string::npos)
      << full.body;
  EXPECT_NE(full.str("/message").find("--store-quota-bytes"), std::string::npos) << full.body;

  auto metrics = call(V::get, "/metrics");
  EXPECT_NE(metrics.body.find("magnumd_store_quota_bytes 8000\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find(fmt::format("magnumd_store_objects {}\n", created + 1)),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("magnumd_store_size_bytes "), std::string::npos);

  // Deleting needs no room, and makes room.
  ASSERT_EQ(call(V::delete_, clusters() + "/c0").code, 200u);
  EXPECT_EQ(createCluster("demo", "again", "k8s").code, 201u);
}

TEST_F(LimitsTest, ANamespaceAtItsObjectLimitAnswers403ExceededQuota) {
  restartWithStoreLimits(0, 2);
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "a", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "b", "k8s").code, 201u);
  auto refused = createCluster("demo", "c", "k8s");
  EXPECT_EQ(refused.code, 403u) << refused.body;
  EXPECT_EQ(refused.reason(), "Forbidden");
  EXPECT_EQ(refused.str("/message"),
            "clusters \"c\" is forbidden: exceeded quota: namespace demo holds 2 clusters, the "
            "limit of 2 objects of one kind per namespace; delete some, or raise "
            "--max-objects-per-namespace");
  ASSERT_EQ(createTemplate("other", "k8s").code, 201u);
  EXPECT_EQ(createCluster("other", "c", "k8s").code, 201u);
}

TEST_F(LimitsTest, AUserBeyondItsWatchLimitGets429AndAClosedStreamFreesItsSlot) {
  restartWithWatchesPerUser(2);
  auto first = watch(clusters() + "?watch=true&timeoutSeconds=1");
  auto second = watch(clusters() + "?watch=true");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  Reply refused;
  EXPECT_EQ(watch(clusters() + "?watch=true", kAdmin, &refused), nullptr);
  EXPECT_EQ(refused.code, 429u) << refused.body;
  EXPECT_EQ(refused.reason(), "TooManyRequests");
  EXPECT_EQ(refused.str("/message"),
            "too many open watches for user \"root\": 2 of 2 allowed; close one, or raise "
            "--max-watches-per-user");
  // Another user has its own allowance.
  EXPECT_NE(watch(clusters() + "?watch=true", kReaderAll), nullptr);

  // The first stream ends (timeoutSeconds=1): its slot is free again.
  ASSERT_TRUE(
      first->waitFor([&](const Events&) { return first->done.load(); }, std::chrono::seconds(5)));
  ASSERT_TRUE(first->waitFor([&](const Events&) { return api_->openWatches() == 2; }));
  EXPECT_NE(watch(clusters() + "?watch=true"), nullptr);
  EXPECT_EQ(watch(clusters() + "?watch=true", kAdmin, &refused), nullptr);
  EXPECT_EQ(refused.code, 429u);
}

}  // namespace
}  // namespace magnumd::server
