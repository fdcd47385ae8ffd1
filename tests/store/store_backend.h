// The store tests run against both backends: SQLite in a temporary file, and etcd (a real
// /usr/bin/etcd started once per test process) under a fresh key prefix. A test derives from
// StoreBackendTest, sets config_ and calls open(); revisions are written rev(n): the n-th write
// since the store was first opened (etcd's revision counter is shared by every prefix).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store_test_util.h"
#ifdef MAGNUMD_WITH_ETCD
#include "store/etcd_store.h"
#include "tests/support/etcd_server.h"
#endif

namespace magnumd::store::testing {

enum class Backend { Sqlite, Etcd };

inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::Sqlite ? "Sqlite" : "Etcd";
}

struct BackendConfig {
  std::shared_ptr<const util::Clock> clock;
  int64_t retention = 100000;  // revisions of history kept for watches
  size_t cache_events = 4096;
  int64_t quota_bytes = 0;
  int64_t max_objects_per_namespace = 0;
};

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
#ifdef MAGNUMD_WITH_ETCD
    if (GetParam() == Backend::Etcd) {
      std::string why;
      etcd_ = magnumd::testing::EtcdServer::shared(&why);
      if (!etcd_) GTEST_SKIP() << "no etcd to test against: " << why;
      static std::atomic<int> counter{0};
      prefix_ = "/test" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    }
#else
    if (GetParam() == Backend::Etcd) GTEST_SKIP() << "built with MAGNUMD_ETCD=OFF";
#endif
  }

  // A store at `place` (a file name, or a prefix under this test's): the same place again after
  // a reopen, another place for a second independent store.
  util::Result<StorePtr> tryOpen(const std::string& place = "store") {
    if (GetParam() == Backend::Sqlite) {
      SqliteOptions o;
      o.path = dir_.file(place + ".db");
      o.clock = config_.clock;
      o.change_log_retention = config_.retention;
      o.watch_cache_events = config_.cache_events;
      o.quota_bytes = config_.quota_bytes;
      o.max_objects_per_namespace = config_.max_objects_per_namespace;
      return openSqliteStore(o);
    }
#ifdef MAGNUMD_WITH_ETCD
    EtcdOptions o;
    o.endpoints = {etcd_->endpoint()};
    o.prefix = prefix_ + "/" + place;
    o.clock = config_.clock;
    o.retention_revisions = config_.retention;
    o.compaction_interval = std::chrono::milliseconds(20);
    o.watch_cache_events = config_.cache_events;
    o.quota_bytes = config_.quota_bytes;
    o.max_objects_per_namespace = config_.max_objects_per_namespace;
    return openEtcdStore(o);
#else
    return util::makeError(util::ErrorCode::Internal, "no etcd backend");
#endif
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
  // Revisions an open takes: etcd's store writes a fence key (see EtcdStore::start).
  int64_t openWrites() const { return GetParam() == Backend::Etcd ? 1 : 0; }

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
#ifdef MAGNUMD_WITH_ETCD
  magnumd::testing::EtcdServer* etcd_ = nullptr;
  std::string prefix_;
#endif
};

#define INSTANTIATE_STORE_BACKENDS(Suite)                                                \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                              \
                           ::testing::Values(::magnumd::store::testing::Backend::Sqlite, \
                                             ::magnumd::store::testing::Backend::Etcd),  \
                           ::magnumd::store::testing::backendName)

}  // namespace magnumd::store::testing
