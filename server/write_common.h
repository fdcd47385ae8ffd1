// What the write handlers (resource_writes.cc, resource_apply.cc) share: the query parameters
// every write takes, request bodies decoded for the URL's object, the server's checks of
// metadata, and the field manager a write is recorded under.
#pragma once

#include <string>
#include <vector>

#include "api/object.h"
#include "server/request_context.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::server {

// Checks dryRun, fieldValidation and fieldManager; answers whether it is a dry run.
util::Result<bool> dryRunOf(const RequestContext& ctx);

// Decodes a request body into an object for the path, filling namespace (and name) from the
// URL and refusing contradictions.
util::Result<api::Object> decodeRequestObject(const RequestContext& ctx, const util::Json& doc);
util::Result<api::Object> decodeRequestBody(const RequestContext& ctx);

// metadata.uid as a precondition: Conflict when it is set and differs.
util::Status checkUid(const api::Object& current, const std::string& uid);
// The name is there, and metadata is valid for the kind.
util::Status admitMetadata(const api::Object& object);

// The manager a write is recorded under: ?fieldManager=, else the User-Agent's product name as
// kube-apiserver derives it ("kubectl"), else "unknown".
std::string managerOf(const RequestContext& ctx);
// Records a non-apply write of `next` over `live` (null: a create) in next's managedFields.
// `requested` are the managedFields the request body carried.
util::Status recordWrite(const RequestContext& ctx, const api::Object* live,
                         const std::vector<api::ManagedFieldsEntry>& requested, api::Object& next);
// A managedFields error in the request's terms (an Invalid names the object).
util::Error describeManagedFields(util::Error error, const RequestContext& ctx);

}  // namespace magnumd::server
