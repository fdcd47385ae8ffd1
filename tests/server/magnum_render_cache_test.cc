// The render cache keeps the latest rendering per object and stays within its byte budget,
// dropping the least recently used first.
#include "server/magnum_render_cache.h"

#include <gtest/gtest.h>

namespace magnumd::server::magnum {
namespace {

std::shared_ptr<const std::string> json(size_t bytes) {
  return std::make_shared<const std::string>(bytes, 'x');
}

RenderKey keyAt(int64_t resource_version) {
  RenderKey key;
  key.resource_version = resource_version;
  key.base_url = "http://127.0.0.1:9511";
  return key;
}

TEST(RenderCacheTest, KeepsTheLatestRenderingOfEachObject) {
  RenderCache cache(1 << 20);
  EXPECT_FALSE(cache.find("a"));
  cache.put("a", keyAt(1), json(10));
  cache.put("a", keyAt(2), json(20));
  auto hit = cache.find("a");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->key, keyAt(2));
  EXPECT_EQ(hit->json->size(), 20u);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(RenderCacheTest, StaysWithinItsBudgetDroppingTheLeastRecentlyUsed) {
  const size_t budget = 64 * 1024;
  RenderCache cache(budget);
  for (int i = 0; i < 1000; ++i) {
    cache.put("uid-" + std::to_string(i), keyAt(i), json(1000));
    cache.find("uid-0");  // kept warm: never the least recently used
    EXPECT_LE(cache.bytes(), budget);
  }
  EXPECT_TRUE(cache.find("uid-0"));
  EXPECT_TRUE(cache.find("uid-999"));
  EXPECT_FALSE(cache.find("uid-1"));
  EXPECT_GT(cache.entries(), 10u);
  EXPECT_LT(cache.entries(), 64u);
}

TEST(RenderCacheTest, ARenderingLargerThanTheBudgetIsNotKept) {
  RenderCache cache(4096);
  cache.put("small", keyAt(1), json(100));
  cache.put("huge", keyAt(1), json(8192));
  EXPECT_FALSE(cache.find("huge"));
  EXPECT_TRUE(cache.find("small"));
}

}  // namespace
}  // namespace magnumd::server::magnum
