#include "drivers/openstack/url.h"

namespace magnumd::drivers::openstack {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void append(std::string& out, std::string_view text, bool keep_comma) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (unreserved(c) || (keep_comma && (c == ',' || c == ':'))) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

}  // namespace

std::string encodeSegment(std::string_view segment) {
  std::string out;
  append(out, segment, false);
  return out;
}

std::string encodeQuery(const QueryParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    out.push_back(out.empty() ? '?' : '&');
    append(out, key, false);
    out.push_back('=');
    // Commas separate tag lists and colons appear in times; both are legal in a query.
    append(out, value, true);
  }
  return out;
}

}  // namespace magnumd::drivers::openstack
