// Listing: order, scope, filter while paging, continue tokens and their errors.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/object_index.h"
#include "store_backend.h"
#include "store_test_util.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;

class StoreListTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped()) return;
    openMain();
  }
  std::vector<std::string> names(const ListResult& r) {
    std::vector<std::string> out;
    for (const auto& o : r.items) out.push_back(o.metadata.namespace_ + "/" + o.metadata.name);
    return out;
  }
  // Follows continue tokens to the end, checking each page's size and `remaining`.
  std::vector<std::string> pageThrough(ListOptions options, size_t total_matches) {
    std::vector<std::string> all;
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = store_->list(options);
      EXPECT_TRUE(page.ok()) << page.error().message;
      if (!page.ok()) break;
      for (auto& n : names(*page)) all.push_back(n);
      if (page->continue_token.empty()) {
        EXPECT_EQ(page->remaining, 0);
        break;
      }
      EXPECT_EQ(page->items.size(), static_cast<size_t>(options.limit));
      EXPECT_GT(page->remaining, 0);
      if (!options.filter) {
        EXPECT_EQ(page->remaining, static_cast<int64_t>(total_matches - all.size()));
      }
      options.continue_token = page->continue_token;
    }
    return all;
  }
};

TEST_P(StoreListTest, OrderedByNamespaceThenNameAndScopedByKindAndNamespace) {
  for (auto [ns, name] : std::vector<std::pair<std::string, std::string>>{
           {"b", "z"}, {"a", "y"}, {"b", "a"}, {"a", "b"}, {"c", "m"}}) {
    mustCreate(*store_, cluster(ns, name));
  }
  mustCreate(*store_, object(api::Kind::ClusterTemplate, "a", "tmpl"));
  auto all = store_->list({.kind = api::Kind::Cluster});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(names(*all), (std::vector<std::string>{"a/b", "a/y", "b/a", "b/z", "c/m"}));
  EXPECT_EQ(all->revision, rev(6));
  EXPECT_TRUE(all->continue_token.empty());

  auto in_b = store_->list({.kind = api::Kind::Cluster, .namespace_ = "b"});
  EXPECT_EQ(names(*in_b), (std::vector<std::string>{"b/a", "b/z"}));
  auto templates = store_->list({.kind = api::Kind::ClusterTemplate});
  EXPECT_EQ(names(*templates), (std::vector<std::string>{"a/tmpl"}));
  auto none = store_->list({.kind = api::Kind::NodeGroup});
  EXPECT_TRUE(none->items.empty());
}

TEST_P(StoreListTest, PagesCoverEverythingExactlyOnce) {
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    std::string ns = i % 2 ? "odd" : "even";
    std::string name = fmt::format("c{:02}", i);
    mustCreate(*store_, cluster(ns, name));
  }
  auto full = store_->list({.kind = api::Kind::Cluster});
  auto paged = pageThrough({.kind = api::Kind::Cluster, .limit = 10}, 25);
  EXPECT_EQ(paged, names(*full));
  EXPECT_EQ(paged.size(), 25u);
  auto odd = pageThrough({.kind = api::Kind::Cluster, .namespace_ = "odd", .limit = 4}, 12);
  EXPECT_EQ(odd.size(), 12u);
  for (const auto& n : odd) EXPECT_EQ(n.substr(0, 4), "odd/");
}

TEST_P(StoreListTest, FilterIsAppliedWhilePaging) {
  for (int i = 0; i < 30; ++i) {
    api::Object o = cluster("ns", fmt::format("c{:02}", i));
    o.metadata.labels["tier"] = i % 3 == 0 ? "gold" : "iron";
    mustCreate(*store_, o);
  }
  auto gold = [](const api::Object& o) {
    auto it = o.metadata.labels.find("tier");
    return it != o.metadata.labels.end() && it->second == "gold";
  };
  auto pages = pageThrough({.kind = api::Kind::Cluster, .filter = gold, .limit = 3}, 10);
  ASSERT_EQ(pages.size(), 10u);  // full pages of matches, not pages of 3 scanned objects
  for (size_t i = 0; i < pages.size(); ++i) EXPECT_EQ(pages[i], fmt::format("ns/c{:02}", i * 3));
}

// Later pages keep the first page's revision, so list-then-watch from it misses nothing that
// changed while the client paged.
TEST_P(StoreListTest, EveryPageCarriesTheFirstPagesRevision) {
  for (int i = 0; i < 4; ++i) mustCreate(*store_, cluster("ns", fmt::format("c{}", i)));
  auto first = store_->list({.kind = api::Kind::Cluster, .limit = 2});
  ASSERT_TRUE(first.ok());
  const int64_t listed_at = first->revision;
  mustCreate(*store_, cluster("ns", "c00"));  // behind the cursor: only a watch can show it
  auto second = store_->list(
      {.kind = api::Kind::Cluster, .limit = 2, .continue_token = first->continue_token});
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->revision, listed_at);
  EXPECT_GT(store_->currentRevision(), listed_at);
}

TEST_P(StoreListTest, ContinueTokenOlderThanTheChangeLogIsExpired) {
  config_.retention = 2;
  auto store = open("short-log");
  for (int i = 0; i < 4; ++i) mustCreate(*store, cluster("ns", fmt::format("c{}", i)));
  auto first = store->list({.kind = api::Kind::Cluster, .limit = 2});
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 10; ++i) mustCreate(*store, cluster("ns", fmt::format("d{}", i)));
  ASSERT_TRUE(waitCompacted(*store, first->revision + 1));
  auto late = store->list({.kind = api::Kind::Cluster, .limit = 2, .continue_token = first->continue_token});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::Expired);
  EXPECT_NE(late.error().message.find("list again without continue"), std::string::npos);
}

TEST_P(StoreListTest, ContinueSkipsToAfterTheLastKeyEvenIfItWasDeleted) {
  for (int i = 0; i < 6; ++i) mustCreate(*store_, cluster("ns", fmt::format("c{}", i)));
  auto first = store_->list({.kind = api::Kind::Cluster, .limit = 3});
  ASSERT_EQ(names(*first), (std::vector<std::string>{"ns/c0", "ns/c1", "ns/c2"}));
  ASSERT_TRUE(removeSync(*store_, {api::Kind::Cluster, "ns", "c2"}, 0).ok());
  mustCreate(*store_, cluster("ns", "c00"));  // sorts before the token: not on later pages
  auto second = store_->list(
      {.kind = api::Kind::Cluster, .limit = 3, .continue_token = first->continue_token});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(names(*second), (std::vector<std::string>{"ns/c3", "ns/c4", "ns/c5"}));
  EXPECT_TRUE(second->continue_token.empty());
}

TEST_P(StoreListTest, BadTokensAndLimitsAreBadRequests) {
  for (int i = 0; i < 4; ++i) mustCreate(*store_, cluster("ns", fmt::format("c{}", i)));
  auto page = store_->list({.kind = api::Kind::Cluster, .namespace_ = "ns", .limit = 2});
  ASSERT_FALSE(page->continue_token.empty());

  for (const std::string& token : std::vector<std::string>{"%%%not-base64%%%", "eyJ2IjoxfQ",
                                                           "aGVsbG8", std::string(5000, 'A')}) {
    auto r = store_->list({.kind = api::Kind::Cluster, .continue_token = token});
    ASSERT_FALSE(r.ok()) << token;
    EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
    EXPECT_NE(r.error().message.find("continue"), std::string::npos);
  }
  // A valid token from another list (other namespace, other kind) is refused too.
  auto other_ns = store_->list({.kind = api::Kind::Cluster,
                                .namespace_ = "elsewhere",
                                .continue_token = page->continue_token});
  ASSERT_FALSE(other_ns.ok());
  EXPECT_EQ(other_ns.error().code, ErrorCode::BadRequest);
  auto other_kind = store_->list(
      {.kind = api::Kind::NodeGroup, .namespace_ = "ns", .continue_token = page->continue_token});
  ASSERT_FALSE(other_kind.ok());

  auto negative = store_->list({.kind = api::Kind::Cluster, .limit = -1});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, ErrorCode::BadRequest);
}

INSTANTIATE_STORE_BACKENDS(StoreListTest);

TEST(ContinueTokenTest, RoundTrips) {
  ContinueToken token{42, api::Kind::NodeGroup, "ns", "ns", "name with spaces/and\"quotes"};
  auto decoded = decodeContinueToken(encodeContinueToken(token));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->revision, 42);
  EXPECT_EQ(decoded->kind, api::Kind::NodeGroup);
  EXPECT_EQ(decoded->last_name, token.last_name);
}

}  // namespace
}  // namespace magnumd::store
