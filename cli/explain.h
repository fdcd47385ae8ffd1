// What a kind or one of its fields means, read from the schema magnumd serves at /openapi/v3
// (api/schema.h, built in-process: no server needed):
//   - `magnumctl explain KIND[.FIELD...]` in `kubectl explain`'s layout, so the two print the same
//     descriptions, types and enums;
//   - the field reference of docs/api.md (markdown), which a test keeps current.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace magnumd::cli {

// "cluster", "cluster.spec.nodeCount", "clusters.container-infra.spec"; kind names as `get`
// takes them. NotFound names a field that does not exist.
util::Result<std::string> explain(std::string_view target, bool recursive = false);

// The markers around the generated block in docs/api.md, and the block itself.
inline constexpr std::string_view kReferenceBegin =
    "<!-- BEGIN GENERATED field reference: from the FieldDocs in api/*.h; to regenerate, run\n"
    "     MAGNUMD_UPDATE_GOLDENS=1 build/tests/cli/cli_test --gtest_filter='ApiReference.*' -->";
inline constexpr std::string_view kReferenceEnd = "<!-- END GENERATED field reference -->";
std::string fieldReference();

}  // namespace magnumd::cli
