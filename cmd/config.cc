#include "cmd/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>

#include "util/log.h"

namespace magnumd::cmd {

using util::ErrorCode;
using util::makeError;

util::Result<ListenAddress> parseListen(const std::string& text) {
  auto bad = [&](std::string_view why) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--listen \"{}\": {} (expected ADDRESS:PORT, e.g. 127.0.0.1:9511)",
                                 text, why));
  };
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return bad("missing :PORT");
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  std::string_view port = std::string_view(text).substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad(fmt::format("port \"{}\" is not a number from 0 to 65535", port));
  }
  out.port = static_cast<uint16_t>(value);
  return out;
}

namespace {

template <typename T>
util::Status read(const YAML::Node& node, const std::string& where, T& out) {
  try {
    out = node.as<T>();
    return {};
  } catch (const YAML::Exception&) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: has the wrong type", where));
  }
}

util::Status readDuration(const YAML::Node& node, const std::string& where,
                          std::chrono::milliseconds& out) {
  double seconds = 0;
  RETURN_IF_ERROR(read(node, where, seconds));
  if (seconds <= 0) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: must be a positive number of seconds", where));
  }
  out = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  return {};
}

}  // namespace

util::Status applyConfigFile(const std::string& path, DaemonConfig& config) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return makeError(ErrorCode::NotFound, fmt::format("--config {}: cannot be read", path));
  } catch (const YAML::Exception& e) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--config {}: line {}: {}", path, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) {
    return makeError(ErrorCode::BadRequest, fmt::format("--config {}: must be a mapping of settings", path));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    std::string where = fmt::format("--config {}: {}", path, key);
    const YAML::Node& v = entry.second;
    if (key == "listen") {
      RETURN_IF_ERROR(read(v, where, config.listen));
    } else if (key == "data-dir") {
      RETURN_IF_ERROR(read(v, where, config.data_dir));
    } else if (key == "dev") {
      RETURN_IF_ERROR(read(v, where, config.dev));
    } else if (key == "token-file") {
      RETURN_IF_ERROR(read(v, where, config.token_file));
    } else if (key == "tls-cert") {
      RETURN_IF_ERROR(read(v, where, config.tls_cert));
    } else if (key == "tls-key") {
      RETURN_IF_ERROR(read(v, where, config.tls_key));
    } else if (key == "log-level") {
      RETURN_IF_ERROR(read(v, where, config.log_level));
    } else if (key == "io-threads") {
      RETURN_IF_ERROR(read(v, where, config.io_threads));
    } else if (key == "watch-bookmark-interval") {
      RETURN_IF_ERROR(readDuration(v, where, config.watch_bookmark_interval));
    } else if (key == "shutdown-timeout") {
      RETURN_IF_ERROR(readDuration(v, where, config.shutdown_timeout));
    } else {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("--config {}: unknown setting \"{}\"; known: listen, data-dir, "
                                   "dev, token-file, tls-cert, tls-key, log-level, io-threads, "
                                   "watch-bookmark-interval, shutdown-timeout",
                                   path, key));
    }
  }
  return {};
}

util::Status validateConfig(const DaemonConfig& config) {
  RETURN_IF_ERROR(parseListen(config.listen));
  util::LogLevel level;
  if (!util::parseLogLevel(config.log_level, level)) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--log-level \"{}\" is not one of debug, info, warn, error",
                                 config.log_level));
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return makeError(ErrorCode::BadRequest, "--tls-cert and --tls-key must be given together");
  }
  if (!config.dev && config.token_file.empty()) {
    return makeError(ErrorCode::BadRequest,
                     "refusing to start without authentication: pass --token-file FILE (CSV lines "
                     "token,user,namespace-or-*,role), or --dev for a local development "
                     "instance with a generated admin token");
  }
  if (config.data_dir.empty()) return makeError(ErrorCode::BadRequest, "--data-dir must not be empty");
  return {};
}

}  // namespace magnumd::cmd
