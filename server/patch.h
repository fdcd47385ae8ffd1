// Patch documents applied to an object's JSON form: JSON Merge Patch (RFC 7386) and
// JSON Patch (RFC 6902). Both refuse documents nested deeper than kMaxPatchDepth.
#pragma once

#include "util/json.h"
#include "util/result.h"

namespace magnumd::server {

inline constexpr int kMaxPatchDepth = 64;

// Applies `patch` to `target` in place (null members delete, objects merge, anything else
// replaces).
util::Status applyMergePatch(util::Json& target, const util::Json& patch, util::JsonAlloc& alloc);

// Applies an RFC 6902 operation list (add, remove, replace, move, copy, test) in place. Errors
// name the operation index and path: `[2] replace /spec/nodeCount: path does not exist`.
// A failed "test" answers Invalid (422), as kube-apiserver does.
util::Status applyJsonPatch(util::Json& target, const util::Json& patch, util::JsonAlloc& alloc);

}  // namespace magnumd::server
