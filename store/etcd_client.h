// The etcd v3 gRPC API as the etcd store uses it: one channel to the cluster (TLS optional),
// blocking unary calls with a deadline and errors mapped to operator-readable util::Errors, the
// key layout under the store's prefix, and the decoding of stored values. Nothing here keeps
// state beyond the channel; every method is safe to call from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "store/change_reader.h"
#include "util/result.h"

namespace magnumd::store {

struct EtcdConnectOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://10.0.0.5:2379"
  std::string ca_file;                 // PEM; set (or an https endpoint) to use TLS
  std::string cert_file;               // client certificate (PEM), with key_file
  std::string key_file;
  std::chrono::milliseconds request_timeout{10000};
};

// Keys: `<prefix>/<kind plural>/<namespace>/<name>`, as kube-apiserver's `<prefix>/<resource>/
// <namespace>/<name>`. Other keys under the prefix are not objects, and are skipped.
class EtcdKeys {
 public:
  explicit EtcdKeys(std::string prefix);  // "/magnumd"; a trailing '/' is dropped
  std::string objectKey(const api::ObjectKey& key) const;
  // Every object of a kind (namespace_ empty) or of a kind in one namespace: the key prefix.
  std::string scopePrefix(api::Kind kind, const std::string& namespace_) const;
  std::string allObjects() const { return prefix_ + "/"; }
  // Written when a store opens, so the revision its cache starts at is a change under the prefix
  // (EtcdHistoryReader relies on it). Not an object.
  std::string fenceKey() const { return prefix_ + "/fence"; }
  // Present while `magnumd migrate` copies objects in (store/etcd_migrate.h): a store refuses to
  // open on a partial copy. Not an object.
  std::string migrationKey() const { return prefix_ + "/migrating"; }
  // The elected leader's key (etcd_election.h): its value names the leader, its lease is the
  // leader's, its creation revision is the leadership's fencing token. Not an object.
  std::string leaderKey() const { return prefix_ + "/leader"; }
  // Each replica's service report (etcd_services.h), `<prefix>/services/<replica>`. Not objects.
  std::string servicesPrefix() const { return prefix_ + "/services/"; }
  std::optional<api::ObjectKey> parse(std::string_view key) const;
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

// The first key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefixEnd(std::string prefix);

// An object as etcd stores it: its JSON without the resourceVersion (etcd's mod_revision is it).
// Copies the object only when its resourceVersion is set.
std::string encodeStored(const api::Object& object);

// A stored value as the store's object: the JSON decoded, resourceVersion = mod_revision. The key
// must match the JSON's kind, namespace and name, or the value is corrupt (Internal).
util::Result<api::Object> decodeStored(const EtcdKeys& keys, const mvccpb::KeyValue& kv);

class EtcdClient {
 public:
  static util::Result<std::unique_ptr<EtcdClient>> connect(const EtcdConnectOptions& options);

  util::Result<etcdserverpb::RangeResponse> range(const etcdserverpb::RangeRequest& request);
  util::Result<etcdserverpb::TxnResponse> txn(const etcdserverpb::TxnRequest& request);
  util::Result<etcdserverpb::PutResponse> put(const etcdserverpb::PutRequest& request);
  util::Result<etcdserverpb::CompactionResponse> compact(int64_t revision);
  // Leases (etcd's Lease service): a grant with a TTL in seconds, its revocation (which deletes
  // the keys attached to it), and one keep-alive round trip, answering the lease's remaining
  // TTL in seconds (0 or less: the lease has expired).
  util::Result<etcdserverpb::LeaseGrantResponse> leaseGrant(int64_t ttl_seconds);
  util::Status leaseRevoke(int64_t id);
  util::Result<int64_t> leaseKeepAlive(int64_t id);

  etcdserverpb::Watch::Stub& watchStub() { return *watch_; }
  // "etcd http://127.0.0.1:2379": how errors name the cluster.
  const std::string& name() const { return name_; }
  // A gRPC failure as the store reports it: unreachable → Unavailable naming the endpoints,
  // a compacted revision → Expired, a request over etcd's size limit → TooLarge.
  util::Error error(const grpc::Status& status, std::string_view what) const;

 private:
  EtcdClient(std::shared_ptr<grpc::Channel> channel, std::string name,
             std::chrono::milliseconds timeout);
  void setDeadline(grpc::ClientContext& context) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::string name_;
  std::chrono::milliseconds timeout_;
};

// The history a watch replays when it fell behind the store's in-memory tail: etcd's own MVCC
// history, read through a short-lived Watch from the wanted revision (etcd has no other way to
// read past deletes). A compacted revision is Expired. `upto` must be the revision of a change
// under the prefix.
class EtcdHistoryReader final : public ChangeReader {
 public:
  EtcdHistoryReader(EtcdClient& client, const EtcdKeys& keys) : client_(client), keys_(keys) {}
  util::Result<std::vector<WatchEvent>> readChanges(int64_t after, int64_t upto, api::Kind kind,
                                                    const std::string& namespace_,
                                                    int limit) override;

 private:
  EtcdClient& client_;
  const EtcdKeys& keys_;
};

// A watch event of etcd as the store's: Added when the key was created at this revision, the
// last state (prev_kv) with the delete's revision for a delete. nullopt for keys that are not
// objects; an undecodable value is an error.
util::Result<std::optional<WatchEvent>> toWatchEvent(const EtcdKeys& keys,
                                                     const mvccpb::Event& event);

}  // namespace magnumd::store
