// Shared helpers for the store tests: temporary directories, objects, a fixed clock, and an
// event sink that records watch deliveries (and a watch's end) and lets a test wait for them
// with a deadline.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/support/fake_clock.h"

namespace magnumd::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "magnumd-store-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct FixedClock : magnumd::testing::FakeClock {
  FixedClock() : FakeClock(util::SystemTime(std::chrono::seconds(1795000000))) {}  // 2026-11-18
};

inline api::Object object(api::Kind kind, std::string ns, std::string name,
                          std::string spec = "{}") {
  api::Object o;
  o.kind = kind;
  o.metadata.namespace_ = std::move(ns);
  o.metadata.name = std::move(name);
  o.spec = std::move(spec);
  return o;
}

inline api::Object cluster(std::string ns, std::string name, std::string spec = "{}") {
  return object(api::Kind::Cluster, std::move(ns), std::move(name), std::move(spec));
}

inline StorePtr openOrDie(SqliteOptions options) {
  auto store = openSqliteStore(options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  return store.ok() ? std::move(store).value() : nullptr;
}

inline api::Object mustCreate(Store& store, api::Object o) {
  auto r = createSync(store, std::move(o));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : api::Object{};
}

// Thread-safe recorder of watch events.
class EventSink {
 public:
  WatchCallback callback() {
    return [this](std::span<const WatchEvent> events) {
      std::lock_guard lock(mu_);
      for (const auto& e : events) events_.push_back(e);
      ++calls_;
      cv_.notify_all();
    };
  }
  WatchEndCallback endCallback() {
    return [this](const util::Error& why) {
      std::lock_guard lock(mu_);
      ends_.push_back(why);
      cv_.notify_all();
    };
  }
  // Waits (with a deadline) until the store ended the watch.
  bool waitForEnd(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !ends_.empty(); });
  }
  std::vector<util::Error> ends() const {
    std::lock_guard lock(mu_);
    return ends_;
  }
  // Polls (with a deadline) until at least `n` events arrived.
  bool waitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  std::vector<WatchEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<int64_t> revisions() const {
    std::lock_guard lock(mu_);
    std::vector<int64_t> out;
    for (const auto& e : events_) out.push_back(e.object.metadata.resource_version);
    return out;
  }
  size_t calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatchEvent> events_;
  std::vector<util::Error> ends_;
  size_t calls_ = 0;
};

// Revisions first+1 .. last, for comparing with what a watcher saw.
inline std::vector<int64_t> range(int64_t after, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t r = after + 1; r <= last; ++r) out.push_back(r);
  return out;
}

}  // namespace magnumd::store::testing
