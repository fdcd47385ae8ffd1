#include "cloudsim/api_util.h"

#include <fmt/format.h>

#include <cctype>

namespace magnumd::cloudsim {

Query::Query(std::string_view raw) : raw_(raw) {
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view item = raw.substr(start, end - start);
    if (!item.empty()) {
      size_t eq = item.find('=');
      items_.emplace_back(util::percentDecode(item.substr(0, eq), true),
                          eq == std::string_view::npos ? "" : util::percentDecode(item.substr(eq + 1), true));
    }
    start = end + 1;
  }
}

std::optional<std::string> Query::get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Query::all(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::string Call::header(std::string_view name) const {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return std::string(it->value());
}

Response jsonText(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

Response jsonReply(http::status status, const util::Json& body) { return jsonText(status, util::toJson(body)); }

Response emptyReply(http::status status) {
  Response res{status, 11};
  return res;
}

const char* titleOf(http::status status) {
  switch (status) {
    case http::status::bad_request: return "Bad Request";
    case http::status::unauthorized: return "Unauthorized";
    case http::status::forbidden: return "Forbidden";
    case http::status::not_found: return "Not Found";
    case http::status::method_not_allowed: return "Method Not Allowed";
    case http::status::not_acceptable: return "Not Acceptable";
    case http::status::conflict: return "Conflict";
    case http::status::payload_too_large: return "Request Entity Too Large";
    case http::status::request_header_fields_too_large: return "Request Header Fields Too Large";
    case http::status::unsupported_media_type: return "Unsupported Media Type";
    case http::status::too_many_requests: return "Too Many Requests";
    case http::status::service_unavailable: return "Service Unavailable";
    case http::status::gateway_timeout: return "Gateway Timeout";
    default: return "Internal Server Error";
  }
}

http::status statusOf(util::ErrorCode code) { return static_cast<http::status>(util::httpCodeOf(code)); }

Response keystoneError(http::status status, std::string_view message, std::string_view base) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  util::Json error(rapidjson::kObjectType);
  error.AddMember("code", static_cast<int>(status), a);
  error.AddMember("message", util::str(message, a), a);
  error.AddMember("title", util::str(titleOf(status), a), a);
  doc.AddMember("error", error, a);
  Response res = jsonReply(status, doc);
  if (status == http::status::unauthorized && !base.empty()) {
    res.set(http::field::www_authenticate, fmt::format("Keystone uri=\"{}/identity\"", base));
  }
  return res;
}

Response heatError(http::status status, std::string_view type, std::string_view message) {
  static const auto explanation = [](http::status s) {
    switch (s) {
      case http::status::not_found: return "The resource could not be found.";
      case http::status::bad_request: return "The server could not comply with the request since it is either malformed or otherwise incorrect.";
      case http::status::conflict: return "There was a conflict when trying to complete your request.";
      case http::status::forbidden: return "Access was denied to this resource.";
      case http::status::service_unavailable: return "The server is currently unavailable. Please try again at a later time.";
      default: return "The server has either erred or is incapable of performing the requested operation.";
    }
  };
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("code", static_cast<int>(status), a);
  doc.AddMember("title", util::str(titleOf(status), a), a);
  doc.AddMember("explanation", util::str(explanation(status), a), a);
  util::Json error(rapidjson::kObjectType);
  error.AddMember("type", util::str(type, a), a);
  error.AddMember("message", util::str(message, a), a);
  error.AddMember("traceback", util::Json(), a);
  doc.AddMember("error", error, a);
  return jsonReply(status, doc);
}

Response novaError(http::status status, std::string_view message) {
  const char* root = "computeFault";
  switch (status) {
    case http::status::bad_request: root = "badRequest"; break;
    case http::status::unauthorized: root = "unauthorized"; break;
    case http::status::forbidden: root = "forbidden"; break;
    case http::status::not_found: root = "itemNotFound"; break;
    case http::status::method_not_allowed: root = "badMethod"; break;
    case http::status::conflict: root = "conflictingRequest"; break;
    case http::status::payload_too_large:
    case http::status::too_many_requests: root = "overLimit"; break;
    case http::status::unsupported_media_type: root = "badMediaType"; break;
    case http::status::not_implemented: root = "notImplemented"; break;
    case http::status::service_unavailable: root = "serviceUnavailable"; break;
    default: break;
  }
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  util::Json inner(rapidjson::kObjectType);
  inner.AddMember("code", static_cast<int>(status), a);
  inner.AddMember("message", util::str(message, a), a);
  doc.AddMember(util::str(root, a), inner, a);
  return jsonReply(status, doc);
}

util::Result<util::JsonDoc> parseBody(const Call& call) {
  const std::string& body = call.req.body();
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    util::JsonDoc doc;
    doc.SetObject();
    return doc;
  }
  return util::parseJson(body);
}

}  // namespace magnumd::cloudsim
