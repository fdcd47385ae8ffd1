// What /version and `magnumd --version` report; filled in by CMake at configure time.
#pragma once

#include <string>

namespace magnumd::server {

struct BuildInfo {
  std::string version;     // "0.1.0"
  std::string git_commit;  // short hash, or "unknown" outside a git checkout
  std::string build_date;  // RFC 3339 UTC
};

const BuildInfo& buildInfo();

}  // namespace magnumd::server
