#include "cmd/dev_mode.h"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/file.h"
#include "util/log.h"

namespace magnumd::cmd {

using util::ErrorCode;
using util::makeError;

namespace {

util::Result<std::string> randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return makeError(ErrorCode::Internal, "cannot generate a random token (RAND_bytes failed)");
  }
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

}  // namespace

util::Result<DevToken> ensureAdminToken(const std::string& data_dir) {
  DevToken out;
  out.path = data_dir + "/admin.token";
  if (::access(out.path.c_str(), F_OK) == 0) {
    std::ifstream existing(out.path);
    if (!existing) {
      return makeError(ErrorCode::Unavailable,
                       fmt::format("cannot read {}: {}", out.path, std::strerror(errno)));
    }
    std::stringstream text;
    text << existing.rdbuf();
    out.token = text.str();
    while (!out.token.empty() && std::isspace(static_cast<unsigned char>(out.token.back()))) {
      out.token.pop_back();
    }
    if (out.token.size() < 16) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("{}: holds no usable token (fewer than 16 characters); delete "
                                   "it to have a new one generated",
                                   out.path));
    }
    struct stat st {};
    if (::stat(out.path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      LOG_WARN("magnumd", "{} is readable by other users (mode {:o}); chmod 600 it",
               out.path, st.st_mode & 0777);
    }
    return out;
  }
  ASSIGN_OR_RETURN(out.token, randomHex(32));
  RETURN_IF_ERROR(util::writeSecretFile(out.path, out.token + "\n"));
  out.created = true;
  return out;
}

std::string devInstructions(const DevToken& token, const std::string& base_url) {
  return fmt::format(
      "development mode: an admin token is in {path}{created}\n"
      "  export MAGNUMD_URL={url}\n"
      "  export MAGNUMD_TOKEN=$(cat {path})\n"
      "  magnumctl get clusters -A\n"
      "  curl -H \"Authorization: Bearer $MAGNUMD_TOKEN\" "
      "$MAGNUMD_URL/apis/container-infra/v1/clusters\n",
      fmt::arg("path", token.path), fmt::arg("created", token.created ? " (new)" : ""),
      fmt::arg("url", base_url));
}

}  // namespace magnumd::cmd
