#include "store/etcd_migrate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <span>

#include "store/etcd_client.h"
#include "util/time.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr int64_t kReadPage = 1000;
constexpr size_t kProgressEvery = 1000;  // objects between progress lines

struct Copy {
  std::string key;
  std::string value;
};

// One run of the copy against one etcd prefix; the marker's value identifies this run.
class Migration {
 public:
  Migration(const MigrationTarget& target, EtcdClient& client)
      : target_(target), client_(client), keys_(target.etcd.prefix) {}

  void progress(std::string_view what) const {
    if (target_.progress) target_.progress(what);
  }

  // Puts the marker if, and only if, nothing is stored under the prefix (one transaction).
  util::Status claim() {
    marker_ = fmt::format("magnumd migrate, pid {}, started {}", ::getpid(),
                          util::formatRfc3339(std::chrono::system_clock::now()));
    etcdserverpb::TxnRequest txn;
    auto* empty = txn.add_compare();
    empty->set_key(keys_.allObjects());
    empty->set_range_end(prefixEnd(keys_.allObjects()));
    empty->set_target(etcdserverpb::Compare::VERSION);
    empty->set_result(etcdserverpb::Compare::EQUAL);
    empty->set_version(0);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(keys_.migrationKey());
    put->set_value(marker_);
    auto* sample = txn.add_failure()->mutable_request_range();
    sample->set_key(keys_.allObjects());
    sample->set_range_end(prefixEnd(keys_.allObjects()));
    sample->set_limit(1);
    sample->set_keys_only(true);
    ASSIGN_OR_RETURN(auto response, client_.txn(txn));
    if (response.succeeded()) return {};
    const auto& found = response.responses(0).response_range();
    return makeError(
        ErrorCode::AlreadyExists,
        fmt::format("{}: {} already holds {} key(s) (the first: {}); migrate copies only into an "
                    "empty prefix: choose another --etcd-prefix, or remove them with `etcdctl del "
                    "--prefix {}` if they are not needed",
                    client_.name(), keys_.prefix(), found.count(),
                    found.kvs_size() > 0 ? found.kvs(0).key() : "?", keys_.allObjects()));
  }

  // Writes one batch; every key must still be absent and the marker still this run's.
  util::Status write(std::span<const Copy> batch) {
    etcdserverpb::TxnRequest txn;
    guard(txn);
    for (const Copy& copy : batch) {
      auto* absent = txn.add_compare();
      absent->set_key(copy.key);
      absent->set_target(etcdserverpb::Compare::VERSION);
      absent->set_result(etcdserverpb::Compare::EQUAL);
      absent->set_version(0);
      auto* put = txn.add_success()->mutable_request_put();
      put->set_key(copy.key);
      put->set_value(copy.value);
    }
    ASSIGN_OR_RETURN(auto response, client_.txn(txn));
    if (!response.succeeded()) {
      return makeError(
          ErrorCode::Conflict,
          fmt::format("{}: someone else wrote under {} during the migration (its "
                      "marker {} changed, or one of the keys from {} exists)",
                      client_.name(), keys_.prefix(), keys_.migrationKey(), batch.front().key));
    }
    return {};
  }

  // Reads everything under the prefix back and compares it with what was written; returns the
  // revision read at.
  util::Result<int64_t> verify(const std::vector<Copy>& copies) {
    std::map<std::string_view, const Copy*> expected;
    for (const Copy& copy : copies) expected.emplace(copy.key, &copy);
    etcdserverpb::RangeRequest request;
    request.set_key(keys_.allObjects());
    request.set_range_end(prefixEnd(keys_.allObjects()));
    request.set_limit(kReadPage);
    int64_t revision = 0;
    size_t matched = 0;
    for (;;) {
      request.set_revision(revision);
      ASSIGN_OR_RETURN(auto page, client_.range(request));
      if (revision == 0) revision = page.header().revision();
      for (const auto& kv : page.kvs()) {
        if (kv.key() == keys_.migrationKey()) continue;
        auto it = expected.find(kv.key());
        if (it == expected.end()) {
          return makeError(ErrorCode::Conflict,
                           fmt::format("{}: {} appeared during the migration; it is not a copied "
                                       "object",
                                       client_.name(), kv.key()));
        }
        ASSIGN_OR_RETURN(api::Object stored, decodeStored(keys_, kv));
        if (encodeStored(stored) != it->second->value) {
          return makeError(ErrorCode::Internal,
                           fmt::format("{}: {} reads back different from the source object",
                                       client_.name(), kv.key()));
        }
        ++matched;
      }
      if (!page.more() || page.kvs().empty()) break;
      request.set_key(page.kvs(page.kvs_size() - 1).key() + '\0');
    }
    if (matched != expected.size()) {
      return makeError(ErrorCode::Internal, fmt::format("{}: {} of the {} copied objects read back",
                                                        client_.name(), matched, expected.size()));
    }
    return revision;
  }

  // Deletes the marker: the copy is complete. Returns etcd's revision after it.
  util::Result<int64_t> finish() {
    etcdserverpb::TxnRequest txn;
    guard(txn);
    txn.add_success()->mutable_request_delete_range()->set_key(keys_.migrationKey());
    ASSIGN_OR_RETURN(auto response, client_.txn(txn));
    if (!response.succeeded()) {
      return makeError(ErrorCode::Conflict, fmt::format("{}: the migration's marker {} changed",
                                                        client_.name(), keys_.migrationKey()));
    }
    return response.header().revision();
  }

  // Writes `copies` in batches, reads them back and removes the marker; returns etcd's revision.
  util::Result<int64_t> copy(const std::vector<Copy>& copies) {
    size_t begin = 0;
    while (begin < copies.size()) {
      size_t end = begin;
      int64_t bytes = 0;
      while (end < copies.size() && end - begin < target_.batch_objects &&
             (end == begin ||
              bytes + static_cast<int64_t>(copies[end].value.size()) <= target_.batch_bytes)) {
        bytes += static_cast<int64_t>(copies[end].value.size());
        ++end;
      }
      RETURN_IF_ERROR(write(std::span<const Copy>(copies).subspan(begin, end - begin)));
      if (end == copies.size() || end / kProgressEvery != begin / kProgressEvery) {
        progress(fmt::format("copied {} of {} objects", end, copies.size()));
      }
      begin = end;
      if (target_.after_batch) RETURN_IF_ERROR(target_.after_batch(static_cast<int64_t>(begin)));
    }
    RETURN_IF_ERROR(verify(copies));
    return finish();
  }

  // Deletes everything under the prefix while the marker is still this run's, and says what the
  // operator has to know about `failure`.
  util::Error abandon(util::Error failure) {
    progress(
        fmt::format("the migration failed; deleting the partial copy under {}", keys_.prefix()));
    etcdserverpb::TxnRequest txn;
    guard(txn);
    auto* wipe = txn.add_success()->mutable_request_delete_range();
    wipe->set_key(keys_.allObjects());
    wipe->set_range_end(prefixEnd(keys_.allObjects()));
    auto response = client_.txn(txn);
    if (response.ok() && response->succeeded()) {
      failure.message += fmt::format(
          "; the partial copy was deleted, {} is empty again: run the "
          "migration again once the cause is fixed",
          keys_.prefix());
      return failure;
    }
    failure.message += fmt::format(
        "; the partial copy could not be deleted ({}): it stays under {} with the marker {}, "
        "and magnumd refuses to start on it; remove it with `etcdctl del --prefix {}` and run the "
        "migration again",
        response.ok() ? "the marker is not this migration's" : response.error().message,
        keys_.prefix(), keys_.migrationKey(), keys_.allObjects());
    return failure;
  }

 private:
  // Every write after claim() requires the marker to hold this run's value.
  void guard(etcdserverpb::TxnRequest& txn) const {
    auto* mine = txn.add_compare();
    mine->set_key(keys_.migrationKey());
    mine->set_target(etcdserverpb::Compare::VALUE);
    mine->set_result(etcdserverpb::Compare::EQUAL);
    mine->set_value(marker_);
  }

  const MigrationTarget& target_;
  EtcdClient& client_;
  const EtcdKeys keys_;
  std::string marker_;
};

// Every object of `source`, encoded as etcd will store it, counted per kind into `summary`. Read
// and encoded before etcd is touched, so an object etcd cannot take refuses the whole migration.
util::Result<std::vector<Copy>> readSource(const Store& source, const EtcdOptions& etcd,
                                           MigrationSummary& summary) {
  const EtcdKeys keys(etcd.prefix);
  summary.source_revision = source.currentRevision();
  std::vector<Copy> copies;
  for (size_t k = 0; k < api::kKindCount; ++k) {
    MigratedKind counted{static_cast<api::Kind>(k)};
    ListOptions options;
    options.kind = counted.kind;
    ASSIGN_OR_RETURN(ListResult listed, source.list(options));
    for (const api::Object& object : listed.items) {
      Copy copy{keys.objectKey(keyOf(object)), encodeStored(object)};
      const auto bytes = static_cast<int64_t>(copy.value.size());
      if (bytes > etcd.max_object_bytes) {
        return makeError(ErrorCode::TooLarge,
                         fmt::format("{} {}/{} is {} bytes, more than the {} bytes an object may "
                                     "have in etcd; nothing was copied",
                                     api::kindInfo(counted.kind).name, object.metadata.namespace_,
                                     object.metadata.name, bytes, etcd.max_object_bytes));
      }
      ++counted.objects;
      counted.bytes += bytes;
      copies.push_back(std::move(copy));
    }
    summary.kinds.push_back(counted);
  }
  return copies;
}

}  // namespace

util::Result<MigrationSummary> migrateToEtcd(const Store& source, const MigrationTarget& target) {
  if (target.batch_objects < 1 || target.batch_objects > 127) {
    return makeError(ErrorCode::BadRequest,
                     "migrate: a batch is 1 to 127 objects (etcd's --max-txn-ops is 128)");
  }
  if (target.etcd.prefix.empty() || target.etcd.prefix.front() != '/') {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("etcd prefix \"{}\": must start with '/' (e.g. /magnumd)", target.etcd.prefix));
  }
  MigrationSummary summary;
  ASSIGN_OR_RETURN(std::vector<Copy> copies, readSource(source, target.etcd, summary));
  const EtcdOptions& etcd = target.etcd;
  ASSIGN_OR_RETURN(auto client, EtcdClient::connect({etcd.endpoints, etcd.ca_file, etcd.cert_file,
                                                     etcd.key_file, etcd.request_timeout}));
  Migration migration(target, *client);
  RETURN_IF_ERROR(migration.claim());
  auto copied = migration.copy(copies);
  if (!copied.ok()) return migration.abandon(copied.takeError());
  summary.revision = *copied;
  return summary;
}

}  // namespace magnumd::store
