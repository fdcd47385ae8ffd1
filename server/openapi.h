// kube-apiserver's OpenAPI endpoints, which kubectl reads for `explain`, for client-side apply
// and to learn that the server validates fields itself (fieldValidation):
//   /openapi/v2                           Swagger 2.0 of every path and definition (JSON)
//   /openapi/v3                           {"paths":{"apis/container-infra/v1":
//                                           {"serverRelativeURL":"/openapi/v3/apis/container-infra/v1?hash=H"}}}
//   /openapi/v3/apis/container-infra/v1   OpenAPI 3.0 of the group-version (JSON); with ?hash=H it
//                                         is cacheable for good, a stale H redirects to the current
// The definitions are api/schema.h's; the paths are the REST API's (route.h). Both are static, so
// each document is rendered once and served from memory with an ETag (If-None-Match: 304).
#pragma once

#include <string>
#include <string_view>

#include "net/http_server.h"
#include "server/route.h"

namespace magnumd::server {

inline constexpr std::string_view kOpenApiV2Path = "/openapi/v2";
inline constexpr std::string_view kOpenApiV3Path = "/openapi/v3";
inline constexpr std::string_view kOpenApiGroupVersion = "apis/container-infra/v1";

bool isOpenApiPath(std::string_view path);

// The answer to a GET of an OpenAPI path: the document, 304, a 301 to the current hash, 404 for
// another group-version, or 406 when Accept allows no JSON (the protobuf forms are not served).
net::Response openApiResponse(const net::Request& request, std::string_view path,
                              const QueryParams& query);

struct OpenApiDocument {
  std::string json;
  std::string etag;  // SHA-512 of json, upper-case hex, as kube-apiserver computes it
};
const OpenApiDocument& openApiV2();
const OpenApiDocument& openApiV3Index();
const OpenApiDocument& openApiV3GroupVersion();

}  // namespace magnumd::server
