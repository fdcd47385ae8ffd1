// EtcdStore's writes, as kube-apiserver's GuaranteedUpdate: plan the write (mutation.h) against
// the cached state of the key, commit it with a transaction that compares the key's mod_revision
// with the state planned against (0: absent), and when another writer got there first, plan
// again against the state the transaction's else branch read. A plan that fails or changes
// nothing against the cache is retried once against etcd's state, since the cache may lag.
//
// A committed write is acknowledged when the cache has applied its revision (read-your-writes).
#include <fmt/format.h>

#include <shared_mutex>

#include "store/etcd_store_impl.h"
#include "util/log.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

// Concurrent writers to one key each win in turn; this many losses in a row means a hot key.
constexpr int kMaxAttempts = 32;

void reply(ObjectCallback& done, util::Result<api::Object> result) {
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    LOG_ERROR("store", "a write callback threw: {}", e.what());
  } catch (...) {
    LOG_ERROR("store", "a write callback threw");
  }
}

// Whether the leader key the fence names still is the one of the fenced leadership.
bool fenceHolds(const WriteFence& fence, const etcdserverpb::RangeResponse& leader) {
  return leader.kvs_size() == 1 && leader.kvs(0).create_revision() == fence.revision;
}

}  // namespace

void EtcdStore::create(api::Object object, ObjectCallback done) {
  createFenced(std::move(object), std::move(done), std::nullopt);
}
void EtcdStore::update(api::Object object, int64_t expected_rv, ObjectCallback done) {
  updateFenced(std::move(object), expected_rv, std::move(done), std::nullopt);
}
void EtcdStore::updateStatus(api::Object object, int64_t expected_rv, ObjectCallback done) {
  updateStatusFenced(std::move(object), expected_rv, std::move(done), std::nullopt);
}
void EtcdStore::remove(api::ObjectKey key, int64_t expected_rv, ObjectCallback done) {
  removeFenced(std::move(key), expected_rv, std::move(done), std::nullopt);
}

void EtcdStore::createFenced(api::Object object, ObjectCallback done,
                             std::optional<WriteFence> fence) {
  api::ObjectKey key = keyOf(object);
  std::string now = util::formatRfc3339(clock_->now());
  submit(
      key, true,
      [object = std::move(object), now](const api::Object* current) {
        return planCreate(object, current, now);
      },
      std::move(done), std::move(fence));
}

void EtcdStore::updateFenced(api::Object object, int64_t expected_rv, ObjectCallback done,
                             std::optional<WriteFence> fence) {
  api::ObjectKey key = keyOf(object);
  submit(
      key, true,
      [object = std::move(object), expected_rv](const api::Object* current) {
        return planUpdate(object, current, expected_rv);
      },
      std::move(done), std::move(fence));
}

void EtcdStore::updateStatusFenced(api::Object object, int64_t expected_rv, ObjectCallback done,
                                   std::optional<WriteFence> fence) {
  api::ObjectKey key = keyOf(object);
  submit(
      key, false,
      [object = std::move(object), expected_rv](const api::Object* current) {
        return planUpdateStatus(object, current, expected_rv);
      },
      std::move(done), std::move(fence));
}

void EtcdStore::removeFenced(api::ObjectKey key, int64_t expected_rv, ObjectCallback done,
                             std::optional<WriteFence> fence) {
  std::string now = util::formatRfc3339(clock_->now());
  submit(
      key, false,
      [key, expected_rv, now](const api::Object* current) {
        return planRemove(key, current, expected_rv, now);
      },
      std::move(done), std::move(fence));
}

void EtcdStore::submit(api::ObjectKey key, bool checked, Plan plan, ObjectCallback done,
                       std::optional<WriteFence> fence) {
  if (!done) done = [](util::Result<api::Object>) {};
  std::optional<util::Error> refused;
  {
    std::lock_guard lock(write_mu_);
    if (stopping_) {
      refused = makeError(ErrorCode::Unavailable, "store: shutting down");
    } else if (queue_.size() >= options_.max_pending) {
      refused =
          makeError(ErrorCode::Unavailable,
                    fmt::format("store: {} writes are waiting for {} (the limit); retry later",
                                queue_.size(), client_->name()));
    } else {
      queue_.push_back(
          Write{std::move(key), checked, std::move(plan), std::move(done), std::move(fence)});
      ++ops_queued_;
    }
  }
  if (refused) {
    reply(done, std::move(*refused));
    return;
  }
  write_cv_.notify_one();
}

void EtcdStore::writerLoop() {
  for (;;) {
    Write write;
    {
      std::unique_lock lock(write_mu_);
      write_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      write = std::move(queue_.front());
      queue_.pop_front();
    }
    execute(write);
  }
}

util::Result<StoredObject> EtcdStore::readKey(const std::string& key) const {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  ASSIGN_OR_RETURN(auto response, client_->range(request));
  if (response.kvs_size() == 0) return StoredObject{};
  ASSIGN_OR_RETURN(api::Object object, decodeStored(keys_, response.kvs(0)));
  return StoredObject{std::make_shared<const api::Object>(std::move(object)),
                      static_cast<int64_t>(response.kvs(0).value().size())};
}

util::Status EtcdStore::admitCharge(const api::ObjectKey& key, const WriteCharge& charge) {
  std::lock_guard lock(write_mu_);
  Usage view;  // the cache's usage plus the writes in flight, as far as admit() looks
  {
    std::shared_lock state(state_mu_);
    const Usage& cached = committed_.usage();
    view.add(
        key.kind, key.namespace_, cached.bytes() + inflight_.bytes(),
        cached.objectsIn(key.kind, key.namespace_) + inflight_.objectsIn(key.kind, key.namespace_));
  }
  RETURN_IF_ERROR(admit(limits_, view, key, charge));
  inflight_.add(key.kind, key.namespace_, charge.bytes, charge.objects);
  return {};
}

void EtcdStore::releaseCharge(const api::ObjectKey& key, const WriteCharge& charge) {
  std::lock_guard lock(write_mu_);
  inflight_.add(key.kind, key.namespace_, -charge.bytes, -charge.objects);
}

void EtcdStore::execute(Write& write) {
  const std::string key = keys_.objectKey(write.key);
  StoredObject current;
  {
    std::shared_lock lock(state_mu_);
    current = committed_.findStored(write.key);
  }
  bool from_cache = true;
  auto fail = [&](util::Error error) {
    reply(write.done, std::move(error));
    answered(1);
  };
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    util::Result<Mutation> planned = write.plan(current.object.get());
    if (from_cache && (!planned.ok() || !planned->write)) {
      auto fresh = readKey(key);
      if (!fresh.ok()) return fail(fresh.takeError());
      current = std::move(fresh).value();
      from_cache = false;
      continue;
    }
    if (!planned.ok()) return fail(planned.takeError());
    if (!planned->write) {
      reply(write.done, *current.object);
      answered(1);
      return;
    }
    Mutation m = std::move(planned).value();
    const bool deleted = m.type == EventType::Deleted;
    m.object.metadata.resource_version = 0;  // etcd's mod_revision is the version
    std::string json = encodeStored(m.object);
    const int64_t bytes = deleted ? 0 : static_cast<int64_t>(json.size());
    if (bytes > options_.max_object_bytes) {
      return fail(makeError(ErrorCode::TooLarge,
                            fmt::format("{} {}/{}: the object is {} bytes, more than the {} bytes "
                                        "an object may have in etcd",
                                        api::kindInfo(write.key.kind).name, write.key.namespace_,
                                        write.key.name, bytes, options_.max_object_bytes)));
    }
    WriteCharge charge{bytes - current.bytes, m.type == EventType::Added ? 1 : (deleted ? -1 : 0),
                       write.checked};
    if (util::Status admitted = admitCharge(write.key, charge); !admitted.ok()) {
      return fail(admitted.takeError());
    }
    etcdserverpb::TxnRequest txn;
    auto* compare = txn.add_compare();
    compare->set_key(key);
    compare->set_target(etcdserverpb::Compare::MOD);
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_mod_revision(current.object ? current.object->metadata.resource_version : 0);
    if (deleted) {
      txn.add_success()->mutable_request_delete_range()->set_key(key);
    } else {
      auto* put = txn.add_success()->mutable_request_put();
      put->set_key(key);
      put->set_value(std::move(json));
    }
    txn.add_failure()->mutable_request_range()->set_key(key);
    if (write.fence) {
      auto* fence = txn.add_compare();
      fence->set_key(write.fence->key);
      fence->set_target(etcdserverpb::Compare::CREATE);
      fence->set_result(etcdserverpb::Compare::EQUAL);
      fence->set_create_revision(write.fence->revision);
      txn.add_failure()->mutable_request_range()->set_key(write.fence->key);
    }
    auto response = client_->txn(txn);
    if (!response.ok()) {
      releaseCharge(write.key, charge);
      return fail(response.takeError());
    }
    if (response->succeeded()) {
      int64_t revision = response->header().revision();
      m.object.metadata.resource_version = revision;
      acknowledge(revision, Ack{std::move(m.object), std::move(write.done), write.key, charge,
                                std::chrono::steady_clock::now()});
      return;
    }
    releaseCharge(write.key, charge);
    if (write.fence && !fenceHolds(*write.fence, response->responses(1).response_range())) {
      return fail(makeError(ErrorCode::Unavailable,
                            fmt::format("{} {}/{}: not written: this replica is no longer the "
                                        "leader (its leader key {} of revision {} is gone)",
                                        api::kindInfo(write.key.kind).name, write.key.namespace_,
                                        write.key.name, write.fence->key, write.fence->revision)));
    }
    // Someone else changed the key: plan again against what the transaction read.
    const auto& range = response->responses(0).response_range();
    if (range.kvs_size() == 0) {
      current = StoredObject{};
    } else {
      auto object = decodeStored(keys_, range.kvs(0));
      if (!object.ok()) return fail(object.takeError());
      current = StoredObject{std::make_shared<const api::Object>(std::move(object).value()),
                             static_cast<int64_t>(range.kvs(0).value().size())};
    }
    from_cache = false;
  }
  fail(makeError(ErrorCode::Conflict,
                 fmt::format("{} {}/{}: changed concurrently {} times in a row; try again",
                             api::kindInfo(write.key.kind).name, write.key.namespace_,
                             write.key.name, kMaxAttempts)));
}

void EtcdStore::acknowledge(int64_t revision, Ack ack) {
  {
    std::lock_guard lock(write_mu_);
    if (revision_.load() < revision) {
      acks_.emplace(revision, std::move(ack));
      return;
    }
    inflight_.add(ack.key.kind, ack.key.namespace_, -ack.charge.bytes, -ack.charge.objects);
  }
  reply(ack.done, std::move(ack.object));
  answered(1);
}

void EtcdStore::answered(size_t ops) {
  {
    std::lock_guard lock(write_mu_);
    ops_answered_ += ops;
  }
  answered_cv_.notify_all();
}

void EtcdStore::flush() {
  std::unique_lock lock(write_mu_);
  const uint64_t target = ops_queued_;
  answered_cv_.wait(lock, [&] { return ops_answered_ >= target; });
}

}  // namespace magnumd::store
