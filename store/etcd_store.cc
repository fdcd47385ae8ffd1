// EtcdStore: opening (load everything at one revision, then watch from it), the reads served
// from the cache, and paged lists served by etcd at the first page's revision.
#include <fmt/format.h>

#include <shared_mutex>

#include "store/etcd_store_impl.h"
#include "util/log.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr int64_t kLoadPage = 1000;

util::Error badToken(std::string_view why) {
  return makeError(ErrorCode::BadRequest,
                   fmt::format("continue: invalid continue token ({}); pass the token of the "
                               "previous page unchanged, or start over without one",
                               why));
}

}  // namespace

EtcdStore::EtcdStore(EtcdOptions options, std::unique_ptr<EtcdClient> client)
    : options_(std::move(options)),
      limits_{options_.quota_bytes, options_.max_objects_per_namespace},
      clock_(options_.clock ? options_.clock : std::make_shared<util::RealClock>()),
      client_(std::move(client)),
      keys_(options_.prefix),
      contact_(options_.leader_contact ? options_.leader_contact
                                       : std::make_shared<EtcdLeaderContact>()) {}

util::Status EtcdStore::start() {
  // A copy `magnumd migrate` has not finished is not a state to serve (store/etcd_migrate.h).
  etcdserverpb::RangeRequest marker;
  marker.set_key(keys_.migrationKey());
  ASSIGN_OR_RETURN(auto migrating, client_->range(marker));
  if (migrating.kvs_size() > 0) {
    return makeError(
        ErrorCode::Unavailable,
        fmt::format("{}: {} holds an unfinished `magnumd migrate` ({}); let it "
                    "finish, or remove the partial copy with `etcdctl del --prefix "
                    "{}/` and run the migration again",
                    client_->name(), keys_.prefix(), migrating.kvs(0).value(), keys_.prefix()));
  }
  // The cache starts at the fence's revision: a change under the prefix (etcd_history.cc).
  etcdserverpb::PutRequest fence;
  fence.set_key(keys_.fenceKey());
  ASSIGN_OR_RETURN(auto fenced, client_->put(fence));
  ASSIGN_OR_RETURN(int64_t revision, loadInto(committed_, fenced.header().revision()));
  revision_ = revision;
  ASSIGN_OR_RETURN(int64_t compacted, probeCompacted(revision));
  LOG_INFO("store", "{}: loaded {} objects under {} at revision {} (history from {})",
           client_->name(), committed_.size(), keys_.prefix(), revision, compacted);
  EtcdClient* client = client_.get();
  const EtcdKeys* keys = &keys_;
  hub_ = std::make_unique<WatchHub>(
      WatchHub::ChangeReaderFactory(
          [client, keys]() -> util::Result<std::unique_ptr<ChangeReader>> {
            return std::unique_ptr<ChangeReader>(new EtcdHistoryReader(*client, *keys));
          }),
      options_.watch_cache_events, revision, compacted, options_.on_watch_failed);
  watcher_ = std::thread([this] { watchLoop(); });
  compactor_ = std::thread([this] { compactLoop(); });
  for (size_t i = 0; i < options_.writer_threads; ++i) {
    writers_.emplace_back([this] { writerLoop(); });
  }
  return {};
}

EtcdStore::~EtcdStore() {
  {
    std::lock_guard lock(write_mu_);
    stopping_ = true;
  }
  write_cv_.notify_all();
  for (auto& writer : writers_) writer.join();  // every queued write is committed or refused
  {
    // Let the cache catch up with the writes just committed, so their callbacks keep their
    // promise; a cluster that went away meanwhile gets the request timeout, no more.
    std::unique_lock lock(write_mu_);
    answered_cv_.wait_for(lock, options_.request_timeout, [&] { return acks_.empty(); });
    stop_watching_ = true;
    if (watch_context_) watch_context_->TryCancel();
  }
  stop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (compactor_.joinable()) compactor_.join();
  std::multimap<int64_t, Ack> left;
  {
    std::lock_guard lock(write_mu_);
    left.swap(acks_);
  }
  // Durable in etcd; only this cache never saw them.
  for (auto& [revision, ack] : left) ack.done(std::move(ack.object));
  hub_.reset();
}

util::Result<int64_t> EtcdStore::probeCompacted(int64_t current) const {
  // etcd 3.4 does not say how far it compacted, only whether a revision is gone: a range at the
  // oldest revision kept succeeds, one below it is Expired. Bisect (a few dozen round trips).
  int64_t gone = 0, kept = current;  // invariant: `kept` is readable; below `gone + 1`, nothing
  etcdserverpb::RangeRequest request;
  request.set_key(keys_.allObjects());
  request.set_limit(1);
  request.set_count_only(true);
  while (kept - gone > 1) {
    int64_t mid = gone + (kept - gone) / 2;
    request.set_revision(mid);
    auto response = client_->range(request);
    if (response.ok()) {
      kept = mid;
    } else if (response.error().code == ErrorCode::Expired) {
      gone = mid;
    } else {
      return response.takeError();
    }
  }
  return kept <= 1 ? 0 : kept;
}

util::Result<int64_t> EtcdStore::loadInto(ObjectIndex& index, int64_t revision) const {
  etcdserverpb::RangeRequest request;
  request.set_key(keys_.allObjects());
  request.set_range_end(prefixEnd(keys_.allObjects()));
  request.set_limit(kLoadPage);
  for (;;) {
    request.set_revision(revision);  // every page at the first one's revision
    ASSIGN_OR_RETURN(auto page, client_->range(request));
    if (revision == 0) revision = page.header().revision();
    for (const auto& kv : page.kvs()) {
      if (!keys_.parse(kv.key())) continue;  // not an object
      ASSIGN_OR_RETURN(api::Object object, decodeStored(keys_, kv));
      index.put(std::make_shared<const api::Object>(std::move(object)),
                static_cast<int64_t>(kv.value().size()));
    }
    if (!page.more() || page.kvs().empty()) return revision;
    request.set_key(page.kvs(page.kvs_size() - 1).key() + '\0');
  }
}

util::Result<api::Object> EtcdStore::get(const api::ObjectKey& key) const {
  auto object = getShared(key);
  if (!object.ok()) return object.takeError();
  return **object;
}

util::Result<std::shared_ptr<const api::Object>> EtcdStore::getShared(
    const api::ObjectKey& key) const {
  ObjectPtr object;
  {
    std::shared_lock lock(state_mu_);
    object = committed_.find(key);
  }
  if (!object) return notFoundError(key);
  return std::shared_ptr<const api::Object>(std::move(object));
}

StoreUsage EtcdStore::usage() const {
  std::shared_lock lock(state_mu_);
  const Usage& usage = committed_.usage();
  return StoreUsage{usage.bytes(), usage.objects(), limits_.quota_bytes,
                    limits_.max_objects_per_namespace};
}

util::Result<WatchHandlePtr> EtcdStore::watch(const WatchOptions& options, WatchCallback callback,
                                              WatchEndCallback on_end) {
  return hub_->watch(options, std::move(callback), std::move(on_end), revision_.load());
}

util::Result<ListResult> EtcdStore::list(const ListOptions& options) const {
  if (options.limit > 0 || !options.continue_token.empty()) return listFromEtcd(options);
  util::Result<ListPage> page = ListPage{};
  {
    std::shared_lock lock(state_mu_);
    page = committed_.list(options, revision_.load());
  }
  if (!page.ok()) return page.takeError();
  ListResult result;
  result.items.reserve(page->items.size());
  for (const auto& object : page->items) result.items.push_back(*object);
  result.revision = page->revision;
  return result;
}

util::Result<ListResult> EtcdStore::listFromEtcd(const ListOptions& options) const {
  if (options.limit < 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("limit: {} is negative; use 0 for no limit", options.limit));
  }
  const std::string scope = keys_.scopePrefix(options.kind, options.namespace_);
  etcdserverpb::RangeRequest request;
  request.set_key(scope);
  request.set_range_end(prefixEnd(scope));
  // A first page is a snapshot at the cache's revision, not etcd's newest: a watch from the list's
  // revision can then start at once (the hub knows it), and this store's own writes are in it.
  int64_t revision = revision_.load();
  if (!options.continue_token.empty()) {
    ASSIGN_OR_RETURN(ContinueToken token, decodeContinueToken(options.continue_token));
    if (token.kind != options.kind || token.scope_namespace != options.namespace_) {
      return badToken(fmt::format("issued for a list of {} in namespace \"{}\"",
                                  api::kindInfo(token.kind).plural, token.scope_namespace));
    }
    if (token.revision > revision_.load())
      return badToken("from a newer revision than this store's");
    revision = token.revision;
    request.set_key(keys_.objectKey({token.kind, token.last_namespace, token.last_name}) + '\0');
  }
  const size_t limit = options.limit > 0 ? static_cast<size_t>(options.limit) : SIZE_MAX;
  // A filter may skip most keys: fetch a bit more than the page per round trip.
  request.set_limit(std::max<int64_t>(options.limit + 1, 64));
  ListResult result;
  for (;;) {
    request.set_revision(revision);
    auto page = client_->range(request);
    if (!page.ok()) {
      if (page.error().code != ErrorCode::Expired) return page.takeError();
      return makeError(ErrorCode::Expired,
                       fmt::format("the continue token is too old (revision {} is compacted in "
                                   "{}): list again without continue",
                                   revision, client_->name()));
    }
    for (int i = 0; i < page->kvs_size(); ++i) {
      ASSIGN_OR_RETURN(api::Object object, decodeStored(keys_, page->kvs(i)));
      if (options.filter && !options.filter(object)) continue;
      if (result.items.size() == limit) {
        // A match beyond the page: there is a next one.
        const api::Object& last = result.items.back();
        result.continue_token = encodeContinueToken({revision, options.kind, options.namespace_,
                                                     last.metadata.namespace_, last.metadata.name});
        result.remaining = options.filter ? 1 : page->count() - i;
        result.revision = revision;
        return result;
      }
      result.items.push_back(std::move(object));
    }
    if (!page->more() || page->kvs().empty()) break;
    request.set_key(page->kvs(page->kvs_size() - 1).key() + '\0');
  }
  result.revision = revision;
  return result;
}

util::Result<StorePtr> openEtcdStore(const EtcdOptions& options) {
  if (options.retention_revisions < 1 || options.writer_threads < 1 || options.max_pending < 1 ||
      options.quota_bytes < 0 || options.max_objects_per_namespace < 0 ||
      options.max_object_bytes < 1 || options.compaction_interval.count() < 1) {
    return makeError(ErrorCode::BadRequest,
                     "etcd store: retention_revisions, writer_threads, max_pending, "
                     "max_object_bytes and compaction_interval must be positive, quota_bytes and "
                     "max_objects_per_namespace not negative");
  }
  if (options.prefix.empty() || options.prefix.front() != '/') {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("etcd prefix \"{}\": must start with '/' (e.g. /magnumd)", options.prefix));
  }
  EtcdConnectOptions connect{options.endpoints, options.ca_file, options.cert_file,
                             options.key_file, options.request_timeout};
  ASSIGN_OR_RETURN(auto client, EtcdClient::connect(connect));
  auto store = std::make_unique<EtcdStore>(options, std::move(client));
  RETURN_IF_ERROR(store->start());
  return StorePtr(std::move(store));
}

}  // namespace magnumd::store
