// KIND arguments as kubectl reads them, and "kind/name" references in messages.
#pragma once

#include <string>
#include <string_view>

#include "api/object.h"
#include "util/result.h"

namespace magnumd::cli {

// Singular, plural, short name or Kind, case-insensitively; the error lists what is valid.
util::Result<api::Kind> resolveKind(std::string_view name);

// "cluster/prod".
std::string kindRef(api::Kind kind, std::string_view name);

}  // namespace magnumd::cli
