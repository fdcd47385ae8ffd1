// Building blocks for field validation: a collector of causes and the syntax checks the kinds share
// (DNS-1123 names, Kubernetes label keys and values, IP addresses, CIDRs, URLs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace magnumd::api {

// Collects one cause per bad field; `status()` is OK when nothing was added, otherwise Invalid
// with every cause, and a message in Kubernetes' shape: `spec.a: ...` or `[spec.a: ..., spec.b: ...]`.
class Causes {
 public:
  void add(std::string field, std::string message);
  bool empty() const { return causes_.empty(); }
  size_t size() const { return causes_.size(); }
  const std::vector<util::Cause>& all() const { return causes_; }
  util::Status status() const;

 private:
  std::vector<util::Cause> causes_;
};

// Renders a user's value for a message: JSON-quoted, long values cut short.
std::string quoted(std::string_view value);
// "a, b, c" for messages like `"x" is not one of a, b, c`.
std::string joinValues(const std::vector<std::string_view>& values);

// Each returns std::nullopt when `value` is fine, otherwise what is wrong with it (without the
// value itself, which the caller quotes).
std::optional<std::string> dns1123LabelProblem(std::string_view value);
std::optional<std::string> dns1123SubdomainProblem(std::string_view value);
// Kubernetes label keys: [prefix/]name, prefix a DNS-1123 subdomain, name ≤ 63 alphanumerics,
// '-', '_', '.' beginning and ending with an alphanumeric.
std::optional<std::string> labelKeyProblem(std::string_view key);
std::optional<std::string> labelValueProblem(std::string_view value);

struct IpAddress {
  bool v6 = false;
  uint8_t bytes[16] = {};  // v4 uses the first 4
};
std::optional<IpAddress> parseIp(std::string_view text);

struct Cidr {
  IpAddress address;
  int prefix = 0;
};
// "10.0.0.0/16"; the address must not have host bits set, as Neutron and flannel require.
std::optional<std::string> cidrProblem(std::string_view text, bool ipv4_only);
std::optional<Cidr> parseCidr(std::string_view text);

// http(s)://host[:port][/path]; `require_port` for proxies, whose format is "a URL including a
// port number".
std::optional<std::string> urlProblem(std::string_view text, bool require_port);

// "/abs/path" with no NUL or newline.
std::optional<std::string> absolutePathProblem(std::string_view text);

// Parses a base-10 integer the way labels carry them ("24"); nullopt on anything else.
std::optional<int64_t> parseInteger(std::string_view text);

}  // namespace magnumd::api
