// A real store, plus object builders, for the controller tests: SQLite in a temporary directory,
// or (StoreBackendFixture) each backend in turn, tests/support/store_backend.h.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "store/store.h"
#include "tests/support/store_backend.h"

namespace magnumd::controller::testing {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void open(int64_t retention = 100000) {
    if (dir_.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "magnumd-ctrl-XXXXXX").string();
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
    }
    store_.reset();
    ::magnumd::testing::BackendConfig config;
    config.retention = retention;
    auto opened = stores_.open(dir_, "test", config);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  static api::Object object(api::Kind kind, std::string name, std::string spec = "{}",
                            std::string ns = "demo") {
    api::Object o;
    o.kind = kind;
    o.metadata.name = std::move(name);
    o.metadata.namespace_ = std::move(ns);
    o.spec = std::move(spec);
    return o;
  }

  api::Object create(api::Object o) {
    auto r = store::createSync(*store_, std::move(o));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : api::Object{};
  }
  api::Object update(api::Object o) {
    auto r = store::updateSync(*store_, o, 0);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : api::Object{};
  }
  void remove(const api::Object& o) {
    auto r = store::removeSync(*store_, api::keyOf(o), 0);
    EXPECT_TRUE(r.ok()) << r.error().message;
  }

  std::string dir_;
  ::magnumd::testing::BackendStores stores_;  // SQLite unless StoreBackendFixture prepared etcd
  store::StorePtr store_;
};

// StoreFixture on each store backend: a TEST_P suite instantiated with INSTANTIATE_STORE_BACKENDS.
class StoreBackendFixture : public StoreFixture,
                            public ::testing::WithParamInterface<::magnumd::testing::Backend> {
 protected:
  void SetUp() override {
    if (std::string why = stores_.prepare(GetParam()); !why.empty()) GTEST_SKIP() << why;
    StoreFixture::SetUp();
  }
};

// Delegates to a real store but fails the first `list_failures` lists and `watch_failures`
// watches with Unavailable (negative: fail forever). With `throw_on_next_delivery`, the next
// watch's callback throws on its first delivery, so the real store ends that watch.
class FaultyStore final : public store::Store {
 public:
  explicit FaultyStore(store::Store& inner) : inner_(inner) {}
  util::Result<api::Object> get(const api::ObjectKey& key) const override { return inner_.get(key); }
  util::Result<store::ListResult> list(const store::ListOptions& o) const override {
    if (list_failures.load() != 0) {
      if (list_failures.load() > 0) --list_failures;
      return util::makeError(util::ErrorCode::Unavailable, "injected list failure");
    }
    return inner_.list(o);
  }
  int64_t currentRevision() const override { return inner_.currentRevision(); }
  void flush() override { inner_.flush(); }
  void create(api::Object o, store::ObjectCallback done) override {
    inner_.create(std::move(o), std::move(done));
  }
  void update(api::Object o, int64_t rv, store::ObjectCallback done) override {
    inner_.update(std::move(o), rv, std::move(done));
  }
  void updateStatus(api::Object o, int64_t rv, store::ObjectCallback done) override {
    inner_.updateStatus(std::move(o), rv, std::move(done));
  }
  void remove(api::ObjectKey k, int64_t rv, store::ObjectCallback done) override {
    inner_.remove(std::move(k), rv, std::move(done));
  }
  util::Result<store::WatchHandlePtr> watch(const store::WatchOptions& o, store::WatchCallback cb,
                                            store::WatchEndCallback on_end) override {
    ++watch_attempts;
    if (watch_failures.load() != 0) {
      if (watch_failures.load() > 0) --watch_failures;
      return util::makeError(util::ErrorCode::Unavailable, "injected watch failure");
    }
    if (throw_on_next_delivery.exchange(false)) {
      // The store itself sees a callback that throws, as a buggy or out-of-memory one would.
      cb = [cb = std::move(cb), armed = std::make_shared<std::atomic<bool>>(true)](
               std::span<const store::WatchEvent> events) {
        if (armed->exchange(false)) throw std::runtime_error("injected callback failure");
        cb(events);
      };
    }
    return inner_.watch(o, std::move(cb), std::move(on_end));
  }
  int64_t compactedRevision() const override { return inner_.compactedRevision(); }
  store::StoreUsage usage() const override { return inner_.usage(); }

  mutable std::atomic<int> list_failures{0};
  std::atomic<int> watch_failures{0};
  std::atomic<int> watch_attempts{0};
  std::atomic<bool> throw_on_next_delivery{false};

 private:
  store::Store& inner_;
};

}  // namespace magnumd::controller::testing
