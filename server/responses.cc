#include "server/request_context.h"

#include <fmt/format.h>

#include "server/object_json.h"

namespace magnumd::server {

namespace http = net::http;

namespace {

net::Response makeResponse(http::status status, std::string body, Format format) {
  net::Response res{status, 11};
  res.set(http::field::content_type, contentTypeOf(format));
  res.set(http::field::cache_control, "no-cache, private");
  res.body() = std::move(body);
  return res;
}

}  // namespace

net::Response jsonResponse(const RequestContext& ctx, http::status status, const util::Json& body) {
  return makeResponse(status, render(body, ctx.format, ctx.pretty), ctx.format);
}

net::Response objectResponse(const RequestContext& ctx, http::status status,
                             const api::Object& object) {
  if (ctx.format == Format::Json && !ctx.pretty) {
    return makeResponse(status, objectJson(object), Format::Json);
  }
  util::JsonDoc doc;
  api::encodeObject(object, doc, doc.GetAllocator());
  return jsonResponse(ctx, status, doc);
}

net::Response statusResponse(const util::Error& error, Format format, const StatusDetails& details) {
  util::JsonDoc doc;
  encodeFailureStatus(error, details, doc, doc.GetAllocator());
  auto res = makeResponse(static_cast<http::status>(util::httpCodeOf(error.code)),
                          render(doc, format), format);
  if (error.code == util::ErrorCode::Unauthorized) {
    res.set(http::field::www_authenticate, "Bearer realm=\"magnumd\"");
  }
  return res;
}

net::Response errorResponse(const RequestContext& ctx, const util::Error& error) {
  return statusResponse(error, ctx.format, ctx.details());
}

std::string objectRef(api::Kind kind, std::string_view name) {
  return fmt::format("{} \"{}\"", api::kindInfo(kind).plural, name);
}

std::string objectRef(const ResourcePath& path) { return objectRef(path.kind, path.name); }

}  // namespace magnumd::server
