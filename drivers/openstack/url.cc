#include "drivers/openstack/url.h"

#include "util/url.h"

namespace magnumd::drivers::openstack {

std::string encodeSegment(std::string_view segment) { return util::percentEncode(segment); }

std::string encodeQuery(const QueryParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    out.push_back(out.empty() ? '?' : '&');
    out += util::percentEncode(key);
    out.push_back('=');
    // Commas separate tag lists and colons appear in times; both are legal in a query.
    out += util::percentEncodeQueryValue(value);
  }
  return out;
}

}  // namespace magnumd::drivers::openstack
