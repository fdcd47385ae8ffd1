// The leader's view of an EtcdStore (Store::fenced): the store's reads, and writes whose
// transaction also compares the leader key's creation revision with the leadership's, as etcd's
// concurrency package fences an election's leader (Election.Key(), Rev()).
#include "store/etcd_store_impl.h"

namespace magnumd::store {

namespace {

class FencedEtcdStore final : public Store {
 public:
  FencedEtcdStore(EtcdStore& store, WriteFence fence) : store_(store), fence_(std::move(fence)) {}

  util::Result<api::Object> get(const api::ObjectKey& key) const override {
    return store_.get(key);
  }
  util::Result<std::shared_ptr<const api::Object>> getShared(
      const api::ObjectKey& key) const override {
    return store_.getShared(key);
  }
  util::Result<ListResult> list(const ListOptions& options) const override {
    return store_.list(options);
  }
  int64_t currentRevision() const override { return store_.currentRevision(); }
  void create(api::Object object, ObjectCallback done) override {
    store_.createFenced(std::move(object), std::move(done), fence_);
  }
  void update(api::Object object, int64_t expected_rv, ObjectCallback done) override {
    store_.updateFenced(std::move(object), expected_rv, std::move(done), fence_);
  }
  void updateStatus(api::Object object, int64_t expected_rv, ObjectCallback done) override {
    store_.updateStatusFenced(std::move(object), expected_rv, std::move(done), fence_);
  }
  void remove(api::ObjectKey key, int64_t expected_rv, ObjectCallback done) override {
    store_.removeFenced(std::move(key), expected_rv, std::move(done), fence_);
  }
  util::Result<WatchHandlePtr> watch(const WatchOptions& options, WatchCallback callback,
                                     WatchEndCallback on_end) override {
    return store_.watch(options, std::move(callback), std::move(on_end));
  }
  int64_t compactedRevision() const override { return store_.compactedRevision(); }
  void flush() override { store_.flush(); }
  StoreUsage usage() const override { return store_.usage(); }
  StorePtr fenced(WriteFence fence) override { return store_.fenced(std::move(fence)); }

 private:
  EtcdStore& store_;
  const WriteFence fence_;
};

}  // namespace

StorePtr EtcdStore::fenced(WriteFence fence) {
  return std::make_unique<FencedEtcdStore>(*this, std::move(fence));
}

}  // namespace magnumd::store
