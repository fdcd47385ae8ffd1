// EtcdHistoryReader: a watch's replay of etcd's history through a short-lived etcd Watch.
//
// A Watch from a past revision streams the history and then goes quiet: nothing says "that was
// all" (etcd 3.4 answers a progress request at once, ahead of the history it still owes). So the
// reader watches the whole prefix and stops at the first event at or past `upto`: the store
// makes sure there is one, since `upto` is always the revision of a change under the prefix (a
// published event, or the fence the store wrote when it opened, see EtcdStore::start).
#include <fmt/format.h>

#include "store/etcd_client.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

util::Result<std::vector<WatchEvent>> EtcdHistoryReader::readChanges(
    int64_t after, int64_t upto, api::Kind kind, const std::string& namespace_, int limit) {
  std::vector<WatchEvent> events;
  if (after >= upto || limit <= 0) return events;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = client_.watchStub().Watch(&context);
  etcdserverpb::WatchRequest create;
  auto* c = create.mutable_create_request();
  c->set_key(keys_.allObjects());
  c->set_range_end(prefixEnd(keys_.allObjects()));
  c->set_start_revision(after + 1);
  c->set_prev_kv(true);
  std::optional<util::Error> failure;
  bool complete = false;
  if (stream->Write(create)) {
    etcdserverpb::WatchResponse response;
    while (!complete && !failure && stream->Read(&response)) {
      if (response.compact_revision() != 0) {
        failure = makeError(ErrorCode::Expired,
                            fmt::format("{}: history after revision {} is compacted (up to {})",
                                        client_.name(), after, response.compact_revision()));
      } else if (response.canceled()) {
        failure = makeError(ErrorCode::Unavailable, fmt::format("{}: history watch cancelled: {}",
                                                                client_.name(),
                                                                response.cancel_reason()));
      }
      for (int i = 0; !failure && !complete && i < response.events_size(); ++i) {
        const mvccpb::Event& e = response.events(i);
        const int64_t revision = e.kv().mod_revision();
        if (revision > upto) {
          complete = true;
          break;
        }
        auto event = toWatchEvent(keys_, e);
        if (!event.ok()) {
          failure = event.takeError();
        } else if (*event && (*event)->object.kind == kind &&
                   (namespace_.empty() || (*event)->object.metadata.namespace_ == namespace_)) {
          events.push_back(std::move(**event));
        }
        if (revision == upto || static_cast<int>(events.size()) == limit) complete = true;
      }
    }
  }
  context.TryCancel();
  etcdserverpb::WatchResponse drain;
  while (stream->Read(&drain)) {
  }
  grpc::Status status = stream->Finish();
  if (failure) return *failure;
  if (!complete) return client_.error(status, fmt::format("reading history after {}", after));
  return events;
}

}  // namespace magnumd::store
