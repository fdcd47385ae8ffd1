// The store's write semantics as pure functions: given a request and the current state of its
// key, what is written (or why not). No locks, no I/O; the committer only sequences them.
#pragma once

#include <cstdint>
#include <string>

#include "api/object.h"
#include "store/store.h"
#include "util/result.h"

namespace magnumd::store {

struct Mutation {
  bool write = true;  // false: nothing changed; `object` is the stored object, returned as is
  EventType type = EventType::Added;
  api::Object object;  // the new state; for Deleted the last state. resource_version not yet set
};

// `current` is the latest state of the request's key (committed or pending), null when absent.
// `now` is an RFC 3339 timestamp for creationTimestamp / deletionTimestamp.
util::Result<Mutation> planCreate(api::Object request, const api::Object* current,
                                  const std::string& now);
util::Result<Mutation> planUpdate(api::Object request, const api::Object* current,
                                  int64_t expected_resource_version);
util::Result<Mutation> planUpdateStatus(api::Object request, const api::Object* current,
                                        int64_t expected_resource_version);
util::Result<Mutation> planRemove(const api::ObjectKey& key, const api::Object* current,
                                  int64_t expected_resource_version, const std::string& now);

// kube-apiserver's messages: `clusters "x" not found`, `... already exists`, the Conflict text.
util::Error notFoundError(const api::ObjectKey& key);
util::Error conflictError(const api::ObjectKey& key);

}  // namespace magnumd::store
