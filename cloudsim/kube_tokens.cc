#include "cloudsim/kube_tokens.h"

#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/support.h"
#include "pki/encoding.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr std::string_view kDefaultGroup = "system:bootstrappers:kubeadm:default-node-token";

util::Error invalidField(std::string_view name, std::string_view field, std::string_view why) {
  return makeError(
      ErrorCode::Invalid,
      fmt::format(R"(Secret "{}" is invalid: {}: Invalid value: {})", name, field, why));
}

std::string b64(std::string_view text) {
  return pki::base64Encode(
      std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

std::string valueOf(const TokenSecret& s, const std::string& key) {
  auto it = s.data.find(key);
  return it == s.data.end() ? "" : it->second;
}

// The data keys the bootstrap authenticator and signer read; checked when written so a wrong
// Secret is refused at once instead of silently ignored at the next join.
util::Status checkData(TokenSecret& s, std::string_view name) {
  const std::string id = valueOf(s, "token-id");
  if (!isBootstrapTokenPart(id, 6))
    return invalidField(name, "data[token-id]", "must be 6 characters of [a-z0-9]");
  if (name != tokenSecretName(id)) {
    return invalidField(name, "metadata.name",
                        fmt::format("must be {} for data[token-id]", tokenSecretName(id)));
  }
  if (!isBootstrapTokenPart(valueOf(s, "token-secret"), 16))
    return invalidField(name, "data[token-secret]", "must be 16 characters of [a-z0-9]");
  s.id = id;
  s.expires.reset();
  if (auto it = s.data.find("expiration"); it != s.data.end()) {
    s.expires = util::parseRfc3339(it->second);
    if (!s.expires) {
      return invalidField(name, "data[expiration]",
                          fmt::format("\"{}\" is not an RFC 3339 time", it->second));
    }
  }
  return {};
}

util::Status readData(const Json& data, bool encoded, std::string_view name, TokenSecret& out) {
  const std::string_view field = encoded ? "data" : "stringData";
  if (data.IsNull()) return {};
  if (!data.IsObject()) return invalidField(name, field, "expected a map of strings");
  for (const auto& m : data.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsString())
      return invalidField(name, fmt::format("{}[{}]", field, key), "expected a string");
    std::string_view value(m.value.GetString(), m.value.GetStringLength());
    if (!encoded) {
      out.data[key] = std::string(value);
      continue;
    }
    auto decoded = pki::base64Decode(value);
    if (!decoded)
      return invalidField(name, fmt::format("{}[{}]", field, key), "illegal base64 data");
    out.data[key] = std::move(*decoded);
  }
  return {};
}

}  // namespace

std::string tokenSecretName(std::string_view id) {
  return fmt::format("{}{}", kTokenSecretPrefix, id);
}

TokenSecret initTokenSecret(const KubeadmToken& token, SystemTime now) {
  TokenSecret s;
  size_t dot = token.token.find('.');
  s.id = token.token.substr(0, dot);
  s.data["token-id"] = s.id;
  s.data["token-secret"] = token.token.substr(dot + 1);
  if (!token.description.empty()) s.data["description"] = token.description;
  // kubeadm: an absolute `expires` wins; else ttl (24h when absent), zero meaning never.
  if (token.expires) {
    s.expires = *token.expires;
  } else if (auto ttl = token.ttl.value_or(std::chrono::hours(24)); ttl.count() > 0) {
    s.expires = now + ttl;
  }
  if (s.expires) s.data["expiration"] = util::formatRfc3339(*s.expires);
  std::vector<std::string> usages = token.usages;
  if (usages.empty()) usages = {"signing", "authentication"};
  for (const auto& usage : usages) s.data["usage-bootstrap-" + usage] = "true";
  s.data["auth-extra-groups"] = token.groups.empty()
                                    ? std::string(kDefaultGroup)
                                    : fmt::format("{}", fmt::join(token.groups, ","));
  s.created = now;
  return s;
}

void stampTokenSecret(TokenSecret& secret, std::string_view stack_id, uint64_t resource_version) {
  // A Secret made anew (after a delete) gets a new uid, as in etcd; a rewrite keeps its own.
  if (secret.uid.empty()) {
    std::string h =
        stableHexId("secret", fmt::format("{}/kube-system/{}/{}", stack_id,
                                          tokenSecretName(secret.id), resource_version));
    secret.uid = fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                             h.substr(16, 4), h.substr(20, 12));
  }
  secret.resource_version = resource_version;
}

void cleanExpiredTokens(TokenSecrets& tokens, SystemTime now) {
  for (auto it = tokens.by_id.begin(); it != tokens.by_id.end();) {
    if (!it->second.expires || *it->second.expires > now) {
      ++it;
      continue;
    }
    tokens.cleaned.push_back({it->first, *it->second.expires});
    while (tokens.cleaned.size() > kMaxCleanedTokens) tokens.cleaned.pop_front();
    it = tokens.by_id.erase(it);
  }
}

std::string joinTokenProblem(TokenSecrets& tokens, std::string_view token, SystemTime now) {
  cleanExpiredTokens(tokens, now);
  size_t dot = token.find('.');
  std::string id(token.substr(0, dot));
  std::string secret(dot == std::string_view::npos ? "" : token.substr(dot + 1));
  const std::string where = fmt::format("Secret kube-system/{}", tokenSecretName(id));
  auto it = tokens.by_id.find(id);
  if (it == tokens.by_id.end()) {
    auto cleaned = std::find_if(tokens.cleaned.rbegin(), tokens.cleaned.rend(),
                                [&](const CleanedToken& c) { return c.id == id; });
    if (cleaned != tokens.cleaned.rend()) {
      return fmt::format(
          "discovery.bootstrapToken.token: bootstrap token {} expired at {}; the token cleaner "
          "deleted its {}",
          id, util::formatRfc3339(cleaned->expired), where);
    }
    return fmt::format(
        "discovery.bootstrapToken.token is not one of the cluster's bootstrap tokens (no {})",
        where);
  }
  const TokenSecret& s = it->second;
  // The token is a secret: say that it is wrong, never what it is.
  if (valueOf(s, "token-secret") != secret) {
    return fmt::format(
        "discovery.bootstrapToken.token is not one of the cluster's bootstrap tokens (its secret "
        "is not the one in {})",
        where);
  }
  // Token discovery needs cluster-info signed with the token, the kubelet's TLS bootstrap needs
  // it to authenticate.
  for (std::string_view usage : {"signing", "authentication"}) {
    if (valueOf(s, fmt::format("usage-bootstrap-{}", usage)) != "true") {
      return fmt::format(
          "discovery.bootstrapToken.token: {} does not allow {} (data[usage-bootstrap-{}] is not "
          "\"true\")",
          where, usage, usage);
    }
  }
  return "";
}

util::Result<TokenSecret> readTokenSecret(const Json& body, std::string_view url_name) {
  if (!body.IsObject()) return makeError(ErrorCode::BadRequest, "the body is not a JSON object");
  std::string kind = util::stringMember(body, "kind").value_or("Secret");
  std::string api = util::stringMember(body, "apiVersion").value_or("v1");
  if (kind != "Secret" || api != "v1") {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("the body is a {} {}, not a v1 Secret", api, kind));
  }
  const Json* meta = util::member(body, "metadata");
  std::string name =
      meta != nullptr && meta->IsObject() ? util::stringMember(*meta, "name").value_or("") : "";
  if (name.empty()) name = std::string(url_name);
  if (name.empty()) {
    return makeError(ErrorCode::Invalid,
                     "Secret \"\" is invalid: metadata.name: Required value: name or "
                     "generateName is required");
  }
  if (!url_name.empty() && name != url_name) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("the name of the object ({}) does not match the name on the URL "
                                 "({})",
                                 name, url_name));
  }
  if (meta != nullptr && meta->IsObject()) {
    auto ns = util::stringMember(*meta, "namespace");
    if (ns && !ns->empty() && *ns != "kube-system") {
      return makeError(ErrorCode::BadRequest,
                       "the namespace of the provided object does not match the namespace sent "
                       "on the request");
    }
  }
  std::string type = util::stringMember(body, "type").value_or("");
  if (type != kTokenSecretType) {
    return invalidField(
        name, "type",
        fmt::format("\"{}\": cloudsim keeps Secrets of type {} only", type, kTokenSecretType));
  }
  TokenSecret out;
  for (const auto& m : body.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "data" || key == "stringData") {
      RETURN_IF_ERROR(readData(m.value, key == "data", name, out));
    } else if (key != "apiVersion" && key != "kind" && key != "metadata" && key != "type" &&
               key != "immutable") {
      return invalidField(name, key, "cloudsim keeps a Secret's type and data only");
    }
  }
  size_t bytes = 0;
  for (const auto& [k, v] : out.data) bytes += k.size() + v.size();
  if (out.data.size() > kMaxTokenSecretKeys || bytes > kMaxTokenSecretBytes) {
    return invalidField(
        name, "data",
        fmt::format("{} keys, {} bytes: cloudsim keeps at most {} keys and {} "
                    "bytes per Secret",
                    out.data.size(), bytes, kMaxTokenSecretKeys, kMaxTokenSecretBytes));
  }
  RETURN_IF_ERROR(checkData(out, name));
  return out;
}

void renderTokenSecret(const TokenSecret& secret, Json& out, util::JsonAlloc& a) {
  out.SetObject();
  out.AddMember("kind", "Secret", a);
  out.AddMember("apiVersion", "v1", a);
  Json m(rapidjson::kObjectType);
  m.AddMember("name", util::str(tokenSecretName(secret.id), a), a);
  m.AddMember("namespace", "kube-system", a);
  m.AddMember("uid", util::str(secret.uid, a), a);
  m.AddMember("resourceVersion", util::str(std::to_string(secret.resource_version), a), a);
  m.AddMember("creationTimestamp", util::str(formatSeconds(secret.created), a), a);
  out.AddMember("metadata", m, a);
  Json data(rapidjson::kObjectType);
  for (const auto& [k, v] : secret.data) data.AddMember(util::str(k, a), util::str(b64(v), a), a);
  out.AddMember("data", data, a);
  out.AddMember("type", util::str(kTokenSecretType, a), a);
}

std::string tokenSecretJson(const TokenSecret& secret) {
  util::JsonDoc doc;
  renderTokenSecret(secret, doc, doc.GetAllocator());
  return util::toJson(doc);
}

}  // namespace magnumd::cloudsim
