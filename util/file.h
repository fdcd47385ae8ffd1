// Files that hold secrets: tokens, clouds.yaml (passwords, application credentials), private keys.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace magnumd::util {

// Writes `content` to `path` so that no other user can ever read it: a temporary file beside
// `path` is created exclusively with mode 0600, written, fsynced and renamed over `path` (readers
// see the old file or the whole new one, never a part), then the directory is fsynced. An
// existing `path` is replaced. Errors name the path and the step that failed; the temporary file
// does not outlive a failure.
Status writeSecretFile(const std::string& path, std::string_view content);

}  // namespace magnumd::util
