#include "server/magnum_version.h"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace magnumd::server::magnum {
namespace {

constexpr std::string_view kHeader = "OpenStack-API-Version";
constexpr std::array<std::string_view, 3> kServiceNames = {
    "container-infrastructure-management", "container-infrastructure", "container-infra"};
// What Magnum names itself in the headers and messages it writes (Version.service_string).
constexpr std::string_view kServiceName = "container-infrastructure-management";

util::Error notAcceptable(std::string message) {
  return util::makeError(util::ErrorCode::NotAcceptable, std::move(message));
}

bool parseNumber(std::string_view text, int& out) {
  if (text.empty() || text.size() > 6) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Microversion::str() const { return fmt::format("{}.{}", major, minor); }

util::Result<Microversion> negotiate(std::string_view header) {
  header = trim(header);
  if (header.empty()) return kMinVersion;
  // Python's str.split(): exactly two words separated by whitespace.
  size_t space = header.find_first_of(" \t");
  std::string_view service = header.substr(0, space);
  std::string_view value = space == std::string_view::npos ? "" : trim(header.substr(space));
  if (value.empty() || value.find_first_of(" \t") != std::string_view::npos) {
    return notAcceptable(fmt::format("Invalid service type for {} header", kHeader));
  }
  bool known = false;
  for (std::string_view name : kServiceNames) known = known || service == name;
  if (!known) return notAcceptable(fmt::format("Invalid service type for {} header", kHeader));
  if (value.size() == 6 && (value[0] | 0x20) == 'l' && (value[1] | 0x20) == 'a' &&
      (value[2] | 0x20) == 't' && (value[3] | 0x20) == 'e' && (value[4] | 0x20) == 's' &&
      (value[5] | 0x20) == 't') {
    return kMaxVersion;
  }
  size_t dot = value.find('.');
  Microversion v;
  if (dot == std::string_view::npos || !parseNumber(value.substr(0, dot), v.major) ||
      !parseNumber(value.substr(dot + 1), v.minor)) {
    return notAcceptable(fmt::format("Invalid value for {} header", kHeader));
  }
  if (v.major != kMinVersion.major) {
    return notAcceptable(fmt::format(
        "Mutually exclusive versions requested. Version {} requested but not supported by this "
        "service.The supported version range is: [{} {}, {} {}].",
        v.str(), kServiceName, kMinVersion.str(), kServiceName, kMaxVersion.str()));
  }
  if (v < kMinVersion || v > kMaxVersion) {
    return notAcceptable(fmt::format(
        "Version {} was requested but the minor version is not supported by this service. The "
        "supported version range is: [{} {}, {} {}].",
        v.str(), kServiceName, kMinVersion.str(), kServiceName, kMaxVersion.str()));
  }
  return v;
}

void setVersionHeaders(net::Response& response, const Microversion& chosen) {
  response.set("OpenStack-API-Minimum-Version",
               fmt::format("{} {}", kServiceName, kMinVersion.str()));
  response.set("OpenStack-API-Maximum-Version",
               fmt::format("{} {}", kServiceName, kMaxVersion.str()));
  response.set("OpenStack-API-Version", fmt::format("{} {}", kServiceName, chosen.str()));
  response.set(net::http::field::vary, "OpenStack-API-Version");
}

}  // namespace magnumd::server::magnum
