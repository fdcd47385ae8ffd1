#include "drivers/openstack/cloud_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/json.h"
#include "util/yaml.h"

extern char** environ;

namespace magnumd::drivers::openstack {

using util::ErrorCode;
using util::Json;
using util::makeError;

namespace {

constexpr size_t kMaxConfigBytes = 1024 * 1024;

bool truthy(std::string_view v) {
  return v == "1" || v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on";
}

// Scalars of any YAML type as text (a numeric project id is still an id).
std::string scalar(const Json* v) {
  if (v == nullptr || v->IsNull()) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  if (v->IsNumber()) return util::toJson(*v);
  return "";
}

// Deep merge of objects: `overlay` wins for scalars.
void mergeInto(Json& base, const Json& overlay, util::JsonAlloc& alloc) {
  if (!base.IsObject() || !overlay.IsObject()) {
    base.CopyFrom(overlay, alloc);
    return;
  }
  for (auto it = overlay.MemberBegin(); it != overlay.MemberEnd(); ++it) {
    auto found = base.FindMember(it->name);
    if (found == base.MemberEnd()) {
      base.AddMember(Json(it->name, alloc), Json(it->value, alloc), alloc);
    } else {
      mergeInto(found->value, it->value, alloc);
    }
  }
}

util::Result<util::JsonDoc> parseYamlFile(std::string_view text, std::string_view source) {
  auto docs = util::parseYamlDocuments(text);
  if (!docs.ok()) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: {}", source, docs.error().message));
  }
  util::JsonDoc doc;
  if (docs->empty()) {
    doc.SetObject();
    return doc;
  }
  doc.Swap(docs->front());
  if (!doc.IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: must be a mapping with a \"clouds\" key, got {}", source,
                                 util::typeName(doc)));
  }
  return doc;
}

std::optional<std::string> readSmallFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  data.resize(kMaxConfigBytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

std::string firstExisting(const std::vector<std::string>& candidates) {
  for (const auto& path : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return "";
}

std::vector<std::string> candidatesFor(const ConfigEnvironment& env, std::string_view base,
                                       std::string_view override_var) {
  std::vector<std::string> out;
  if (auto o = env.get(override_var); !o.empty()) out.push_back(o);
  std::vector<std::string> dirs;
  if (!env.cwd.empty()) dirs.push_back(env.cwd);
  if (!env.home.empty()) dirs.push_back(env.home + "/.config/openstack");
  dirs.push_back("/etc/openstack");
  for (const auto& dir : dirs) {
    for (std::string_view ext : {".yaml", ".yml"}) out.push_back(fmt::format("{}/{}{}", dir, base, ext));
  }
  return out;
}

void applyAuth(CloudConfig& c, const Json& auth) {
  auto set = [&](std::string& field, std::initializer_list<std::string_view> keys) {
    for (auto key : keys) {
      if (auto v = scalar(util::member(auth, key)); !v.empty()) {
        field = v;
        return;
      }
    }
  };
  set(c.auth_url, {"auth_url"});
  set(c.username, {"username", "user_name"});
  set(c.user_id, {"user_id"});
  set(c.password, {"password"});
  set(c.user_domain_name, {"user_domain_name"});
  set(c.user_domain_id, {"user_domain_id"});
  set(c.project_name, {"project_name", "tenant_name"});
  set(c.project_id, {"project_id", "tenant_id"});
  set(c.project_domain_name, {"project_domain_name"});
  set(c.project_domain_id, {"project_domain_id"});
  set(c.application_credential_id, {"application_credential_id"});
  set(c.application_credential_name, {"application_credential_name"});
  set(c.application_credential_secret, {"application_credential_secret"});
  // domain_name / domain_id are the defaults for both user and project domains.
  std::string domain_name, domain_id;
  set(domain_name, {"domain_name"});
  set(domain_id, {"domain_id"});
  if (c.user_domain_name.empty() && c.user_domain_id.empty()) {
    c.user_domain_name = domain_name;
    c.user_domain_id = domain_id;
  }
  if (c.project_domain_name.empty() && c.project_domain_id.empty()) {
    c.project_domain_name = domain_name;
    c.project_domain_id = domain_id;
  }
}

util::Status normalizeAuthType(CloudConfig& c) {
  std::string t = c.auth_type;
  for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (t.empty() || t == "password" || t == "v3password") {
    c.auth_type = "password";
  } else if (t == "v3applicationcredential" || t == "applicationcredential" ||
             t == "application_credential") {
    c.auth_type = "v3applicationcredential";
  } else {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: auth_type \"{}\" is not supported; use password or "
                                 "v3applicationcredential",
                                 c.source, c.auth_type));
  }
  if (c.auth_type == "password" && !c.application_credential_id.empty() && c.password.empty()) {
    c.auth_type = "v3applicationcredential";
  }
  return {};
}

void normalizeAuthUrl(CloudConfig& c) {
  while (!c.auth_url.empty() && c.auth_url.back() == '/') c.auth_url.pop_back();
  // Keystone's unversioned root would need discovery; every deployment serves /v3 below it.
  if (!c.auth_url.empty() && !c.auth_url.ends_with("/v3")) c.auth_url += "/v3";
}

}  // namespace

ConfigEnvironment ConfigEnvironment::fromProcess() {
  ConfigEnvironment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  std::error_code ec;
  env.cwd = std::filesystem::current_path(ec).string();
  env.home = env.get("HOME");
  return env;
}

std::string ConfigEnvironment::get(std::string_view name) const {
  auto it = vars.find(std::string(name));
  return it == vars.end() ? "" : it->second;
}

std::vector<std::string> cloudsFileCandidates(const ConfigEnvironment& env) {
  return candidatesFor(env, "clouds", "OS_CLIENT_CONFIG_FILE");
}

std::vector<std::string> secureFileCandidates(const ConfigEnvironment& env) {
  return candidatesFor(env, "secure", "OS_SECURE_FILE");
}

util::Result<CloudConfig> cloudConfigFromYaml(std::string_view cloud_name, std::string_view clouds_yaml,
                                              std::string_view secure_yaml, std::string_view source) {
  ASSIGN_OR_RETURN(util::JsonDoc clouds, parseYamlFile(clouds_yaml, source));
  if (!secure_yaml.empty()) {
    ASSIGN_OR_RETURN(util::JsonDoc secure, parseYamlFile(secure_yaml, "secure.yaml"));
    mergeInto(clouds, secure, clouds.GetAllocator());
  }
  const Json* all = util::member(clouds, "clouds");
  if (all == nullptr || !all->IsObject()) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: no \"clouds\" mapping", source));
  }
  const Json* cloud = util::member(*all, cloud_name);
  if (cloud == nullptr || !cloud->IsObject()) {
    std::string names;
    for (auto it = all->MemberBegin(); it != all->MemberEnd(); ++it) {
      names += names.empty() ? "" : ", ";
      names += it->name.GetString();
    }
    return makeError(ErrorCode::NotFound,
                     fmt::format("{}: cloud \"{}\" not found; defined clouds: {}", source, cloud_name,
                                 names.empty() ? "none" : names));
  }
  CloudConfig c;
  c.name = std::string(cloud_name);
  c.source = fmt::format("{} (cloud \"{}\")", source, cloud_name);
  if (const Json* auth = util::member(*cloud, "auth"); auth != nullptr && auth->IsObject()) {
    applyAuth(c, *auth);
  }
  if (auto v = scalar(util::member(*cloud, "auth_type")); !v.empty()) c.auth_type = v;
  c.region_name = scalar(util::member(*cloud, "region_name"));
  if (const Json* regions = util::member(*cloud, "regions");
      c.region_name.empty() && regions != nullptr && regions->IsArray() && !regions->Empty()) {
    const Json& first = (*regions)[0];
    c.region_name = first.IsObject() ? scalar(util::member(first, "name")) : scalar(&first);
  }
  if (auto v = scalar(util::member(*cloud, "interface")); !v.empty()) c.interface = v;
  c.cacert = scalar(util::member(*cloud, "cacert"));
  if (auto v = scalar(util::member(*cloud, "verify")); !v.empty()) c.insecure = !truthy(v);
  if (auto v = scalar(util::member(*cloud, "insecure")); !v.empty()) c.insecure = truthy(v);
  RETURN_IF_ERROR(normalizeAuthType(c));
  normalizeAuthUrl(c);
  RETURN_IF_ERROR(validateCloudConfig(c));
  return c;
}

util::Result<CloudConfig> cloudConfigFromEnv(const ConfigEnvironment& env) {
  CloudConfig c;
  c.name = "envvars";
  c.source = "OS_* environment variables";
  c.auth_url = env.get("OS_AUTH_URL");
  c.username = env.get("OS_USERNAME");
  c.user_id = env.get("OS_USER_ID");
  c.password = env.get("OS_PASSWORD");
  c.user_domain_name = env.get("OS_USER_DOMAIN_NAME");
  c.user_domain_id = env.get("OS_USER_DOMAIN_ID");
  c.project_name = env.get("OS_PROJECT_NAME");
  if (c.project_name.empty()) c.project_name = env.get("OS_TENANT_NAME");
  c.project_id = env.get("OS_PROJECT_ID");
  if (c.project_id.empty()) c.project_id = env.get("OS_TENANT_ID");
  c.project_domain_name = env.get("OS_PROJECT_DOMAIN_NAME");
  c.project_domain_id = env.get("OS_PROJECT_DOMAIN_ID");
  if (c.user_domain_name.empty() && c.user_domain_id.empty()) {
    c.user_domain_name = env.get("OS_DOMAIN_NAME");
    c.user_domain_id = env.get("OS_DOMAIN_ID");
  }
  c.application_credential_id = env.get("OS_APPLICATION_CREDENTIAL_ID");
  c.application_credential_name = env.get("OS_APPLICATION_CREDENTIAL_NAME");
  c.application_credential_secret = env.get("OS_APPLICATION_CREDENTIAL_SECRET");
  c.region_name = env.get("OS_REGION_NAME");
  if (auto v = env.get("OS_INTERFACE"); !v.empty()) c.interface = v;
  else if (auto e = env.get("OS_ENDPOINT_TYPE"); !e.empty()) c.interface = e;
  if (c.interface.ends_with("URL")) c.interface.resize(c.interface.size() - 3);  // publicURL
  c.cacert = env.get("OS_CACERT");
  c.insecure = truthy(env.get("OS_INSECURE"));
  c.auth_type = env.get("OS_AUTH_TYPE");
  RETURN_IF_ERROR(normalizeAuthType(c));
  normalizeAuthUrl(c);
  RETURN_IF_ERROR(validateCloudConfig(c));
  return c;
}

util::Result<CloudConfig> loadCloudConfig(std::string_view cloud_name, const ConfigEnvironment& env) {
  std::string name(cloud_name);
  if (name.empty()) name = env.get("OS_CLOUD");
  if (name.empty()) {
    if (!env.get("OS_AUTH_URL").empty()) return cloudConfigFromEnv(env);
    return makeError(ErrorCode::BadRequest,
                     "no cloud selected: pass --os-cloud NAME, set OS_CLOUD, or set OS_AUTH_URL and "
                     "the other OS_* variables");
  }
  const auto candidates = cloudsFileCandidates(env);
  const std::string path = firstExisting(candidates);
  if (path.empty()) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("cloud \"{}\": no clouds.yaml found (looked at {})", name,
                                 fmt::join(candidates, ", ")));
  }
  auto clouds = readSmallFile(path);
  if (!clouds) return makeError(ErrorCode::NotFound, fmt::format("{}: cannot read", path));
  if (clouds->size() > kMaxConfigBytes) {
    return makeError(ErrorCode::TooLarge, fmt::format("{}: larger than {} bytes", path, kMaxConfigBytes));
  }
  std::string secure;
  if (auto secure_path = firstExisting(secureFileCandidates(env)); !secure_path.empty()) {
    secure = readSmallFile(secure_path).value_or("");
  }
  auto config = cloudConfigFromYaml(name, *clouds, secure, path);
  if (config.ok()) {
    // openstacksdk lets a few variables override the file.
    if (auto v = env.get("OS_CACERT"); !v.empty() && config->cacert.empty()) config->cacert = v;
    if (auto v = env.get("OS_INSECURE"); !v.empty()) config->insecure = truthy(v);
  }
  return config;
}

util::Status validateCloudConfig(const CloudConfig& c) {
  auto missing = [&](std::string_view what) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: {} is required", c.source, what));
  };
  if (c.auth_url.empty()) return missing("auth_url (OS_AUTH_URL)");
  if (c.auth_url.find("://") == std::string::npos) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: auth_url \"{}\" must be an http:// or https:// URL", c.source,
                                 c.auth_url));
  }
  if (c.interface != "public" && c.interface != "internal" && c.interface != "admin") {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: interface \"{}\" is not one of public, internal, admin",
                                 c.source, c.interface));
  }
  if (c.isApplicationCredential()) {
    if (c.application_credential_secret.empty()) return missing("application_credential_secret");
    if (c.application_credential_id.empty()) {
      if (c.application_credential_name.empty()) {
        return missing("application_credential_id or application_credential_name");
      }
      if (c.user_id.empty() && c.username.empty()) {
        return missing("user_id or username (with application_credential_name)");
      }
    }
    return {};
  }
  if (c.user_id.empty() && c.username.empty()) return missing("username or user_id (OS_USERNAME)");
  if (c.password.empty()) return missing("password (OS_PASSWORD)");
  if (c.user_id.empty() && c.user_domain_name.empty() && c.user_domain_id.empty()) {
    return missing("user_domain_name or user_domain_id with username (OS_USER_DOMAIN_NAME)");
  }
  if (c.project_id.empty() && !c.project_name.empty() && c.project_domain_name.empty() &&
      c.project_domain_id.empty()) {
    return missing("project_domain_name or project_domain_id with project_name");
  }
  if (c.project_id.empty() && c.project_name.empty()) {
    return missing("project_name or project_id (stacks and servers live in a project)");
  }
  return {};
}

}  // namespace magnumd::drivers::openstack
