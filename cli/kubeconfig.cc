#include "cli/kubeconfig.h"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pki/encoding.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::cli {

using util::ErrorCode;
using util::Json;
using util::makeError;

namespace {

constexpr std::uintmax_t kMaxKubeconfigBytes = 4 * 1024 * 1024;
constexpr std::uintmax_t kMaxTokenFileBytes = 64 * 1024;

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

util::Result<std::string> readFile(const std::string& path, std::uintmax_t limit,
                                   std::string_view what) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return makeError(ErrorCode::NotFound, fmt::format("{} {}: {}", what, path, ec.message()));
  if (size > limit) {
    return makeError(ErrorCode::TooLarge,
                     fmt::format("{} {}: {} bytes, more than the {} a {} may have", what, path,
                                 size, limit, what));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ErrorCode::NotFound, fmt::format("{} {}: cannot be read", what, path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A path in a kubeconfig is relative to the file's directory, as client-go resolves it.
std::string relativeTo(const std::string& kubeconfig, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(kubeconfig).parent_path() / path).string();
}

// Reads a named list ("clusters", "contexts", "users"): [{name: N, <entry>: {...}}, ...].
template <typename Decode>
util::Status namedList(const Json& root, std::string_view list, std::string_view entry,
                       const std::string& path, Decode decode) {
  const Json* items = util::member(root, list);
  if (items == nullptr || items->IsNull()) return {};
  if (!items->IsArray()) {
    return makeError(ErrorCode::BadRequest, fmt::format("kubeconfig {}: {} must be a list, got {}",
                                                        path, list, util::typeName(*items)));
  }
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const Json& item = (*items)[i];
    auto name = util::stringMember(item, "name");
    const Json* fields = util::member(item, entry);
    if (!name || name->empty()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("kubeconfig {}: {}[{}] has no name", path, list, i));
    }
    if (fields != nullptr && !fields->IsObject() && !fields->IsNull()) {
      return makeError(
          ErrorCode::BadRequest,
          fmt::format("kubeconfig {}: {} \"{}\": {} must be a mapping", path, list, *name, entry));
    }
    static const Json kEmpty(rapidjson::kObjectType);
    RETURN_IF_ERROR(decode(*name, fields != nullptr && fields->IsObject() ? *fields : kEmpty));
  }
  return {};
}

// The first definition of `name` across the files, as client-go merges them.
template <typename T>
const T* findNamed(const std::vector<Kubeconfig>& files,
                   std::map<std::string, T> Kubeconfig::*entries, const std::string& name) {
  for (const auto& file : files) {
    auto it = (file.*entries).find(name);
    if (it != (file.*entries).end()) return &it->second;
  }
  return nullptr;
}

std::string stringField(const Json& object, std::string_view name) {
  return util::stringMember(object, name).value_or("");
}

}  // namespace

util::Result<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& path) {
  util::YamlLimits limits;
  limits.max_documents = 1;
  auto docs = util::parseYamlDocuments(text, limits);
  if (!docs.ok()) {
    return makeError(docs.error().code,
                     fmt::format("kubeconfig {}: {}", path, docs.error().message));
  }
  Kubeconfig out;
  out.path = path;
  if (docs->empty()) return out;  // an empty file configures nothing, as for kubectl
  const Json& root = docs->front();
  if (!root.IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("kubeconfig {}: must be a mapping (kind: Config), got {}", path,
                                 util::typeName(root)));
  }
  out.current_context = stringField(root, "current-context");
  RETURN_IF_ERROR(namedList(
      root, "clusters", "cluster", path,
      [&](const std::string& name, const Json& c) -> util::Status {
        KubeconfigCluster cluster;
        cluster.server = stringField(c, "server");
        cluster.ca_file = relativeTo(path, stringField(c, "certificate-authority"));
        cluster.insecure = util::boolMember(c, "insecure-skip-tls-verify").value_or(false);
        std::string data = stringField(c, "certificate-authority-data");
        if (!data.empty()) {
          auto pem = pki::base64Decode(data);
          if (!pem) {
            return makeError(ErrorCode::BadRequest,
                             fmt::format("kubeconfig {}: cluster \"{}\": "
                                         "certificate-authority-data is not base64",
                                         path, name));
          }
          cluster.ca_pem = std::move(*pem);
        }
        out.clusters.try_emplace(name, std::move(cluster));
        return {};
      }));
  RETURN_IF_ERROR(namedList(
      root, "users", "user", path, [&](const std::string& name, const Json& u) -> util::Status {
        out.users.try_emplace(name, KubeconfigUser{stringField(u, "token"),
                                                   relativeTo(path, stringField(u, "tokenFile"))});
        return {};
      }));
  RETURN_IF_ERROR(namedList(root, "contexts", "context", path,
                            [&](const std::string& name, const Json& c) -> util::Status {
                              out.contexts.try_emplace(
                                  name, KubeconfigContext{stringField(c, "cluster"),
                                                          stringField(c, "user"),
                                                          stringField(c, "namespace")});
                              return {};
                            }));
  return out;
}

util::Result<std::optional<KubeconfigSelection>> selectContext(const std::vector<Kubeconfig>& files,
                                                               const std::string& context) {
  std::string name = context;
  for (size_t i = 0; i < files.size() && name.empty(); ++i) name = files[i].current_context;
  if (name.empty()) return std::optional<KubeconfigSelection>();
  const KubeconfigContext* ctx = findNamed(files, &Kubeconfig::contexts, name);
  std::string paths;
  for (const auto& file : files) paths += (paths.empty() ? "" : ", ") + file.path;
  if (ctx == nullptr) {
    return makeError(
        ErrorCode::NotFound,
        fmt::format("context \"{}\" is not defined in the kubeconfig ({}){}", name, paths,
                    context.empty() ? " although current-context names it" : ""));
  }
  const KubeconfigCluster* cluster = findNamed(files, &Kubeconfig::clusters, ctx->cluster);
  if (cluster == nullptr) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("context \"{}\" names cluster \"{}\", which is not defined in the "
                                 "kubeconfig ({})",
                                 name, ctx->cluster, paths));
  }
  KubeconfigSelection out;
  for (const auto& file : files) {
    if (file.contexts.count(name) > 0) {
      out.file = file.path;
      break;
    }
  }
  out.context = name;
  out.cluster = *cluster;
  if (const KubeconfigUser* user = findNamed(files, &Kubeconfig::users, ctx->user))
    out.user = *user;
  out.namespace_ = ctx->namespace_;
  return std::optional(std::move(out));
}

util::Result<Connection> resolveConnection(const ConnectionInputs& in) {
  Connection out;
  std::vector<std::string> paths;
  bool required = false;
  if (!in.kubeconfig_flag.empty()) {
    paths.push_back(in.kubeconfig_flag);
    required = true;
  } else if (in.kubeconfig_env && !in.kubeconfig_env->empty()) {
    std::stringstream list(*in.kubeconfig_env);
    for (std::string path; std::getline(list, path, ':');) {
      if (!path.empty()) paths.push_back(path);
    }
  }
  std::vector<Kubeconfig> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!required && !std::filesystem::exists(path, ec)) continue;  // as client-go skips them
    ASSIGN_OR_RETURN(std::string text, readFile(path, kMaxKubeconfigBytes, "kubeconfig"));
    ASSIGN_OR_RETURN(Kubeconfig file, parseKubeconfig(text, path));
    files.push_back(std::move(file));
  }
  if (!in.context_flag.empty() && files.empty()) {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("--context {}: no kubeconfig to find it in; pass --kubeconfig FILE "
                    "or set KUBECONFIG",
                    in.context_flag));
  }
  ASSIGN_OR_RETURN(auto selected, selectContext(files, in.context_flag));

  const std::optional<std::string>& explicit_server = in.server_flag ? in.server_flag : in.url_env;
  if (explicit_server && !explicit_server->empty()) {
    out.server = *explicit_server;
  } else if (selected && !selected->cluster.server.empty()) {
    out.server = selected->cluster.server;
  }
  // A kubeconfig's token, CA and namespace belong to its own server only.
  if (selected && out.server != selected->cluster.server) selected.reset();

  if (in.token_flag) {
    out.token = *in.token_flag;
  } else if (in.token_env && !in.token_env->empty()) {
    out.token = *in.token_env;
  } else if (selected && !selected->user.token.empty()) {
    out.token = selected->user.token;
  } else if (selected && !selected->user.token_file.empty()) {
    ASSIGN_OR_RETURN(std::string token,
                     readFile(selected->user.token_file, kMaxTokenFileBytes, "tokenFile"));
    out.token = trimmed(std::move(token));
  }

  if (in.namespace_flag) {
    out.namespace_ = *in.namespace_flag;
  } else if (in.namespace_env && !in.namespace_env->empty()) {
    out.namespace_ = *in.namespace_env;
  } else if (selected && !selected->namespace_.empty()) {
    out.namespace_ = selected->namespace_;
  }

  out.insecure = in.insecure_flag;
  if (!in.ca_file_flag.empty()) {
    out.ca_file = in.ca_file_flag;
  } else if (selected) {
    out.ca_pem = selected->cluster.ca_pem;
    out.ca_file = selected->cluster.ca_file;
  }
  if (selected) {
    out.insecure = out.insecure || selected->cluster.insecure;
    out.kubeconfig = fmt::format("{} (context {})", selected->file, selected->context);
  }
  return out;
}

}  // namespace magnumd::cli
