// The store tests run against both backends (tests/support/store_backend.h). A test derives from
// StoreBackendTest, sets config_ and calls open(); revisions are written rev(n): the n-th write
// since the store was first opened (etcd's revision counter is shared by every prefix).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "store/store.h"
#include "store_test_util.h"
#include "tests/support/store_backend.h"

namespace magnumd::store::testing {

using magnumd::testing::Backend;
using magnumd::testing::BackendConfig;
using magnumd::testing::backendName;

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (std::string why = stores_.prepare(GetParam()); !why.empty()) GTEST_SKIP() << why;
  }

  // A store at `place` (a file name, or a prefix under this test's): the same place again after
  // a reopen, another place for a second independent store.
  util::Result<StorePtr> tryOpen(const std::string& place = "store") {
    return stores_.open(dir_.path(), place, config_);
  }

  StorePtr open(const std::string& place = "store") {
    auto store = tryOpen(place);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    if (!store.ok()) return nullptr;
    if (base_ < 0) base_ = (*store)->currentRevision();
    return std::move(store).value();
  }
  void openMain() { store_ = open(); }
  void reopen() {
    store_.reset();
    store_ = open();
  }

  // The revision of the n-th write since the first open.
  int64_t rev(int64_t n) const { return base_ + n; }
  int64_t openWrites() const { return stores_.openWrites(); }

  // SQLite compacts as it commits; etcd on its compaction timer. Waits (with a deadline) until
  // history up to `revision` is compacted.
  static bool waitCompacted(Store& store, int64_t revision) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (store.compactedRevision() < revision) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  BackendConfig config_;
  TempDir dir_;
  StorePtr store_;
  int64_t base_ = -1;
  magnumd::testing::BackendStores stores_;
};

}  // namespace magnumd::store::testing
