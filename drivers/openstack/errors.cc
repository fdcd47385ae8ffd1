#include "drivers/openstack/errors.h"

#include <fmt/format.h>

#include "util/json.h"

namespace magnumd::drivers::openstack {

using util::ErrorCode;

ErrorCode errorCodeForStatus(int status) {
  switch (status) {
    case 400: return ErrorCode::BadRequest;
    case 401: return ErrorCode::Unauthorized;
    case 403: return ErrorCode::Forbidden;
    case 404: return ErrorCode::NotFound;
    case 405: return ErrorCode::MethodNotAllowed;
    case 406: return ErrorCode::NotAcceptable;
    case 409: return ErrorCode::Conflict;
    case 410: return ErrorCode::NotFound;
    case 413: return ErrorCode::TooLarge;
    case 415: return ErrorCode::UnsupportedMediaType;
    case 429: return ErrorCode::TooManyRequests;
    case 502:
    case 503: return ErrorCode::Unavailable;
    case 504: return ErrorCode::Timeout;
    default: break;
  }
  if (status >= 500) return ErrorCode::Internal;
  return ErrorCode::BadRequest;
}

namespace {

std::string messageOf(const util::Json& object) {
  if (!object.IsObject()) return "";
  if (auto m = util::stringMember(object, "message"); m && !m->empty()) return *m;
  return "";
}

std::string firstLine(std::string_view text, size_t limit) {
  auto end = text.find('\n');
  std::string line(text.substr(0, std::min(end, limit)));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

std::string cloudMessage(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return firstLine(body, 300);
  const util::Json& root = doc.value();
  if (!root.IsObject()) return "";
  if (const auto* error = util::member(root, "error"); error != nullptr) {
    if (auto m = messageOf(*error); !m.empty()) return m;  // keystone and heat (safe errors)
  }
  if (auto e = util::stringMember(root, "explanation"); e && !e->empty()) return *e;  // heat
  if (auto m = messageOf(root); !m.empty()) return m;  // webob
  for (auto it = root.MemberBegin(); it != root.MemberEnd(); ++it) {  // nova: {"<kind>": {...}}
    if (auto m = messageOf(it->value); !m.empty()) return m;
  }
  if (auto t = util::stringMember(root, "title"); t) return *t;
  return "";
}

util::Error errorFromResponse(const http::HttpResponse& response, std::string_view what) {
  std::string message = cloudMessage(response.body);
  std::string id = response.requestId();
  std::string suffix = id.empty() ? fmt::format("HTTP {}", response.status)
                                  : fmt::format("HTTP {}, request {}", response.status, id);
  if (message.empty()) message = "no error message";
  return util::makeError(errorCodeForStatus(response.status),
                         fmt::format("{}: {} ({})", what, message, suffix));
}

util::Error malformedResponse(std::string_view what, std::string_view detail) {
  return util::makeError(ErrorCode::Internal,
                         fmt::format("{}: malformed response from the cloud: {}", what, detail));
}

}  // namespace magnumd::drivers::openstack
