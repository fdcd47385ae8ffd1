#include "cmd/config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <tuple>

#include "util/log.h"
#include "util/time.h"

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

std::string knownSettings(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* option : app.get_options()) {
    const std::string& name = option->get_single_name();
    if (name.empty() || name == "help" || name == "version" || name == "config") continue;
    out += out.empty() ? name : ", " + name;
  }
  return out;
}

}  // namespace

util::Status applyConfigFile(const std::string& path, CLI::App& app) {
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
    const std::string key = entry.first.as<std::string>();
    CLI::Option* option = key == "config" ? nullptr : app.get_option_no_throw("--" + key);
    if (option == nullptr) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("--config {}: unknown setting \"{}\"; known: {}", path, key,
                                   knownSettings(app)));
    }
    if (!entry.second.IsScalar()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("--config {}: {}: must be a single value", path, key));
    }
    if (option->count() > 0) continue;  // given on the command line: the flag wins
    try {
      option->add_result(entry.second.Scalar());
      option->run_callback();
    } catch (const CLI::Error& e) {
      return makeError(ErrorCode::BadRequest, fmt::format("--config {}: {}: {}", path, key, e.what()));
    }
  }
  return {};
}

ConnectionCap connectionCap(size_t requested, uint64_t descriptors) {
  constexpr uint64_t kReservedDescriptors = 256;
  constexpr size_t kUnlimitedDefault = 65536;
  if (descriptors == 0) return {requested > 0 ? requested : kUnlimitedDefault, {}};
  const auto allowed = static_cast<size_t>(descriptors > 2 * kReservedDescriptors
                                               ? descriptors - kReservedDescriptors
                                               : descriptors / 2);
  if (requested == 0) return {allowed, {}};
  if (requested <= allowed) return {requested, {}};
  return {allowed,
          fmt::format("--max-connections {} is more than the file-descriptor limit ({}) allows; "
                      "using {} (raise the limit, e.g. LimitNOFILE= in the systemd unit)",
                      requested, descriptors, allowed)};
}

namespace {

util::Status validateStoreConfig(const DaemonConfig& config) {
  if (config.store != "sqlite" && config.store != "etcd") {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--store \"{}\" is not one of sqlite, etcd", config.store));
  }
  const bool etcd_flags = !config.etcd_endpoints.empty() || !config.etcd_ca.empty() ||
                          !config.etcd_cert.empty() || !config.etcd_key.empty();
  if (config.store == "sqlite") {
    if (etcd_flags) {
      return makeError(ErrorCode::BadRequest,
                       "--etcd-endpoints, --etcd-ca, --etcd-cert and --etcd-key only apply with "
                       "--store etcd");
    }
    return {};
  }
#ifndef MAGNUMD_WITH_ETCD
  return makeError(ErrorCode::BadRequest,
                   "--store etcd: this magnumd was built without the etcd backend "
                   "(-DMAGNUMD_ETCD=OFF)");
#endif
  if (config.etcd_endpoints.empty()) {
    return makeError(ErrorCode::BadRequest,
                     "--store etcd needs --etcd-endpoints URL,... (e.g. https://10.0.0.5:2379)");
  }
  if (config.etcd_cert.empty() != config.etcd_key.empty()) {
    return makeError(ErrorCode::BadRequest, "--etcd-cert and --etcd-key must be given together");
  }
  if (config.etcd_prefix.empty() || config.etcd_prefix.front() != '/') {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--etcd-prefix \"{}\" must start with '/' (e.g. /magnumd)",
                                 config.etcd_prefix));
  }
  return {};
}

}  // namespace

util::Result<store::ElectionTiming> electionTiming(const DaemonConfig& config) {
  store::ElectionTiming timing;
  for (auto [flag, text, out] :
       {std::tuple{"--leader-lease-duration", &config.leader_lease_duration, &timing.lease_duration},
        std::tuple{"--leader-renew-deadline", &config.leader_renew_deadline, &timing.renew_deadline},
        std::tuple{"--leader-retry-period", &config.leader_retry_period, &timing.retry_period}}) {
    auto parsed = util::parseDuration(*text);
    if (!parsed.ok()) {
      return makeError(ErrorCode::BadRequest, fmt::format("{}: {}", flag, parsed.error().message));
    }
    *out = *parsed;
  }
  RETURN_IF_ERROR(store::validateElectionTiming(timing));
  return timing;
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
  if (config.dev_plain_http && (!config.dev || !config.tls_cert.empty())) {
    return makeError(ErrorCode::BadRequest,
                     config.dev ? "--dev-plain-http and --tls-cert contradict each other: serve "
                                  "plain HTTP or HTTPS with that certificate"
                                : "--dev-plain-http only applies with --dev (which otherwise "
                                  "serves HTTPS with a certificate it makes)");
  }
  if (!config.dev && config.token_file.empty() && !config.keystone_auth) {
    return makeError(ErrorCode::BadRequest,
                     "refusing to start without authentication: pass --token-file FILE (CSV lines "
                     "token,user,namespace-or-*,role), --keystone-auth (Keystone tokens of the "
                     "cloud in --os-cloud), or --dev for a local development instance with a "
                     "generated admin token");
  }
  if (config.keystone_cache_ttl < std::chrono::seconds(1) || config.keystone_cache_size == 0) {
    return makeError(ErrorCode::BadRequest,
                     "--keystone-cache-ttl must be at least 1 second and --keystone-cache-size at "
                     "least 1 (every request would wait for Keystone)");
  }
  if (!config.dev && config.encryption_key_file.empty()) {
    return makeError(ErrorCode::BadRequest,
                     "refusing to start without --encryption-key-file FILE: it encrypts every "
                     "cluster's CA keys and join token at rest. Create one with `(umask 077; "
                     "openssl rand -base64 32 > FILE)` and keep it safe: the stored secrets "
                     "cannot be read without it");
  }
  if (config.data_dir.empty()) return makeError(ErrorCode::BadRequest, "--data-dir must not be empty");
  if (config.store_quota_bytes < 0 || config.max_objects_per_namespace < 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("--store-quota-bytes ({}) and --max-objects-per-namespace ({}) "
                                 "must not be negative; 0 turns the limit off",
                                 config.store_quota_bytes, config.max_objects_per_namespace));
  }
  RETURN_IF_ERROR(validateStoreConfig(config));
  RETURN_IF_ERROR(electionTiming(config));
  if (config.max_watches_per_user == 0) {
    return makeError(ErrorCode::BadRequest,
                     "--max-watches-per-user must be at least 1 (every watch would be refused)");
  }
  return {};
}

}  // namespace magnumd::cmd
