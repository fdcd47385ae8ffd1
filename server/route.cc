#include "server/route.h"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

std::string ResourcePath::resource() const {
  std::string r(api::kindInfo(kind).plural);
  switch (subresource) {
    case Subresource::None: break;
    case Subresource::Status: r += "/status"; break;
    case Subresource::Ca: r += "/ca"; break;
    case Subresource::Certificates: r += "/certificates"; break;
    case Subresource::Kubeconfig: r += "/kubeconfig"; break;
  }
  return r;
}

util::Result<Target> parseTarget(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("request target is not a valid path: {}", parsed.error().message()));
  }
  Target out;
  out.path = std::string(parsed->path());
  for (const auto& param : parsed->params()) {
    out.query[std::string(param.key)] = param.has_value ? std::string(param.value) : std::string();
  }
  return out;
}

std::optional<util::Result<ResourcePath>> parseResourcePath(std::string_view path) {
  if (path.substr(0, kApiPrefix.size()) != kApiPrefix) return std::nullopt;
  std::string_view rest = path.substr(kApiPrefix.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;
  std::vector<std::string_view> segments;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // '/'
    auto slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // trailing slash
  auto notFound = [&] {
    return makeError(ErrorCode::NotFound,
                     fmt::format("the server could not find the requested resource {}", path));
  };
  ResourcePath out;
  size_t i = 0;  // index of the plural
  if (segments.size() >= 3 && segments.size() <= 5 && segments[0] == "namespaces" &&
      !segments[1].empty()) {
    out.namespace_ = std::string(segments[1]);
    i = 2;
  } else if (segments.size() != 1) {
    return util::Result<ResourcePath>(notFound());
  }
  auto kind = api::kindFromPlural(segments[i]);
  if (!kind) return util::Result<ResourcePath>(notFound());
  out.kind = *kind;
  if (segments.size() > i + 1) {
    if (segments[i + 1].empty()) return util::Result<ResourcePath>(notFound());
    out.name = std::string(segments[i + 1]);
  }
  if (segments.size() > i + 2) {
    std::string_view sub = segments[i + 2];
    bool cluster = out.kind == api::Kind::Cluster;
    if (sub == "status") {
      out.subresource = Subresource::Status;
    } else if (cluster && sub == "ca") {
      out.subresource = Subresource::Ca;
    } else if (cluster && sub == "certificates") {
      out.subresource = Subresource::Certificates;
    } else if (cluster && sub == "kubeconfig") {
      out.subresource = Subresource::Kubeconfig;
    } else {
      return util::Result<ResourcePath>(notFound());
    }
  }
  return util::Result<ResourcePath>(std::move(out));
}

util::Result<bool> boolParam(const QueryParams& q, std::string_view name, bool fallback) {
  auto it = q.find(name);
  if (it == q.end()) return fallback;
  const std::string& v = it->second;
  if (v.empty() || v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return makeError(ErrorCode::BadRequest,
                   fmt::format("query parameter {}: \"{}\" is not a boolean (true, false, 1, 0)",
                               name, v));
}

util::Result<int64_t> intParam(const QueryParams& q, std::string_view name, int64_t fallback) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return fallback;
  const std::string& v = it->second;
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("query parameter {}: \"{}\" is not a non-negative integer", name, v));
  }
  return out;
}

std::string_view stringParam(const QueryParams& q, std::string_view name) {
  auto it = q.find(name);
  return it == q.end() ? std::string_view{} : std::string_view(it->second);
}

}  // namespace magnumd::server
