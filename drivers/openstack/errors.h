// OpenStack error responses as util::Error values carrying the cloud's own message.
#pragma once

#include <string>
#include <string_view>

#include "drivers/http/http_client.h"
#include "util/result.h"

namespace magnumd::drivers::openstack {

// HTTP status → ErrorCode: 400 BadRequest, 401 Unauthorized, 403 Forbidden, 404 NotFound,
// 409 Conflict, 413 TooLarge, 429 TooManyRequests, 500 Internal, 502/503 Unavailable,
// 504 Timeout.
util::ErrorCode errorCodeForStatus(int status);

// The human message inside any of the error bodies OpenStack services send:
// Keystone {"error":{"message"}}, Heat {"explanation","error":{"type","message"}},
// Nova {"itemNotFound":{"message"}}, webob {"message","title"}; plain text as is.
// Empty when the body says nothing useful.
std::string cloudMessage(std::string_view body);

// "<what>: <cloud message> (HTTP 404, request req-...)".
util::Error errorFromResponse(const http::HttpResponse& response, std::string_view what);

// A 2xx body that is not the JSON we expected.
util::Error malformedResponse(std::string_view what, std::string_view detail);

}  // namespace magnumd::drivers::openstack
