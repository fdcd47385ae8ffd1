#include "cloudsim/kube_bootstrap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "pki/encoding.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr std::string_view kInitConfig = "/run/kubeadm/kubeadm.yaml";
constexpr std::string_view kJoinConfig = "/run/kubeadm/kubeadm-join-config.yaml";
constexpr std::string_view kCaCert = "/etc/kubernetes/pki/ca.crt";
constexpr std::string_view kCaKey = "/etc/kubernetes/pki/ca.key";
constexpr std::string_view kBootstrapEnv = "/etc/magnumd/bootstrap.env";

// user_data is at most 49,149 bytes once decoded; a kubeadm configuration is a few hundred nodes.
util::YamlLimits limits() {
  util::YamlLimits l;
  l.max_nodes = 20000;
  l.max_documents = 16;
  l.max_depth = 32;
  return l;
}

util::Error invalid(std::string message) {
  return makeError(ErrorCode::BadRequest, std::move(message));
}

std::string text(const Json& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsNull()) return "";
  return util::toJson(v);
}

std::string textAt(const Json* object, std::string_view key) {
  if (object == nullptr || !object->IsObject()) return "";
  const Json* v = util::member(*object, key);
  return v == nullptr ? "" : text(*v);
}

std::vector<std::string> textList(const Json* object, std::string_view key) {
  std::vector<std::string> out;
  const Json* v = object && object->IsObject() ? util::member(*object, key) : nullptr;
  if (v == nullptr || !v->IsArray()) return out;
  for (const auto& item : v->GetArray()) out.push_back(text(item));
  return out;
}

const Json* object(const Json* parent, std::string_view key) {
  if (parent == nullptr || !parent->IsObject()) return nullptr;
  const Json* v = util::member(*parent, key);
  return v != nullptr && v->IsObject() ? v : nullptr;
}

// The jinja expressions CAPO's templates use; anything else stays as written.
std::string renderJinja(std::string_view input, const NodeIdentity& id) {
  std::string out(input);
  const std::pair<std::string_view, const std::string*> kVars[] = {
      {"local_hostname", &id.hostname},
      {"ds.meta_data.local_hostname", &id.hostname},
      {"v1.local_hostname", &id.hostname},
      {"instance_id", &id.instance_id},
      {"ds.meta_data.instance_id", &id.instance_id},
      {"v1.instance_id", &id.instance_id}};
  for (const auto& [name, value] : kVars) {
    for (const auto& pattern :
         {fmt::format("{{{{ {} }}}}", name), fmt::format("{{{{{}}}}}", name)}) {
      for (size_t at = out.find(pattern); at != std::string::npos;
           at = out.find(pattern, at + value->size())) {
        out.replace(at, pattern.size(), *value);
      }
    }
  }
  return out;
}

util::Result<std::string> fileContent(const Json& file, const std::string& path) {
  std::string encoding = textAt(&file, "encoding");
  std::string content = textAt(&file, "content");
  if (encoding.empty() || encoding == "text/plain") return content;
  if (encoding == "b64" || encoding == "base64") {
    content.erase(std::remove_if(content.begin(), content.end(),
                                 [](unsigned char c) { return std::isspace(c) != 0; }),
                  content.end());
    auto decoded = pki::base64Decode(content);
    if (!decoded) return invalid(fmt::format("write_files {}: content is not valid base64", path));
    return *decoded;
  }
  return invalid(fmt::format("write_files {}: encoding \"{}\" is not supported (plain, base64)",
                             path, encoding));
}

// kubeletExtraArgs: a map (v1beta3) or a list of {name, value} (v1beta4).
std::string kubeletArg(const Json* registration, std::string_view name) {
  const Json* args = registration && registration->IsObject()
                         ? util::member(*registration, "kubeletExtraArgs")
                         : nullptr;
  if (args == nullptr) return "";
  if (args->IsObject()) return textAt(args, name);
  if (!args->IsArray()) return "";
  for (const auto& a : args->GetArray()) {
    if (textAt(&a, "name") == name) return textAt(&a, "value");
  }
  return "";
}

util::Status readRegistration(const Json& config, std::string_view file, NodeBootstrap& out) {
  const Json* registration = object(&config, "nodeRegistration");
  out.node_name = textAt(registration, "name");
  std::string labels = kubeletArg(registration, "node-labels");
  if (labels.empty()) return {};
  auto parsed = parseNodeLabels(labels);
  if (!parsed.ok()) {
    return invalid(fmt::format("{}: nodeRegistration.kubeletExtraArgs node-labels: {}", file,
                               parsed.error().message));
  }
  out.labels = std::move(*parsed);
  return {};
}

// One bootstrapTokens entry, checked as kubeadm init checks it before it writes the Secret.
util::Result<KubeadmToken> readToken(const Json& entry, std::string_view file, size_t index) {
  auto bad = [&](std::string_view field, std::string_view why) {
    return invalid(
        fmt::format("{}: InitConfiguration bootstrapTokens[{}].{}: {}", file, index, field, why));
  };
  KubeadmToken out;
  out.token = textAt(&entry, "token");
  // The token is a secret: say what is wrong with it, never what it is.
  size_t dot = out.token.find('.');
  if (dot == std::string::npos ||
      !isBootstrapTokenPart(std::string_view(out.token).substr(0, dot), 6) ||
      !isBootstrapTokenPart(std::string_view(out.token).substr(dot + 1), 16)) {
    return bad("token", "is not of the form [a-z0-9]{6}.[a-z0-9]{16}");
  }
  out.description = textAt(&entry, "description");
  if (std::string ttl = textAt(&entry, "ttl"); !ttl.empty()) {
    auto parsed = util::parseDuration(ttl);
    if (!parsed.ok()) return bad("ttl", parsed.error().message);
    out.ttl = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
  }
  if (std::string expires = textAt(&entry, "expires"); !expires.empty()) {
    out.expires = util::parseRfc3339(expires);
    if (!out.expires) return bad("expires", fmt::format("\"{}\" is not an RFC 3339 time", expires));
  }
  out.usages = textList(&entry, "usages");
  out.groups = textList(&entry, "groups");
  return out;
}

util::Status readKubeadmConfig(std::string_view file, const std::string& content,
                               NodeBootstrap& out) {
  auto docs = util::parseYamlDocuments(content, limits());
  if (!docs.ok()) return invalid(fmt::format("{}: {}", file, docs.error().message));
  for (const auto& doc : *docs) {
    std::string kind = textAt(&doc, "kind");
    std::string api_version = textAt(&doc, "apiVersion");
    if (api_version != "kubeadm.k8s.io/v1beta3" && api_version != "kubeadm.k8s.io/v1beta4") {
      return invalid(
          fmt::format("{}: {} apiVersion \"{}\" is not kubeadm.k8s.io/v1beta3 or v1beta4", file,
                      kind, api_version));
    }
    if (kind == "ClusterConfiguration") {
      if (!out.init) out.init.emplace();
      out.init->kubernetes_version = textAt(&doc, "kubernetesVersion");
      out.init->control_plane_endpoint = textAt(&doc, "controlPlaneEndpoint");
      out.init->cert_sans = textList(object(&doc, "apiServer"), "certSANs");
      out.init->service_subnet = textAt(object(&doc, "networking"), "serviceSubnet");
    } else if (kind == "InitConfiguration") {
      if (!out.init) out.init.emplace();
      if (const Json* tokens = util::member(doc, "bootstrapTokens"); tokens && tokens->IsArray()) {
        for (const auto& t : tokens->GetArray()) {
          auto token = readToken(t, file, out.init->bootstrap_tokens.size());
          if (!token.ok()) return token.takeError();
          out.init->bootstrap_tokens.push_back(std::move(*token));
        }
      }
      out.init->advertise_address = textAt(object(&doc, "localAPIEndpoint"), "advertiseAddress");
      RETURN_IF_ERROR(readRegistration(doc, file, out));
    } else if (kind == "JoinConfiguration") {
      KubeadmJoin join;
      const Json* token = object(object(&doc, "discovery"), "bootstrapToken");
      if (token == nullptr)
        return invalid(fmt::format("{}: discovery.bootstrapToken is missing", file));
      join.token = textAt(token, "token");
      join.api_server_endpoint = textAt(token, "apiServerEndpoint");
      join.ca_cert_hashes = textList(token, "caCertHashes");
      join.control_plane = util::member(doc, "controlPlane") != nullptr;
      out.join = std::move(join);
      RETURN_IF_ERROR(readRegistration(doc, file, out));
    }
  }
  if (out.init && out.init->kubernetes_version.empty()) {
    return invalid(fmt::format("{}: ClusterConfiguration.kubernetesVersion is missing", file));
  }
  return {};
}

// KEY=VALUE lines, as the node's script sources them; MEMBER_INDEX and KUBERNETES_VERSION matter
// here.
util::Status readBootstrapEnv(const std::string& content, NodeBootstrap& out) {
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string_view line(content.data() + start, end - start);
    start = end + 1;
    if (line.starts_with("KUBERNETES_VERSION=")) {
      out.kubernetes_version = std::string(line.substr(19));
      continue;
    }
    if (!line.starts_with("MEMBER_INDEX=")) continue;
    std::string_view value = line.substr(13);
    int64_t index = -1;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), index);
    if (ec != std::errc() || p != value.data() + value.size() || index < 0) {
      return invalid(
          fmt::format("{}: MEMBER_INDEX \"{}\" is not a member number", kBootstrapEnv, value));
    }
    out.member_index = index;
  }
  return {};
}

}  // namespace

bool isBootstrapTokenPart(std::string_view text, size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}

util::Result<std::map<std::string, std::string>> parseNodeLabels(std::string_view value) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view item = value.substr(start, end - start);
    if (!item.empty()) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return invalid(fmt::format("\"{}\" is not key=value", item));
      }
      out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
    start = end + 1;
  }
  return out;
}

util::Result<NodeBootstrap> parseNodeBootstrap(std::string_view user_data,
                                               const NodeIdentity& identity) {
  std::string_view body = user_data;
  bool jinja = body.substr(0, 18) == "## template: jinja";
  if (jinja) body.remove_prefix(std::min(body.size(), body.find('\n') + 1));
  if (body.substr(0, 13) != "#cloud-config") {
    return invalid("user_data is not a #cloud-config document");
  }
  std::string rendered = jinja ? renderJinja(body, identity) : std::string(body);
  auto docs = util::parseYamlDocuments(rendered, limits());
  if (!docs.ok()) return invalid(fmt::format("cloud-config: {}", docs.error().message));
  if (docs->empty() || !docs->front().IsObject()) return invalid("cloud-config: not a mapping");
  const Json* files = util::member(docs->front(), "write_files");
  if (files == nullptr || !files->IsArray()) return invalid("cloud-config: no write_files");
  NodeBootstrap out;
  bool configured = false;
  for (const auto& file : files->GetArray()) {
    std::string path = textAt(&file, "path");
    if (path != kCaCert && path != kCaKey && path != kInitConfig && path != kJoinConfig &&
        path != kBootstrapEnv) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string content, fileContent(file, path));
    if (path == kCaCert) {
      out.ca_cert_pem = std::move(content);
    } else if (path == kCaKey) {
      out.ca_key_pem = std::move(content);
    } else if (path == kBootstrapEnv) {
      RETURN_IF_ERROR(readBootstrapEnv(content, out));
    } else {
      RETURN_IF_ERROR(readKubeadmConfig(path, content, out));
      configured = true;
    }
  }
  if (!configured) {
    return invalid(
        fmt::format("cloud-config: neither {} nor {} is written", kInitConfig, kJoinConfig));
  }
  if (out.init && out.join && !out.member_index) {
    return invalid(fmt::format(
        "cloud-config: both an init and a join configuration, and no MEMBER_INDEX in {} to "
        "choose between them",
        kBootstrapEnv));
  }
  if (out.node_name.empty()) out.node_name = identity.hostname;
  return out;
}

}  // namespace magnumd::cloudsim
