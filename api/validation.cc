#include "api/validation.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace magnumd::api {

namespace {

constexpr size_t kMaxQuoted = 80;

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::optional<int> parsePort(std::string_view text) {
  auto n = parseInteger(text);
  if (!n || *n < 1 || *n > 65535 || text.empty() || text[0] == '+' || text[0] == '-') return std::nullopt;
  return static_cast<int>(*n);
}

std::optional<IpAddress> parseIpv4(std::string_view text) {
  IpAddress ip;
  int part = 0;
  size_t pos = 0;
  while (true) {
    if (part == 4) return std::nullopt;
    size_t end = text.find('.', pos);
    std::string_view octet = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    if (octet.empty() || octet.size() > 3) return std::nullopt;
    if (octet.size() > 1 && octet[0] == '0') return std::nullopt;  // no octal ambiguity
    int value = 0;
    for (char c : octet) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return std::nullopt;
    ip.bytes[part++] = static_cast<uint8_t>(value);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  if (part != 4) return std::nullopt;
  return ip;
}

std::optional<IpAddress> parseIpv6(std::string_view text) {
  if (text.size() < 2 || text.size() > 45) return std::nullopt;
  std::vector<uint16_t> head, tail;
  bool compressed = false;
  std::vector<uint16_t>* groups = &head;
  size_t pos = 0;
  if (text.starts_with("::")) {
    compressed = true;
    groups = &tail;
    pos = 2;
    if (pos == text.size()) return IpAddress{true, {}};
  }
  while (pos <= text.size()) {
    size_t end = text.find(':', pos);
    std::string_view group = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    if (group.empty() || group.size() > 4) return std::nullopt;
    unsigned value = 0;
    for (char c : group) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                                     ? c - '0'
                                                     : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    groups->push_back(static_cast<uint16_t>(value));
    if (end == std::string_view::npos) break;
    if (end + 1 < text.size() && text[end + 1] == ':') {
      if (compressed) return std::nullopt;
      compressed = true;
      groups = &tail;
      pos = end + 2;
      if (pos == text.size()) break;
    } else {
      pos = end + 1;
      if (pos == text.size()) return std::nullopt;  // trailing single colon
    }
  }
  size_t total = head.size() + tail.size();
  if ((compressed && total > 7) || (!compressed && total != 8)) return std::nullopt;
  IpAddress ip{true, {}};
  for (size_t i = 0; i < head.size(); ++i) {
    ip.bytes[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    ip.bytes[2 * i + 1] = static_cast<uint8_t>(head[i] & 0xff);
  }
  for (size_t i = 0; i < tail.size(); ++i) {
    size_t g = 8 - tail.size() + i;
    ip.bytes[2 * g] = static_cast<uint8_t>(tail[i] >> 8);
    ip.bytes[2 * g + 1] = static_cast<uint8_t>(tail[i] & 0xff);
  }
  return ip;
}

}  // namespace

void Causes::add(std::string field, std::string message) {
  causes_.push_back({std::move(field), std::move(message)});
}

util::Status Causes::status() const {
  if (causes_.empty()) return {};
  std::vector<std::string> parts;
  for (const auto& c : causes_) parts.push_back(fmt::format("{}: {}", c.field, c.message));
  std::string message = parts.size() == 1 ? parts[0] : fmt::format("[{}]", fmt::join(parts, "; "));
  return util::makeError(util::ErrorCode::Invalid, std::move(message), causes_);
}

std::string quoted(std::string_view value) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : value) {
    if (n++ == kMaxQuoted) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string joinValues(const std::vector<std::string_view>& values) {
  std::string out;
  for (auto v : values) {
    if (!out.empty()) out += ", ";
    out += v.empty() ? "\"\"" : std::string(v);
  }
  return out;
}

std::optional<std::string> dns1123LabelProblem(std::string_view v) {
  if (v.empty()) return "must not be empty";
  if (v.size() > 63) return fmt::format("must be at most 63 characters (has {})", v.size());
  for (char c : v) {
    if (!isLowerAlnum(c) && c != '-') {
      return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
             "with a letter or digit";
    }
  }
  if (v.front() == '-' || v.back() == '-') {
    return "must be a DNS-1123 label: must start and end with a lowercase letter or digit";
  }
  return std::nullopt;
}

std::optional<std::string> dns1123SubdomainProblem(std::string_view v) {
  if (v.empty()) return "must not be empty";
  if (v.size() > 253) return fmt::format("must be at most 253 characters (has {})", v.size());
  size_t pos = 0;
  while (true) {
    size_t dot = v.find('.', pos);
    std::string_view part = v.substr(pos, dot == std::string_view::npos ? v.npos : dot - pos);
    if (part.empty() || part.size() > 63 || dns1123LabelProblem(part)) {
      return "must be a DNS-1123 subdomain: dot-separated lowercase labels of letters, digits and "
             "'-', each starting and ending with a letter or digit";
    }
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return std::nullopt;
}

std::optional<std::string> labelValueProblem(std::string_view v) {
  if (v.empty()) return std::nullopt;
  if (v.size() > 63) return fmt::format("must be at most 63 characters (has {})", v.size());
  for (char c : v) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return "may contain only letters, digits, '-', '_' and '.', starting and ending with a "
             "letter or digit";
    }
  }
  if (!isAlnum(v.front()) || !isAlnum(v.back())) {
    return "must start and end with a letter or digit";
  }
  return std::nullopt;
}

std::optional<std::string> labelKeyProblem(std::string_view key) {
  if (key.empty()) return "must not be empty";
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (auto p = dns1123SubdomainProblem(prefix)) return fmt::format("prefix {}", *p);
  }
  if (name.empty()) return "name part must not be empty";
  if (auto p = labelValueProblem(name)) return fmt::format("name part {}", *p);
  return std::nullopt;
}

std::optional<IpAddress> parseIp(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return parseIpv6(text);
  return parseIpv4(text);
}

std::optional<Cidr> parseCidr(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = parseIp(text.substr(0, slash));
  if (!ip) return std::nullopt;
  std::string_view bits = text.substr(slash + 1);
  auto prefix = parseInteger(bits);
  int max = ip->v6 ? 128 : 32;
  if (!prefix || bits[0] == '+' || bits[0] == '-' || *prefix < 0 || *prefix > max) return std::nullopt;
  return Cidr{*ip, static_cast<int>(*prefix)};
}

std::optional<std::string> cidrProblem(std::string_view text, bool ipv4_only) {
  auto cidr = parseCidr(text);
  if (!cidr) return ipv4_only ? "must be an IPv4 CIDR like 10.100.0.0/16" : "must be a CIDR like 10.0.0.0/24";
  if (ipv4_only && cidr->address.v6) return "must be an IPv4 CIDR like 10.100.0.0/16, not IPv6";
  int total = cidr->address.v6 ? 128 : 32;
  for (int bit = cidr->prefix; bit < total; ++bit) {
    if (cidr->address.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return fmt::format("has host bits set after the /{} prefix", cidr->prefix);
    }
  }
  return std::nullopt;
}

std::optional<std::string> urlProblem(std::string_view text, bool require_port) {
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else {
    return "must be an http:// or https:// URL";
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.starts_with("[")) {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos || !parseIpv6(authority.substr(1, close - 1))) return "has an invalid IPv6 host";
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "has garbage after the IPv6 host";
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "must name a host";
  if (port && !parsePort(*port)) return "has an invalid port (1-65535)";
  if (require_port && !port) return "must include a port number, like http://proxy.example.com:3128";
  return std::nullopt;
}

std::optional<std::string> absolutePathProblem(std::string_view text) {
  if (!text.starts_with("/")) return "must be an absolute path";
  for (char c : text) {
    if (c == '\0' || c == '\n' || c == '\r') return "must not contain NUL or line breaks";
  }
  return std::nullopt;
}

std::optional<int64_t> parseInteger(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::string_view digits = text;
  if (digits[0] == '+') digits.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return value;
}

}  // namespace magnumd::api
