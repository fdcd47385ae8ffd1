// --dev conveniences: a generated admin token kept in DATA_DIR/admin.token (mode 0600).
#pragma once

#include <string>

#include "util/result.h"

namespace magnumd::cmd {

struct DevToken {
  std::string path;
  std::string token;
  bool created = false;
};

// Reads DATA_DIR/admin.token, or creates it with 32 random bytes (hex) and mode 0600.
util::Result<DevToken> ensureAdminToken(const std::string& data_dir);

// The lines printed at start-up: how to use the token with magnumctl and curl.
std::string devInstructions(const DevToken& token, const std::string& base_url);

}  // namespace magnumd::cmd
