// Leader election on etcd, as etcd's concurrency.Election with client-go's timing: each replica
// holds a lease (TTL lease_duration, kept alive every retry_period); a campaign is a transaction
// that creates `<prefix>/leader` with the replica's identity, attached to its lease, if the key
// does not exist (CreateRevision == 0), else reads who holds it and watches it for deletion. The
// key's creation revision is the term's fencing token. The leader renews every retry_period and
// steps down when it has not renewed for renew_deadline, before etcd can expire its lease.
#pragma once

#include <string>
#include <vector>

#include "store/leader_election.h"

namespace magnumd::store {

struct EtcdElectionOptions {
  std::vector<std::string> endpoints;        // as EtcdOptions
  std::string ca_file, cert_file, key_file;  // TLS (PEM)
  std::string prefix = "/magnumd";
  std::string identity;  // this replica, the leader key's value: "host:port"
  ElectionTiming timing;
  util::MetricsRegistry* metrics = nullptr;  // the `magnumd_leader` gauge; may be null
};

// Connects (its own channel) without contacting etcd: a cluster that is down delays the
// campaign, not the start. Errors are bad options.
util::Result<LeaderElectorPtr> makeEtcdElector(EtcdElectionOptions options);

}  // namespace magnumd::store
