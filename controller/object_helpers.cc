#include "controller/object_helpers.h"

#include <algorithm>

#include "util/json.h"

namespace magnumd::controller {
namespace {

bool metadataOrSpecChanged(const api::Object& a, const api::Object& b) {
  return a.metadata.labels != b.metadata.labels ||
         a.metadata.annotations != b.metadata.annotations ||
         a.metadata.finalizers != b.metadata.finalizers || !jsonEqual(a.spec, b.spec);
}

bool removedBy(const api::Object& written) {
  return written.deleting() && written.metadata.finalizers.empty();
}

}  // namespace

bool hasFinalizer(const api::Object& object, std::string_view finalizer) {
  const auto& f = object.metadata.finalizers;
  return std::find(f.begin(), f.end(), finalizer) != f.end();
}

bool addFinalizer(api::Object& object, std::string_view finalizer) {
  if (hasFinalizer(object, finalizer)) return false;
  object.metadata.finalizers.emplace_back(finalizer);
  return true;
}

bool removeFinalizer(api::Object& object, std::string_view finalizer) {
  return std::erase(object.metadata.finalizers, std::string(finalizer)) > 0;
}

bool jsonEqual(std::string_view a, std::string_view b) {
  if (a == b) return true;
  auto pa = util::parseJson(a);
  auto pb = util::parseJson(b);
  if (!pa.ok() || !pb.ok()) return false;
  return static_cast<const util::Json&>(*pa) == static_cast<const util::Json&>(*pb);
}

util::Result<api::Object> patchStatus(store::Store& store, const api::Object& object,
                                      std::string status) {
  if (jsonEqual(object.status, status)) return object;
  api::Object updated = object;
  updated.status = std::move(status);
  return store::updateStatusSync(store, std::move(updated), object.metadata.resource_version);
}

util::Result<api::Object> ensureFinalizer(store::Store& store, const api::Object& object,
                                          std::string_view finalizer) {
  api::Object updated = object;
  if (!addFinalizer(updated, finalizer)) return object;
  return store::updateSync(store, std::move(updated), object.metadata.resource_version);
}

util::Result<api::Object> dropFinalizer(store::Store& store, const api::Object& object,
                                        std::string_view finalizer) {
  api::Object updated = object;
  if (!removeFinalizer(updated, finalizer)) return object;
  return store::updateSync(store, std::move(updated), object.metadata.resource_version);
}

util::Result<api::Object> PatchHelper::patch(store::Store& store, const api::Object& modified) {
  api::Object current = original_;
  if (metadataOrSpecChanged(original_, modified)) {
    api::Object desired = modified;
    desired.status = current.status;
    ++writes_;
    ASSIGN_OR_RETURN(current, store::updateSync(store, std::move(desired),
                                                original_.metadata.resource_version));
    if (removedBy(current)) return current;
  }
  if (!jsonEqual(current.status, modified.status)) {
    ++writes_;
    api::Object desired = current;
    desired.status = modified.status;
    ASSIGN_OR_RETURN(current, store::updateStatusSync(store, std::move(desired),
                                                      current.metadata.resource_version));
  }
  return current;
}

}  // namespace magnumd::controller
