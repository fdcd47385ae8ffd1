// Tests that run against both Store backends: SQLite in a file of the test's directory, and etcd
// (a real /usr/bin/etcd started once per test process, tests/support/etcd_server.h) under a key
// prefix of its own. A fixture derives from ::testing::WithParamInterface<Backend> (or
// TestWithParam), holds a BackendStores, calls prepare() in SetUp (skipping when it returns a
// reason) and opens its stores with open(); INSTANTIATE_STORE_BACKENDS runs the suite on both.
// Binaries without the etcd backend (MAGNUMD_ETCD=OFF) skip the etcd half.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "store/sqlite_store.h"
#include "store/store.h"
#ifdef MAGNUMD_WITH_ETCD
#include "store/etcd_store.h"
#include "tests/support/etcd_server.h"
#endif

namespace magnumd::testing {

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

class BackendStores {
 public:
  // Empty when stores of `backend` can be opened; otherwise why the test is skipped.
  std::string prepare(Backend backend) {
    backend_ = backend;
    if (backend == Backend::Sqlite) return {};
#ifdef MAGNUMD_WITH_ETCD
    std::string why;
    etcd_ = EtcdServer::shared(&why);
    if (!etcd_) return "no etcd to test against: " + why;
    static std::atomic<int> counter{0};
    prefix_ = "/test" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    return {};
#else
    return "built with MAGNUMD_ETCD=OFF";
#endif
  }

  // A store at `place`: the SQLite file `<dir>/<place>.db`, or the etcd prefix
  // `<this test's prefix>/<place>`. The same place again reopens the same objects.
  util::Result<store::StorePtr> open(const std::string& dir, const std::string& place,
                                     const BackendConfig& config) const {
    if (backend_ == Backend::Sqlite) {
      store::SqliteOptions o;
      o.path = dir + "/" + place + ".db";
      o.clock = config.clock;
      o.change_log_retention = config.retention;
      o.watch_cache_events = config.cache_events;
      o.quota_bytes = config.quota_bytes;
      o.max_objects_per_namespace = config.max_objects_per_namespace;
      return store::openSqliteStore(o);
    }
#ifdef MAGNUMD_WITH_ETCD
    store::EtcdOptions o;
    o.endpoints = {etcd_->endpoint()};
    o.prefix = prefix_ + "/" + place;
    o.clock = config.clock;
    o.retention_revisions = config.retention;
    o.compaction_interval = std::chrono::milliseconds(20);
    o.watch_cache_events = config.cache_events;
    o.quota_bytes = config.quota_bytes;
    o.max_objects_per_namespace = config.max_objects_per_namespace;
    return store::openEtcdStore(o);
#else
    return util::makeError(util::ErrorCode::Internal, "no etcd backend");
#endif
  }

  Backend backend() const { return backend_; }
  // Revisions an open takes: etcd's store writes a fence key (see EtcdStore::start).
  int64_t openWrites() const { return backend_ == Backend::Etcd ? 1 : 0; }

 private:
  Backend backend_ = Backend::Sqlite;
#ifdef MAGNUMD_WITH_ETCD
  EtcdServer* etcd_ = nullptr;
  std::string prefix_;
#endif
};

#define INSTANTIATE_STORE_BACKENDS(Suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(                                                                      \
      Backends, Suite,                                                                           \
      ::testing::Values(::magnumd::testing::Backend::Sqlite, ::magnumd::testing::Backend::Etcd), \
      ::magnumd::testing::backendName)

}  // namespace magnumd::testing
