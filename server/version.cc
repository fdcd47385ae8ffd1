#include "server/version.h"

#ifndef MAGNUMD_VERSION
#define MAGNUMD_VERSION "0.0.0"
#endif
#ifndef MAGNUMD_GIT_COMMIT
#define MAGNUMD_GIT_COMMIT "unknown"
#endif
#ifndef MAGNUMD_BUILD_DATE
#define MAGNUMD_BUILD_DATE "unknown"
#endif

namespace magnumd::server {

const BuildInfo& buildInfo() {
  static const BuildInfo kInfo{MAGNUMD_VERSION, MAGNUMD_GIT_COMMIT, MAGNUMD_BUILD_DATE};
  return kInfo;
}

}  // namespace magnumd::server
