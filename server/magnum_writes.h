// What Magnum's write handlers share (magnum_api_writes.cc: creates, deletes and cluster actions;
// magnum_api_patch.cc: JSON Patch): the request body, Magnum's 202 answer, the merge patch a
// write becomes, and a cluster's reference to its template.
#pragma once

#include <string>
#include <string_view>

#include "api/object.h"
#include "net/http_server.h"
#include "server/magnum_call.h"
#include "util/json.h"

namespace magnumd::server::magnum {

inline constexpr Microversion kZeroNodes{1, 10};  // node_count and node groups of 0 nodes

// The request body as JSON; BadRequest naming what is wrong.
util::Result<util::JsonDoc> parseBody(const Call& call);
// Magnum's 202 with {"uuid": uid}.
net::Response accepted(const std::string& uid);
// {"<section>": members}, the /apis merge patch a Magnum write becomes.
std::string mergePatch(std::string_view section, const util::Json& members);
// Where a cluster refers to a template: its name in the cluster's namespace, else ns/name.
std::string templateRef(const api::Object& tmpl, const std::string& namespace_);

}  // namespace magnumd::server::magnum
