// Percent-encoding (RFC 3986), the one home for it: path segments and query values built by the
// CLI, the OpenStack driver and cloudsim's links, and the decoding cloudsim's router does.
// Encoding is Boost.URL's.
#pragma once

#include <string>
#include <string_view>

namespace magnumd::util {

// Every byte but the unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX: safe as a path
// segment and as a query key or value.
std::string percentEncode(std::string_view text);
// The same, keeping ',' and ':' (legal in a query, and in Heat's and Nova's tag lists and times).
std::string percentEncodeQueryValue(std::string_view text);
// %XX sequences become their byte (and '+' a space when `plus_is_space`, for query strings);
// a '%' not followed by two hex digits is kept as it is.
std::string percentDecode(std::string_view text, bool plus_is_space = false);

}  // namespace magnumd::util
