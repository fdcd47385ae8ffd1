// `ca show`, `ca sign` and `config`: a cluster's credentials, as `openstack coe ca show`,
// `openstack coe ca sign` and `openstack coe cluster config` hand them out.
#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "cli/commands.h"
#include "cli/duration.h"
#include "util/file.h"

namespace magnumd::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPemType = "application/x-pem-file";
constexpr size_t kMaxCsrFileBytes = 1024 * 1024;  // the server takes 16 KiB; refuse junk early

std::string clusterPath(const Context& ctx, const std::string& cluster, std::string_view sub) {
  return fmt::format("{}/{}", objectPath(api::Kind::Cluster, ctx.ns, cluster), sub);
}

// "?expirationSeconds=N" from a --duration flag, "" without one.
util::Result<std::string> expirationQuery(const std::string& duration) {
  if (duration.empty()) return std::string();
  ASSIGN_OR_RETURN(auto parsed, parseDuration(duration));
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(parsed).count();
  return fmt::format("?expirationSeconds={}", seconds);
}

util::Result<std::string> readCsr(Context& ctx, const std::string& file) {
  std::ostringstream text;
  if (file == "-") {
    text << ctx.in.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return util::makeError(
          util::ErrorCode::NotFound,
          fmt::format("cannot read the CSR file {}: {}", file,
                      std::error_code(errno, std::generic_category()).message()));
    }
    in.seekg(0, std::ios::end);
    if (static_cast<size_t>(in.tellg()) > kMaxCsrFileBytes) {
      return util::makeError(util::ErrorCode::TooLarge,
                             fmt::format("{} is larger than 1 MiB: not a CSR", file));
    }
    in.seekg(0);
    text << in.rdbuf();
  }
  return text.str();
}

int fail(Context& ctx, const ApiError& error) {
  ctx.err << formatError(error) << "\n";
  return 1;
}

int fail(Context& ctx, const util::Error& error) {
  ctx.err << "error: " << error.message << "\n";
  return 1;
}

bool isCsh(const std::string& shell) {
  return shell.size() >= 3 && shell.compare(shell.size() - 3, 3, "csh") == 0;
}

std::string exportLine(const ConfigOptions& options, std::string_view name,
                       std::string_view value) {
  return isCsh(options.shell) ? fmt::format("setenv {} {}\n", name, value)
                              : fmt::format("export {}={}\n", name, value);
}

// Writes `files` (name, content) into `dir`, each readable by its owner only. Without `force`,
// any existing file stops everything before one is written.
util::Status writeFiles(const fs::path& dir, bool force,
                        const std::vector<std::pair<std::string, std::string>>& files) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return util::makeError(
        util::ErrorCode::Internal,
        fmt::format("cannot create the directory {}: {}", dir.string(), ec.message()));
  }
  if (!force) {
    for (const auto& [name, content] : files) {
      fs::path path = dir / name;
      if (fs::exists(path, ec)) {
        return util::makeError(util::ErrorCode::AlreadyExists,
                               fmt::format("file {} exists, aborting; pass --force to overwrite "
                                           "it",
                                           path.string()));
      }
    }
  }
  for (const auto& [name, content] : files) {
    auto mode = force ? util::SecretFileMode::Replace : util::SecretFileMode::CreateOnly;
    RETURN_IF_ERROR(util::writeSecretFile((dir / name).string(), content, mode));
  }
  return {};
}

}  // namespace

int runCaShow(Context& ctx, const CaShowOptions& options) {
  auto pem = ctx.api.callText("GET", clusterPath(ctx, options.cluster, "ca"), kPemType);
  if (!pem.ok()) return fail(ctx, pem.error());
  ctx.out << *pem;
  return 0;
}

int runCaSign(Context& ctx, const CaSignOptions& options) {
  auto query = expirationQuery(options.duration);
  if (!query.ok()) return fail(ctx, query.error());
  auto csr = readCsr(ctx, options.csr_file);
  if (!csr.ok()) return fail(ctx, csr.error());
  auto pem = ctx.api.callText("POST", clusterPath(ctx, options.cluster, "certificates") + *query,
                              kPemType, std::move(*csr), kPemType);
  if (!pem.ok()) return fail(ctx, pem.error());
  ctx.out << *pem;
  return 0;
}

int runConfig(Context& ctx, const ConfigOptions& options) {
  auto query = expirationQuery(options.duration);
  if (!query.ok()) return fail(ctx, query.error());
  // One request issues the certificate and tells the COE; the key is made by the server and
  // travels once, in this answer (Cache-Control: no-store).
  auto bundle = ctx.api.getRaw(clusterPath(ctx, options.cluster, "kubeconfig") + *query);
  if (!bundle.ok()) return fail(ctx, bundle.error());
  auto field = [&](const char* name) { return util::stringMember(*bundle, name).value_or(""); };
  std::error_code ec;
  fs::path dir = fs::absolute(options.dir, ec).lexically_normal();
  if (ec) dir = options.dir;
  std::string dir_text = dir.string();
  if (dir_text.size() > 1 && dir_text.back() == '/') dir_text.pop_back();

  if (field("coe") == "swarm") {
    auto written = writeFiles(dir, options.force,
                              {{"ca.pem", field("certificateAuthority")},
                               {"cert.pem", field("clientCertificate")},
                               {"key.pem", field("clientKey")}});
    if (!written.ok()) return fail(ctx, written.error());
    ctx.out << exportLine(options, "DOCKER_HOST", field("server"))
            << exportLine(options, "DOCKER_CERT_PATH", dir_text)
            << exportLine(options, "DOCKER_TLS_VERIFY", "True");
    return 0;
  }
  std::string kubeconfig = field("kubeconfig");
  if (kubeconfig.empty()) {
    return fail(ctx, util::makeError(util::ErrorCode::Internal,
                                     fmt::format("the server sent no kubeconfig for cluster {} "
                                                 "(coe {})",
                                                 options.cluster, field("coe"))));
  }
  auto written = writeFiles(dir, options.force, {{"config", kubeconfig}});
  if (!written.ok()) return fail(ctx, written.error());
  ctx.out << exportLine(options, "KUBECONFIG", (dir / "config").string());
  return 0;
}

}  // namespace magnumd::cli
