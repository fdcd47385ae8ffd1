// `magnumd migrate`: copies every object of a store (SQLite) into an empty etcd prefix, exactly
// as stored (uid, generation, creationTimestamp, deletionTimestamp, finalizers, managedFields,
// spec, status), under the keys and encoding the etcd store uses (etcd_client.h). The
// resourceVersions become etcd's revisions, as after any write.
//
// All or nothing, as far as an operator can tell: the copy starts by writing a marker key
// (EtcdKeys::migrationKey) into the empty prefix and ends by deleting it, and an etcd store
// refuses to open while the marker is there. Every batch of keys is a transaction that requires
// the marker and the keys' absence, so a concurrent writer or a second migration fails the copy
// rather than mixing with it. When the copy fails half-way, it deletes what it wrote (guarded by
// its marker); when it cannot (etcd went away), the error says what is left and how to remove it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "store/etcd_store.h"
#include "store/store.h"

namespace magnumd::store {

struct MigrationTarget {
  // Endpoints, TLS, prefix, request timeout and max_object_bytes, as the etcd store is opened
  // with; the rest is not used.
  EtcdOptions etcd;
  // etcd refuses transactions of more than 128 operations (--max-txn-ops) or 1.5 MiB
  // (--max-request-bytes) by default; batches stay below both.
  size_t batch_objects = 100;
  int64_t batch_bytes = 1024 * 1024;
  // Told to the operator as the copy goes on (every thousand objects) and on clean-up; may be
  // null.
  std::function<void(std::string_view)> progress;
  // Test seam: called after each committed batch with the number of objects written so far; a
  // failed Status fails the copy there, as a crash or a lost etcd would.
  std::function<util::Status(int64_t written)> after_batch;
};

struct MigratedKind {
  api::Kind kind;
  int64_t objects = 0;
  int64_t bytes = 0;  // their stored JSON
};

struct MigrationSummary {
  std::vector<MigratedKind> kinds;  // every kind, in api::allKinds() order, zeros included
  int64_t source_revision = 0;      // the source store's revision that was copied
  int64_t revision = 0;             // etcd's revision once the copy was complete
};

// Copies every object of `source` (which must not change meanwhile: SQLite's lock keeps magnumd
// off the file) into `target`. Refuses with AlreadyExists when anything is stored under the
// prefix, and with TooLarge before writing anything when an object is too large for etcd.
// After writing, reads everything back and compares it with what it wrote.
util::Result<MigrationSummary> migrateToEtcd(const Store& source, const MigrationTarget& target);

}  // namespace magnumd::store
