#include "drivers/openstack/heat.h"

#include <fmt/format.h>

#include <set>

#include "drivers/openstack/errors.h"
#include "drivers/openstack/heat_parse.h"
#include "drivers/openstack/url.h"

namespace magnumd::drivers::openstack {

namespace asio = boost::asio;
constexpr char kService[] = "orchestration";

namespace {

std::string describe(const StackRef& s) {
  return s.name.empty() ? fmt::format("stack {}", s.id)
                        : (s.id.empty() ? fmt::format("stack \"{}\"", s.name)
                                        : fmt::format("stack \"{}\" ({})", s.name, s.id));
}

// Query strings are built outside the coroutines: GCC 12 mishandles initializer lists and
// braced temporaries inside coroutine bodies (double destruction).
std::string stacksQuery(const StackFilter& filter, int page_size, const std::string& marker) {
  QueryParams q{{"limit", std::to_string(page_size)}};
  if (!filter.tags.empty()) q.emplace_back("tags", fmt::format("{}", fmt::join(filter.tags, ",")));
  for (const auto& status : filter.statuses) q.emplace_back("status", status);
  if (!marker.empty()) q.emplace_back("marker", marker);
  return encodeQuery(q);
}

std::string eventsQuery(const EventQuery& query, int page_size, const std::string& marker) {
  QueryParams q{{"sort_dir", "desc"}, {"limit", std::to_string(page_size)}};
  if (query.nested_depth > 0) q.emplace_back("nested_depth", std::to_string(query.nested_depth));
  if (!query.resource_status.empty()) q.emplace_back("resource_status", query.resource_status);
  if (!query.resource_name.empty()) q.emplace_back("resource_name", query.resource_name);
  if (!marker.empty()) q.emplace_back("marker", marker);
  return encodeQuery(q);
}

std::string resourcesQuery(int nested_depth) {
  if (nested_depth <= 0) return "";
  return encodeQuery({{"nested_depth", std::to_string(nested_depth)}});
}

}  // namespace

std::string stackPath(const StackRef& stack) {
  if (!stack.name.empty() && !stack.id.empty()) {
    return fmt::format("/stacks/{}/{}", encodeSegment(stack.name), encodeSegment(stack.id));
  }
  return fmt::format("/stacks/{}", encodeSegment(stack.name.empty() ? stack.id : stack.name));
}

HeatClient::HeatClient(Session& session, HeatOptions options) : session_(session), options_(options) {}

Task<StackRef> HeatClient::create(StackCreate request) {
  const std::string what = fmt::format("creating stack \"{}\"", request.name);
  CO_ASSIGN_OR_RETURN(
      auto res, co_await session_.request(kService, "POST", "/stacks", stackCreateBody(request)));
  if (res.status != 201 && res.status != 200 && res.status != 202)
    co_return errorFromResponse(res, what);
  auto ref = parseStackCreateResponse(res.body);
  if (ref.ok() && ref->name.empty()) ref->name = request.name;
  co_return ref;
}

StatusTask HeatClient::patch(StackRef stack, StackPatch patch) {
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "PATCH", stackPath(stack),
                                                          stackPatchBody(patch)));
  if (res.status / 100 != 2) co_return errorFromResponse(res, "updating " + describe(stack));
  co_return util::Status();
}

StatusTask HeatClient::remove(StackRef stack) {
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "DELETE", stackPath(stack)));
  if (res.status / 100 != 2) co_return errorFromResponse(res, "deleting " + describe(stack));
  co_return util::Status();
}

Task<Stack> HeatClient::get(StackRef stack, bool resolve_outputs) {
  std::string path = stackPath(stack);
  if (!resolve_outputs) path += "?resolve_outputs=false";
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path));
  if (res.status != 200) co_return errorFromResponse(res, "reading " + describe(stack));
  co_return parseStackShowResponse(res.body);
}

Task<std::vector<Stack>> HeatClient::list(StackFilter filter) {
  std::vector<Stack> out;
  std::set<std::string> seen_markers;
  std::string marker;
  for (int page = 0; page < options_.max_pages; ++page) {
    const std::string path = "/stacks" + stacksQuery(filter, options_.page_size, marker);
    CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path));
    if (res.status != 200) co_return errorFromResponse(res, "listing stacks");
    CO_ASSIGN_OR_RETURN(auto parsed, parseStackListResponse(res.body));
    for (auto& s : parsed.items) out.push_back(std::move(s));
    marker = parsed.next_marker;
    if (marker.empty() || parsed.items.empty()) co_return out;
    if (!seen_markers.insert(marker).second) {
      co_return malformedResponse("heat stack list", fmt::format("pagination repeats marker {}", marker));
    }
  }
  co_return malformedResponse("heat stack list", fmt::format("more than {} pages", options_.max_pages));
}

Task<Page<Stack>> HeatClient::listPage(StackFilter filter, PageRequest page) {
  const int limit = page.limit > 0 ? page.limit : options_.page_size;
  const std::string path = "/stacks" + stacksQuery(filter, limit, page.marker);
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path));
  if (res.status != 200) co_return errorFromResponse(res, "listing stacks");
  CO_ASSIGN_OR_RETURN(auto parsed, parseStackListResponse(res.body));
  if (parsed.items.empty()) parsed.next_marker.clear();
  if (!page.marker.empty() && parsed.next_marker == page.marker) {
    co_return malformedResponse("heat stack list", fmt::format("pagination repeats marker {}", page.marker));
  }
  co_return std::move(parsed);
}

Task<std::vector<StackResource>> HeatClient::resources(StackRef stack, int nested_depth) {
  const std::string path = stackPath(stack) + "/resources" + resourcesQuery(nested_depth);
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path));
  if (res.status != 200)
    co_return errorFromResponse(res, "listing resources of " + describe(stack));
  CO_ASSIGN_OR_RETURN(auto parsed, parseResourceListResponse(res.body));
  // Top-level resources carry no parent; their stack is the one we asked about.
  for (auto& r : parsed) {
    if (r.stack.id.empty()) r.stack = stack;
  }
  co_return std::move(parsed);
}

Task<std::vector<StackEvent>> HeatClient::events(StackRef stack, EventQuery query) {
  std::vector<StackEvent> out;
  std::string marker;
  std::set<std::string> seen_markers;
  for (int page = 0; page < options_.max_pages; ++page) {
    const std::string path = stackPath(stack) + "/events" + eventsQuery(query, options_.page_size, marker);
    CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path));
    if (res.status != 200) co_return errorFromResponse(res, "listing events of " + describe(stack));
    CO_ASSIGN_OR_RETURN(auto parsed, parseEventListResponse(res.body));
    for (auto& e : parsed.items) {
      if (out.size() < query.max_events) out.push_back(std::move(e));
    }
    marker = parsed.next_marker;
    if (marker.empty() || parsed.items.empty() || out.size() >= query.max_events ||
        !seen_markers.insert(marker).second) {
      co_return out;
    }
  }
  co_return out;
}

Task<StackOutput> HeatClient::output(StackRef stack, std::string key) {
  CO_ASSIGN_OR_RETURN(
      auto res, co_await session_.request(kService, "GET",
                                          stackPath(stack) + "/outputs/" + encodeSegment(key)));
  if (res.status != 200) {
    co_return errorFromResponse(res,
                                fmt::format("reading output \"{}\" of {}", key, describe(stack)));
  }
  co_return parseOutputShowResponse(res.body);
}

StatusTask HeatClient::markUnhealthy(StackRef owner, std::string resource_name, bool unhealthy,
                                     std::string reason) {
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(
                                    kService, "PATCH",
                                    stackPath(owner) + "/resources/" + encodeSegment(resource_name),
                                    markUnhealthyBody(unhealthy, reason)));
  if (res.status / 100 != 2) {
    co_return errorFromResponse(res, fmt::format("marking resource \"{}\" of {} unhealthy",
                                                 resource_name, describe(owner)));
  }
  co_return util::Status();
}

}  // namespace magnumd::drivers::openstack
