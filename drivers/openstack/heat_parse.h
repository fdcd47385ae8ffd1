// Heat v1 wire format: request bodies and response parsers. Parsers ignore unknown fields and
// turn malformed JSON into an Error naming what was wrong, never a crash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/cloud_driver.h"
#include "util/result.h"

namespace magnumd::drivers::openstack {

std::string stackCreateBody(const StackCreate& request);
std::string stackPatchBody(const StackPatch& patch);
std::string markUnhealthyBody(bool unhealthy, std::string_view reason);

util::Result<StackRef> parseStackCreateResponse(std::string_view body);
util::Result<Stack> parseStackShowResponse(std::string_view body);
util::Result<Page<Stack>> parseStackListResponse(std::string_view body);
util::Result<std::vector<StackResource>> parseResourceListResponse(std::string_view body);
util::Result<StackResource> parseResourceShowResponse(std::string_view body);
util::Result<Page<StackEvent>> parseEventListResponse(std::string_view body);
util::Result<StackEvent> parseEventShowResponse(std::string_view body);
util::Result<StackOutput> parseOutputShowResponse(std::string_view body);

// The stack a ".../stacks/{name}/{id}[/...]" link points at; nullopt when it is not such a link.
std::optional<StackRef> stackRefFromLink(std::string_view href);
// The `marker` query parameter of a pagination link, "" when absent.
std::string markerFromLink(std::string_view href);

}  // namespace magnumd::drivers::openstack
