#include "store/store.h"

#include <future>

namespace magnumd::store {
namespace {

template <typename Start>
util::Result<api::Object> wait(Start start) {
  std::promise<util::Result<api::Object>> promise;
  auto future = promise.get_future();
  start([&promise](util::Result<api::Object> result) { promise.set_value(std::move(result)); });
  return future.get();
}

// A view that forwards everything: the fence of a backend without replicas.
class ForwardingStore final : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}
  util::Result<api::Object> get(const api::ObjectKey& key) const override {
    return inner_.get(key);
  }
  util::Result<std::shared_ptr<const api::Object>> getShared(
      const api::ObjectKey& key) const override {
    return inner_.getShared(key);
  }
  util::Result<ListResult> list(const ListOptions& options) const override {
    return inner_.list(options);
  }
  int64_t currentRevision() const override { return inner_.currentRevision(); }
  void create(api::Object object, ObjectCallback done) override {
    inner_.create(std::move(object), std::move(done));
  }
  void update(api::Object object, int64_t expected_rv, ObjectCallback done) override {
    inner_.update(std::move(object), expected_rv, std::move(done));
  }
  void updateStatus(api::Object object, int64_t expected_rv, ObjectCallback done) override {
    inner_.updateStatus(std::move(object), expected_rv, std::move(done));
  }
  void remove(api::ObjectKey key, int64_t expected_rv, ObjectCallback done) override {
    inner_.remove(std::move(key), expected_rv, std::move(done));
  }
  util::Result<WatchHandlePtr> watch(const WatchOptions& options, WatchCallback callback,
                                     WatchEndCallback on_end) override {
    return inner_.watch(options, std::move(callback), std::move(on_end));
  }
  int64_t compactedRevision() const override { return inner_.compactedRevision(); }
  void flush() override { inner_.flush(); }
  StoreUsage usage() const override { return inner_.usage(); }

 private:
  Store& inner_;
};

}  // namespace

StorePtr Store::fenced(WriteFence) { return std::make_unique<ForwardingStore>(*this); }

util::Result<api::Object> createSync(Store& store, api::Object object) {
  return wait([&](ObjectCallback done) { store.create(std::move(object), std::move(done)); });
}
util::Result<api::Object> updateSync(Store& store, api::Object object, int64_t expected_rv) {
  return wait([&](ObjectCallback done) { store.update(std::move(object), expected_rv, std::move(done)); });
}
util::Result<api::Object> updateStatusSync(Store& store, api::Object object, int64_t expected_rv) {
  return wait(
      [&](ObjectCallback done) { store.updateStatus(std::move(object), expected_rv, std::move(done)); });
}
util::Result<api::Object> removeSync(Store& store, api::ObjectKey key, int64_t expected_rv) {
  return wait([&](ObjectCallback done) { store.remove(std::move(key), expected_rv, std::move(done)); });
}

}  // namespace magnumd::store
