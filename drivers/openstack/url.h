// Building OpenStack request paths: percent-encoded path segments and query strings.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace magnumd::drivers::openstack {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

std::string encodeSegment(std::string_view segment);
// "?a=1&b=x%2Cy" ("" when empty); keys repeat for OR filters.
std::string encodeQuery(const QueryParams& params);

}  // namespace magnumd::drivers::openstack
