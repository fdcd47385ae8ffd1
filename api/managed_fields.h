// Field managers, as kube-apiserver keeps them in metadata.managedFields (server-side apply):
// which manager owns which fields of an object, per manager and operation.
//
// - Apply (PATCH application/apply-patch+yaml): the manager's set becomes exactly the fields its
//   configuration names. A field it changes that another manager owns is a conflict (409, naming
//   each field and its owner) unless forced, which takes the field. A field the manager owned
//   before, now omits, and nobody else owns is removed from the object.
// - Update (create, PUT, merge and JSON patches): the manager comes to own what its write
//   changed; other managers lose it. The oldest Update entries beyond a cap merge into one
//   "ancient-changes" entry, as kube-apiserver does.
//
// Managers own the fields users write: spec and metadata labels, annotations and finalizers.
// Status and the server's own metadata belong to no manager. Lists merge as the kind's schema
// says (api/typed_value.h). Pure: the server supplies the objects and the time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/fieldpath.h"
#include "api/object.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::api::managed {

inline constexpr std::string_view kApply = "Apply";
inline constexpr std::string_view kUpdate = "Update";
inline constexpr std::string_view kFieldsV1 = "FieldsV1";
inline constexpr std::string_view kAncientChanges = "ancient-changes";
// kube-apiserver's FieldManagerMaxLength.
inline constexpr size_t kMaxManagerLength = 128;

// What one object's managedFields may hold. Every check fails with TooLarge (413) naming the
// limit; none can grow without bound, whatever clients send.
struct Limits {
  // Update entries beyond this merge, oldest first, into "ancient-changes" (kube-apiserver's 10).
  size_t max_update_managers = 10;
  // Distinct appliers of one object.
  size_t max_apply_managers = 32;
  // Fields in one manager's set.
  size_t max_fields_per_manager = 20000;
  // The FieldsV1 of all entries together, as JSON text.
  size_t max_fields_bytes = 512 * 1024;
};

struct Manager {
  std::string name;
  bool apply = false;  // Apply, else Update
  std::string subresource;
  std::string time;  // RFC 3339; empty: unknown
  fieldpath::Set fields;

  bool sameKey(const Manager& other) const {
    return name == other.name && apply == other.apply && subresource == other.subresource;
  }
};
using Managers = std::vector<Manager>;

// An invalid manager name (a fieldManager query parameter): too long or not printable.
util::Status checkManagerName(std::string_view name, std::string_view field);
// What kube-apiserver records for a write without fieldManager: the User-Agent up to its first
// "/" ("kubectl/v1.32.4 (linux/amd64) ..." -> "kubectl"), printable characters, at most 128.
std::string managerFromUserAgent(std::string_view user_agent);

// Entries as stored or as a client sent them, checked: Invalid (422) naming the entry and field
// for a wrong operation, fieldsType, apiVersion, time, a set that does not parse, or a manager
// given twice; TooLarge past `limits`.
util::Result<Managers> decode(const std::vector<ManagedFieldsEntry>& entries, const Limits& limits);
// Whether a client's managedFields ask to clear them: a list of one empty entry, `[{}]`.
bool isReset(const std::vector<ManagedFieldsEntry>& entries);

// The fields managers own, as JSON: {"metadata":{"labels","annotations","finalizers"},"spec"}.
void ownedView(const Object& object, util::Json& out, util::JsonAlloc& alloc);

// Records a non-apply write of `next` over `live` (null for a create) by `manager`. `requested`
// are the managedFields the request carried: empty keeps the live ones, `[{}]` clears them,
// anything else replaces them (as kube-apiserver allows) once checked.
util::Result<std::vector<ManagedFieldsEntry>> recordUpdate(
    Kind kind, const Object* live, const Object& next,
    const std::vector<ManagedFieldsEntry>& requested, std::string_view manager,
    std::string_view now, const Limits& limits = {});

struct Applied {
  util::JsonDoc view;           // the owned fields after the apply (ownedView's shape)
  Managers managers;            // the applier's time not yet set
  bool fields_changed = false;  // some manager's set differs from before
};

// Applies `config` (ownedView's shape, as the client sent it) by `manager` over `live` (null:
// the object does not exist yet). Conflict (409) in kube-apiserver's words when the config
// changes fields another manager owns and `force` is false; Invalid for a config the schema
// cannot place (a list entry without its key, an entry twice); TooLarge past `limits`.
util::Result<Applied> apply(Kind kind, const Object* live, const util::Json& config,
                            std::string_view manager, bool force, const Limits& limits = {});

// The entries to store: `touched` (if any) gets time `now`, Update entries beyond the cap
// merge, all sorted as kube-apiserver sorts them (Apply first, then by time and manager).
util::Result<std::vector<ManagedFieldsEntry>> encode(Managers managers, const Manager* touched,
                                                     std::string_view now, const Limits& limits);

}  // namespace magnumd::api::managed
