// EtcdHistoryReader: a watch's replay of etcd's history through a short-lived etcd Watch.
//
// A Watch from a past revision streams the history and then goes quiet: nothing says "that was
// all". etcd answers a progress request only once the watcher has caught up (its header
// revision then is the current one), so a helper asks every 100 ms until the answer comes.
#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/etcd_client.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

util::Result<std::vector<WatchEvent>> EtcdHistoryReader::readChanges(int64_t after, int64_t upto,
                                                                     api::Kind kind,
                                                                     const std::string& namespace_,
                                                                     int limit) {
  std::vector<WatchEvent> events;
  if (after >= upto || limit <= 0) return events;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = client_.watchStub().Watch(&context);
  etcdserverpb::WatchRequest create;
  auto* c = create.mutable_create_request();
  c->set_key(keys_.scopePrefix(kind, namespace_));
  c->set_range_end(prefixEnd(c->key()));
  c->set_start_revision(after + 1);
  c->set_prev_kv(true);
  if (!stream->Write(create)) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("{}: cannot open a watch to read history", client_.name()));
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread prodder([&] {
    etcdserverpb::WatchRequest progress;
    progress.mutable_progress_request();
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) {
      if (!stream->Write(progress)) break;
    }
  });
  auto finish = [&] {
    {
      std::lock_guard lock(mu);
      done = true;
    }
    cv.notify_all();
    prodder.join();
    context.TryCancel();
    etcdserverpb::WatchResponse drain;
    while (stream->Read(&drain)) {
    }
    return stream->Finish();
  };
  std::optional<util::Error> failure;
  etcdserverpb::WatchResponse response;
  bool complete = false;
  while (!complete && !failure && stream->Read(&response)) {
    if (response.compact_revision() != 0) {
      failure = makeError(ErrorCode::Expired,
                          fmt::format("{}: history after revision {} is compacted (up to {})",
                                      client_.name(), after, response.compact_revision()));
      break;
    }
    if (response.canceled()) {
      failure = makeError(
          ErrorCode::Unavailable,
          fmt::format("{}: history watch cancelled: {}", client_.name(), response.cancel_reason()));
      break;
    }
    for (const auto& e : response.events()) {
      if (e.kv().mod_revision() > upto) {
        complete = true;
        break;
      }
      auto event = toWatchEvent(keys_, e);
      if (!event.ok()) {
        failure = event.takeError();
        break;
      }
      if (*event) events.push_back(std::move(**event));
      if (static_cast<int>(events.size()) == limit) {
        complete = true;
        break;
      }
    }
    // A progress answer: every event up to its revision has been sent.
    if (!response.created() && response.events().empty() && response.header().revision() >= upto) {
      complete = true;
    }
  }
  grpc::Status status = finish();
  if (failure) return *failure;
  if (!complete) return client_.error(status, fmt::format("reading history after {}", after));
  return events;
}

}  // namespace magnumd::store
