// EtcdStore's class, shared by its three source files: etcd_store.cc (opening, reads, lists),
// etcd_store_write.cc (transactions) and etcd_store_watch.cc (the cache's watch, compaction).
//
// Threads: `writer_threads` writers run the transactions; one watcher keeps the cache (and
// acknowledges this store's writes once the cache holds them); one compactor; the WatchHub's
// dispatcher delivers store watches.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "store/etcd_client.h"
#include "store/etcd_store.h"
#include "store/mutation.h"
#include "store/object_index.h"
#include "store/quota.h"
#include "store/rw_lock.h"
#include "store/watch_hub.h"

namespace magnumd::store {

class EtcdStore final : public Store {
 public:
  EtcdStore(EtcdOptions options, std::unique_ptr<EtcdClient> client);
  ~EtcdStore() override;
  // Loads the objects and starts the threads.
  util::Status start();

  util::Result<api::Object> get(const api::ObjectKey& key) const override;
  util::Result<std::shared_ptr<const api::Object>> getShared(
      const api::ObjectKey& key) const override;
  util::Result<ListResult> list(const ListOptions& options) const override;
  int64_t currentRevision() const override { return revision_.load(); }
  void create(api::Object object, ObjectCallback done) override;
  void update(api::Object object, int64_t expected_rv, ObjectCallback done) override;
  void updateStatus(api::Object object, int64_t expected_rv, ObjectCallback done) override;
  void remove(api::ObjectKey key, int64_t expected_rv, ObjectCallback done) override;
  util::Result<WatchHandlePtr> watch(const WatchOptions& options, WatchCallback callback,
                                     WatchEndCallback on_end) override;
  int64_t compactedRevision() const override { return hub_->compactedRevision(); }
  StoreUsage usage() const override;
  void flush() override;
  StorePtr fenced(WriteFence fence) override;

  // The writes above, checking `fence` in their transaction when it is set (the fenced view).
  void createFenced(api::Object object, ObjectCallback done, std::optional<WriteFence> fence);
  void updateFenced(api::Object object, int64_t expected_rv, ObjectCallback done,
                    std::optional<WriteFence> fence);
  void updateStatusFenced(api::Object object, int64_t expected_rv, ObjectCallback done,
                          std::optional<WriteFence> fence);
  void removeFenced(api::ObjectKey key, int64_t expected_rv, ObjectCallback done,
                    std::optional<WriteFence> fence);

 private:
  using Plan = std::function<util::Result<Mutation>(const api::Object* current)>;
  struct Write {
    api::ObjectKey key;
    bool checked = true;  // subject to the limits (see WriteCharge::checked)
    Plan plan;
    ObjectCallback done;
    std::optional<WriteFence> fence;  // the leader's writes: commit only while it holds
  };
  // A committed write waiting for the cache to reach its revision.
  struct Ack {
    api::Object object;
    ObjectCallback done;
    api::ObjectKey key;
    WriteCharge charge;
    std::chrono::steady_clock::time_point committed{};
  };
  // A change as the cache applies it: the event and the size of the stored value.
  struct Change {
    WatchEvent event;
    int64_t bytes = 0;
  };

  // etcd_store.cc
  util::Result<ListResult> listFromEtcd(const ListOptions& options) const;
  // Loads every object at `revision` (0: the current one); returns the snapshot's revision.
  util::Result<int64_t> loadInto(ObjectIndex& index, int64_t revision = 0) const;
  // The oldest revision etcd still holds (0: nothing compacted), as of revision `current`.
  util::Result<int64_t> probeCompacted(int64_t current) const;

  // etcd_store_write.cc
  void submit(api::ObjectKey key, bool checked, Plan plan, ObjectCallback done,
              std::optional<WriteFence> fence);
  void writerLoop();
  void execute(Write& write);
  util::Result<StoredObject> readKey(const std::string& key) const;
  util::Status admitCharge(const api::ObjectKey& key, const WriteCharge& charge);
  void releaseCharge(const api::ObjectKey& key, const WriteCharge& charge);
  void acknowledge(int64_t revision, Ack ack);
  void answered(size_t ops);

  // etcd_store_watch.cc
  void watchLoop();
  // Runs one etcd watch from revision_ + 1 until it ends; true when etcd compacted that revision.
  bool watchOnce();
  void apply(std::vector<Change> changes, int64_t revision);
  // Answers the writes committed more than request_timeout ago that the cache still lacks (its
  // watch is down): durable is what a write promises; read-your-writes yields to availability.
  void releaseStaleAcks();
  void relist();  // after the cache's own watch fell behind compaction
  void compactLoop();
  void compactOnce();

  const EtcdOptions options_;
  const QuotaLimits limits_;
  std::shared_ptr<const util::Clock> clock_;
  std::unique_ptr<EtcdClient> client_;
  const EtcdKeys keys_;

  mutable WriterPreferringSharedMutex state_mu_;
  ObjectIndex committed_;  // what etcd held at revision_ under the prefix
  std::atomic<int64_t> revision_{0};

  std::mutex write_mu_;  // everything below, up to hub_; taken before state_mu_, never after
  std::condition_variable write_cv_;  // writers only: notify_one must reach a writer
  std::condition_variable stop_cv_;   // the watcher's backoff and the compactor's interval
  std::deque<Write> queue_;
  Usage inflight_;                    // charges of admitted writes the cache does not hold yet
  std::multimap<int64_t, Ack> acks_;  // by revision
  uint64_t ops_queued_ = 0;
  uint64_t ops_answered_ = 0;
  std::condition_variable answered_cv_;
  bool stopping_ = false;                         // writers drain the queue and exit
  bool stop_watching_ = false;                    // the watcher and compactor exit
  grpc::ClientContext* watch_context_ = nullptr;  // the watcher's live stream, to cancel it

  const std::shared_ptr<EtcdLeaderContact> contact_;

  std::unique_ptr<WatchHub> hub_;
  std::vector<std::thread> writers_;
  std::thread watcher_;
  std::thread compactor_;
};

}  // namespace magnumd::store
