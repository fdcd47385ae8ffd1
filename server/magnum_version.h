// Magnum's API microversions (OpenStack-API-Version: container-infra X.Y), as
// magnum/api/controllers/versions.py and v1/__init__.py negotiate them:
// - no header: 1.1 (Magnum's BASE_VER); "latest": the newest this server speaks;
// - service names container-infrastructure-management, container-infrastructure and
//   container-infra are accepted; another name, or a value that is not "major.minor": 406;
// - a version outside [1.1, newest]: 406 naming the supported range;
// - every /v1 response carries the minimum, maximum and chosen version, and Vary.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "net/http_server.h"
#include "util/result.h"

namespace magnumd::server::magnum {

struct Microversion {
  int major = 1;
  int minor = 1;
  auto operator<=>(const Microversion&) const = default;
  std::string str() const;
};

inline constexpr Microversion kMinVersion{1, 1};
// Magnum master's CURRENT_MAX_VER: 1.13 puts cluster_id beside stack_id, 1.14 node labels/taints.
inline constexpr Microversion kMaxVersion{1, 14};

// The version a request asked for (`header` is OpenStack-API-Version, empty when absent);
// NotAcceptable with Magnum's message otherwise.
util::Result<Microversion> negotiate(std::string_view header);

// The version headers Magnum sets on every /v1 response.
void setVersionHeaders(net::Response& response, const Microversion& chosen);

}  // namespace magnumd::server::magnum
