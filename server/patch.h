// Patch documents applied to an object's JSON form: JSON Merge Patch (RFC 7386) and
// JSON Patch (RFC 6902).
//
// A patch is a program over the object, and a small one can ask for a lot: "copy" operations
// doubling a subtree, thousands of operations scanning a large map, a merge patch adding 100,000
// keys. So both are run against explicit limits on the result, on what they copy and on the steps
// they take, and stop with a TooLarge (413) error naming the limit as soon as one is passed:
// the work of any patch is bounded by these limits, not by what the patch asks for.
#pragma once

#include <cstddef>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::server {

inline constexpr int kMaxPatchDepth = 64;

struct PatchLimits {
  // kube-apiserver's limit on operations in one JSON Patch.
  size_t max_operations = 10000;
  // The request body limit: a patch may not produce an object a PUT could not have sent.
  size_t max_result_bytes = 1024 * 1024;
  // Bytes written into the document by add, replace, copy and move, all operations together.
  size_t max_copied_bytes = 4 * 1024 * 1024;
  // Member comparisons, element shifts and nodes compared by "test", all operations together.
  size_t max_steps = 4'000'000;
  // Nesting of anything a patch writes, counted from the document's root.
  int max_depth = kMaxPatchDepth;
};

// Applies `patch` to `target` in place (null members delete, objects merge, anything else
// replaces). Linear in the sizes of the patch and the target.
util::Status applyMergePatch(util::Json& target, const util::Json& patch, util::JsonAlloc& alloc,
                             const PatchLimits& limits = {});

// Applies an RFC 6902 operation list (add, remove, replace, move, copy, test) in place. Errors
// name the operation index and path: `[2] replace /spec/nodeCount: path does not exist`.
// A failed "test" answers Invalid (422), as kube-apiserver does.
util::Status applyJsonPatch(util::Json& target, const util::Json& patch, util::JsonAlloc& alloc,
                            const PatchLimits& limits = {});

// About the length of `value` written as compact JSON (escapes and number formats aside), counted
// only up to `cap`: a larger value returns a number above `cap` after O(cap) work.
size_t jsonSizeUpTo(const util::Json& value, size_t cap);

}  // namespace magnumd::server
