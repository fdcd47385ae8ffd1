// What every resource handler receives: the parsed path and query, who is asking, and how to
// answer (format). Built once per request by ApiServer.
#pragma once

#include <string>

#include "net/http_server.h"
#include "server/auth.h"
#include "server/codec.h"
#include "server/route.h"
#include "server/status.h"

namespace magnumd::server {

struct RequestContext {
  const net::Request& request;
  ResourcePath path;
  QueryParams query;
  Identity identity;
  Verb verb = Verb::Get;
  Format format = Format::Json;
  bool pretty = false;
  // GET, LIST and WATCH answer with a meta.k8s.io Table when the client asked for one.
  Conversion conversion = Conversion::None;

  StatusDetails details() const {
    return StatusDetails{path.name, std::string(api::kindInfo(path.kind).plural), {}};
  }
};

// Responses in the request's format.
net::Response jsonResponse(const RequestContext& ctx, net::http::status status, const util::Json& body);
net::Response objectResponse(const RequestContext& ctx, net::http::status status,
                             const api::Object& object);
net::Response errorResponse(const RequestContext& ctx, const util::Error& error);
// A Status response without a request context (transport errors, authentication failures).
net::Response statusResponse(const util::Error& error, Format format = Format::Json,
                             const StatusDetails& details = {});

// `clusters "prod"`, the way kube-apiserver names an object in messages.
std::string objectRef(const ResourcePath& path);
std::string objectRef(api::Kind kind, std::string_view name);

}  // namespace magnumd::server
