#include "store/mutation.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/json.h"
#include "util/time.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

std::string describe(const api::ObjectKey& key) {
  return fmt::format("{} \"{}\"", api::kindInfo(key.kind).plural, key.name);
}

// Stored spec and status are compact JSON objects, so equal content compares equal as text and
// what is served from memory is byte-identical to what a restart loads.
util::Status normalize(std::string& text, std::string_view field) {
  if (text.empty()) text = "{}";
  auto parsed = util::parseJson(text);
  if (!parsed.ok()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: not valid JSON: {}", field, parsed.error().message));
  }
  if (!parsed->IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: must be an object, got {}", field, util::typeName(*parsed)));
  }
  text = util::toJson(*parsed);
  return {};
}

util::Status checkPrecondition(const api::ObjectKey& key, const api::Object* current,
                               int64_t expected) {
  if (!current) return notFoundError(key);
  if (expected < 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("metadata.resourceVersion: {} is negative", expected));
  }
  if (expected != 0 && expected != current->metadata.resource_version) return conflictError(key);
  return {};
}

Mutation unchanged(const api::Object& current) {
  return Mutation{false, EventType::Modified, current};
}

}  // namespace

util::Error notFoundError(const api::ObjectKey& key) {
  return makeError(ErrorCode::NotFound, fmt::format("{} not found", describe(key)));
}

util::Error conflictError(const api::ObjectKey& key) {
  return makeError(ErrorCode::Conflict,
                   fmt::format("Operation cannot be fulfilled on {}: the object has been "
                               "modified; please apply your changes to the latest version and "
                               "try again",
                               describe(key)));
}

util::Result<Mutation> planCreate(api::Object request, const api::Object* current,
                                  const std::string& now) {
  if (request.metadata.name.empty()) {
    return makeError(ErrorCode::BadRequest, "metadata.name: required");
  }
  if (current) {
    return makeError(ErrorCode::AlreadyExists,
                     fmt::format("{} already exists", describe(keyOf(request))));
  }
  RETURN_IF_ERROR(normalize(request.spec, "spec"));
  RETURN_IF_ERROR(normalize(request.status, "status"));
  api::ObjectMeta& m = request.metadata;
  m.uid = util::newUuid();
  m.creation_timestamp = now;
  m.deletion_timestamp.reset();
  m.generation = 1;
  m.resource_version = 0;
  return Mutation{true, EventType::Added, std::move(request)};
}

util::Result<Mutation> planUpdate(api::Object request, const api::Object* current,
                                  int64_t expected_resource_version) {
  api::ObjectKey key = keyOf(request);
  RETURN_IF_ERROR(checkPrecondition(key, current, expected_resource_version));
  RETURN_IF_ERROR(normalize(request.spec, "spec"));
  const api::ObjectMeta& cm = current->metadata;
  if (current->deleting()) {
    // As kube-apiserver: a deleting object may lose finalizers but never gain new ones.
    std::vector<std::string> added;
    for (const auto& f : request.metadata.finalizers) {
      if (std::find(cm.finalizers.begin(), cm.finalizers.end(), f) == cm.finalizers.end()) {
        added.push_back(f);
      }
    }
    if (!added.empty()) {
      return makeError(ErrorCode::Invalid,
                       fmt::format("{} is invalid: metadata.finalizers: no new finalizers can be "
                                   "added while the object is being deleted, found {}",
                                   describe(key), fmt::join(added, ", ")),
                       {{"metadata.finalizers",
                         fmt::format("no new finalizers can be added while the object is being "
                                     "deleted, found {}",
                                     fmt::join(added, ", "))}});
    }
  }
  api::Object next = *current;
  next.metadata.labels = std::move(request.metadata.labels);
  next.metadata.annotations = std::move(request.metadata.annotations);
  next.metadata.finalizers = std::move(request.metadata.finalizers);
  next.metadata.managed_fields = std::move(request.metadata.managed_fields);
  bool spec_changed = next.spec != request.spec;
  next.spec = std::move(request.spec);
  if (next == *current) return unchanged(*current);
  if (spec_changed) ++next.metadata.generation;
  if (next.deleting() && next.metadata.finalizers.empty()) {
    return Mutation{true, EventType::Deleted, std::move(next)};
  }
  return Mutation{true, EventType::Modified, std::move(next)};
}

util::Result<Mutation> planUpdateStatus(api::Object request, const api::Object* current,
                                        int64_t expected_resource_version) {
  RETURN_IF_ERROR(checkPrecondition(keyOf(request), current, expected_resource_version));
  RETURN_IF_ERROR(normalize(request.status, "status"));
  if (request.status == current->status) return unchanged(*current);
  api::Object next = *current;
  next.status = std::move(request.status);
  return Mutation{true, EventType::Modified, std::move(next)};
}

util::Result<Mutation> planRemove(const api::ObjectKey& key, const api::Object* current,
                                  int64_t expected_resource_version, const std::string& now) {
  RETURN_IF_ERROR(checkPrecondition(key, current, expected_resource_version));
  if (current->metadata.finalizers.empty()) {
    return Mutation{true, EventType::Deleted, *current};
  }
  // Finalizers hold the object: mark it, and let their owners remove them.
  if (current->deleting()) return unchanged(*current);
  api::Object next = *current;
  next.metadata.deletion_timestamp = now;
  return Mutation{true, EventType::Modified, std::move(next)};
}

}  // namespace magnumd::store
