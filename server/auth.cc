#include "server/auth.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

namespace {

// Every authenticated request hashes its token: fetch the implementation once, not (as
// EVP_sha256() implies in OpenSSL 3) on every call, under the library's lock.
const EVP_MD* sha256Method() {
  static EVP_MD* const method = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return method ? method : EVP_sha256();
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, sha256Method(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitCsv(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    auto comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

std::optional<Role> parseRole(std::string_view text) {
  if (text == "admin") return Role::Admin;
  if (text == "member") return Role::Member;
  if (text == "reader") return Role::Reader;
  if (text == "healer") return Role::Healer;
  return std::nullopt;
}

// `clusters "prod"`: kube-apiserver names the object, and the subresource only as the resource.
std::string objectName(const ResourcePath& path) {
  return fmt::format("{} \"{}\"", api::kindInfo(path.kind).plural, path.name);
}

}  // namespace

const char* roleName(Role role) {
  switch (role) {
    case Role::Admin: return "admin";
    case Role::Member: return "member";
    case Role::Reader: return "reader";
    case Role::Healer: return "healer";
  }
  return "reader";
}

const char* verbName(Verb verb) {
  switch (verb) {
    case Verb::Get: return "get";
    case Verb::List: return "list";
    case Verb::Watch: return "watch";
    case Verb::Create: return "create";
    case Verb::Update: return "update";
    case Verb::Patch: return "patch";
    case Verb::Delete: return "delete";
  }
  return "get";
}

util::Result<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::parse(
    std::string_view text, std::string_view source) {
  auto auth = std::make_unique<TokenAuthenticator>();
  size_t line_no = 0;
  std::map<std::string, size_t> seen;  // digest -> line, to name duplicates
  while (!text.empty()) {
    ++line_no;
    auto newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& why) {
      return makeError(ErrorCode::BadRequest, fmt::format("{}:{}: {}", source, line_no, why));
    };
    auto fields = splitCsv(line);
    if (fields.size() != 4) {
      return fail(fmt::format("expected 4 comma-separated fields (token,user,namespace-or-*,role), "
                              "got {}",
                              fields.size()));
    }
    if (fields[0].size() < 8) return fail("token must be at least 8 characters");
    if (fields[1].empty()) return fail("user must not be empty");
    if (fields[2].empty()) return fail("namespace must be a namespace name or *");
    auto role = parseRole(fields[3]);
    if (!role) {
      return fail(fmt::format("role \"{}\" is not one of admin, member, reader, healer", fields[3]));
    }
    std::string digest = sha256(fields[0]);
    if (auto it = seen.find(digest); it != seen.end()) {
      return fail(fmt::format("token already defined on line {}", it->second));
    }
    seen.emplace(digest, line_no);
    auth->identities_.emplace(
        std::move(digest), Identity{std::string(fields[1]), std::string(fields[2]), *role});
  }
  return auth;
}

util::Result<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::loadFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("token file {}: cannot be read: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

void TokenAuthenticator::add(std::string_view token, Identity identity) {
  identities_[sha256(token)] = std::move(identity);
}

std::optional<Identity> TokenAuthenticator::authenticate(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  auto it = identities_.find(sha256(token));
  if (it == identities_.end()) return std::nullopt;
  return it->second;
}

util::Status authorize(const Identity& identity, Verb verb, const ResourcePath& path) {
  auto deny = [&](std::string_view why) {
    std::string where = path.allNamespaces() ? std::string("at the cluster scope")
                                             : fmt::format("in namespace \"{}\"", path.namespace_);
    return makeError(ErrorCode::Forbidden,
                     fmt::format("{} is forbidden: User \"{}\" cannot {} resource \"{}\" {}{}",
                                 path.name.empty() ? path.resource()
                                                   : objectName(path),
                                 identity.user, verbName(verb), path.resource(), where, why));
  };
  // Namespace-limited tokens may list and watch across namespaces: the handler narrows the
  // result to their namespace, so they see nothing of the others.
  if (!identity.allNamespaces() && !path.allNamespaces() && path.namespace_ != identity.namespace_) {
    return deny(fmt::format(" (the token is limited to namespace \"{}\")", identity.namespace_));
  }
  if (!isWrite(verb)) return {};
  switch (identity.role) {
    case Role::Admin: return {};
    case Role::Reader: return deny(" (role reader is read-only)");
    case Role::Healer:
      // The field rule (health only) is checked against the stored status on write.
      if (path.kind == api::Kind::Cluster && path.status() &&
          (verb == Verb::Update || verb == Verb::Patch)) {
        return {};
      }
      return deny(" (role healer may only update a Cluster's health in its /status)");
    case Role::Member:
      if (path.status() || path.kind == api::Kind::Event) {
        return deny(" (status and events are written by controllers; role admin is required)");
      }
      if (path.kind == api::Kind::Quota) return deny(" (quotas are set by role admin)");
      return {};
  }
  return deny("");
}

std::string tokenDigest(std::string_view token) { return sha256(token); }

std::string_view bearerToken(std::string_view header) {
  header = trim(header);
  if (header.size() < 7) return {};
  std::string_view scheme = header.substr(0, 7);
  if (scheme != "Bearer " && scheme != "bearer ") return {};
  return trim(header.substr(7));
}

}  // namespace magnumd::server
