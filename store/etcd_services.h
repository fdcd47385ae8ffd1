// Every replica's service report, as Magnum's conductors report to its database: each replica
// writes `<prefix>/services/<replica>` every report interval (a count and the time of its last
// report) and reads every replica's, so /v1/mservices answers the same on any replica and a
// replica that stopped reporting shows as down on the others. The keys are plain puts, not the
// leader's fenced writes: a follower reports too. They carry no lease either, so a dead replica
// stays listed (down), as a dead conductor does in Magnum until an operator removes it
// (`etcdctl del <prefix>/services/<replica>`).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace magnumd::store {

struct ServiceReport {
  std::string host;             // the replica's identity
  util::SystemTime created_at;  // its first report
  util::SystemTime updated_at;  // its last report
  uint64_t report_count = 0;
};

struct EtcdServiceReportsOptions {
  std::vector<std::string> endpoints;        // as EtcdOptions
  std::string ca_file, cert_file, key_file;  // TLS (PEM)
  std::string prefix = "/magnumd";
};

class EtcdServiceReports {
 public:
  virtual ~EtcdServiceReports() = default;
  // Reports as `host` every `interval` (and reads the others' reports) on a thread of its own
  // until stop(); the first report at once.
  virtual void start(std::string host, std::chrono::milliseconds interval) = 0;
  virtual void stop() = 0;
  // Every replica's report as last read (at most one interval old), sorted by host; this
  // replica's own as last written. Cheap, from any thread; empty before the first read.
  virtual std::vector<ServiceReport> reports() const = 0;
};

// Connects (its own channel) without contacting etcd. Errors are bad options.
util::Result<std::unique_ptr<EtcdServiceReports>> makeEtcdServiceReports(
    EtcdServiceReportsOptions options);

}  // namespace magnumd::store
