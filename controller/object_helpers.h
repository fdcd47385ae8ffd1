// Small helpers every reconciler needs around api::Object: finalizers, and writes that happen
// only when something changed (so a pass with nothing to do makes no store write).
#pragma once

#include <string>
#include <string_view>

#include "api/object.h"
#include "store/store.h"
#include "util/result.h"

namespace magnumd::controller {

bool hasFinalizer(const api::Object& object, std::string_view finalizer);
bool addFinalizer(api::Object& object, std::string_view finalizer);     // true when added
bool removeFinalizer(api::Object& object, std::string_view finalizer);  // true when removed

// JSON documents equal as values (member order ignored). Unparsable text compares as text.
bool jsonEqual(std::string_view a, std::string_view b);

// Writes `status` unless it equals object.status as JSON. Returns the stored object (the input,
// unchanged, when nothing was written). Conflict when `object` is not the latest version.
util::Result<api::Object> patchStatus(store::Store& store, const api::Object& object,
                                      std::string status);

// Adds / removes a finalizer with one update, only when needed.
util::Result<api::Object> ensureFinalizer(store::Store& store, const api::Object& object,
                                          std::string_view finalizer);
util::Result<api::Object> dropFinalizer(store::Store& store, const api::Object& object,
                                        std::string_view finalizer);

// Cluster API's patch helper: snapshot the object at the start of a pass, change a copy, and at
// the end write only what differs: metadata/spec through update, status through updateStatus.
// When the update removed the object (deleting, last finalizer gone) the status write is skipped.
class PatchHelper {
 public:
  explicit PatchHelper(api::Object original) : original_(std::move(original)) {}
  util::Result<api::Object> patch(store::Store& store, const api::Object& modified);
  const api::Object& original() const { return original_; }
  int writes() const { return writes_; }  // store writes made by patch()

 private:
  api::Object original_;
  int writes_ = 0;
};

}  // namespace magnumd::controller
