#include "cli/kinds.h"

#include <fmt/format.h>

#include <vector>

namespace magnumd::cli {

util::Result<api::Kind> resolveKind(std::string_view name) {
  if (auto kind = api::kindFromAnyName(name)) return *kind;
  std::vector<std::string> valid;
  for (const auto& info : api::allKinds()) {
    valid.push_back(fmt::format("{} ({})", info.plural, info.short_name));
  }
  return util::makeError(
      util::ErrorCode::BadRequest,
      fmt::format("unknown resource type \"{}\"; magnumd serves {}", name, fmt::join(valid, ", ")));
}

std::string kindRef(api::Kind kind, std::string_view name) {
  return fmt::format("{}/{}", api::kindInfo(kind).singular, name);
}

}  // namespace magnumd::cli
