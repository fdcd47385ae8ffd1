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

}  // namespace

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
