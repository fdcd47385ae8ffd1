#include "drivers/openstack/nova.h"

#include <fmt/format.h>

#include <set>

#include "drivers/openstack/errors.h"
#include "drivers/openstack/url.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {

using util::Json;
constexpr char kService[] = "compute";

namespace {

std::string text(const Json& v, std::string_view key) { return util::stringMember(v, key).value_or(""); }

std::optional<util::SystemTime> timeOf(const Json& v, std::string_view key) {
  auto s = util::stringMember(v, key);
  if (!s || s->empty()) return std::nullopt;
  return util::parseRfc3339(*s);
}

void parseAddresses(const Json& v, Server& s) {
  const Json* addresses = util::member(v, "addresses");
  if (addresses == nullptr || !addresses->IsObject()) return;
  for (auto net = addresses->MemberBegin(); net != addresses->MemberEnd(); ++net) {
    if (!net->value.IsArray()) continue;
    for (const auto& a : net->value.GetArray()) {
      if (!a.IsObject()) continue;
      ServerAddress address{net->name.GetString(), text(a, "addr"),
                            static_cast<int>(util::intMember(a, "version").value_or(4)),
                            text(a, "OS-EXT-IPS:type")};
      if (!address.addr.empty()) s.addresses.push_back(std::move(address));
    }
  }
}

void parseFault(const Json& v, Server& s) {
  const Json* fault = util::member(v, "fault");
  if (fault == nullptr || !fault->IsObject()) return;
  s.fault = ServerFault{static_cast<int>(util::intMember(*fault, "code").value_or(0)),
                        text(*fault, "message"), text(*fault, "details")};
}

// Outside the coroutine on purpose (GCC 12 and temporaries in coroutine bodies).
std::string serversQuery(const ServerQuery& query, int page_size, const std::string& marker) {
  QueryParams q;
  if (query.changes_since) q.emplace_back("changes-since", util::formatRfc3339(*query.changes_since));
  if (!query.tags.empty()) q.emplace_back("tags", fmt::format("{}", fmt::join(query.tags, ",")));
  q.emplace_back("limit", std::to_string(page_size));
  if (!marker.empty()) q.emplace_back("marker", marker);
  return encodeQuery(q);
}

}  // namespace

util::Result<Server> parseServer(const Json& v) {
  if (!v.IsObject()) return malformedResponse("nova server", fmt::format("expected an object, got {}", util::typeName(v)));
  Server s;
  s.id = text(v, "id");
  if (s.id.empty()) return malformedResponse("nova server", "server has no \"id\"");
  s.name = text(v, "name");
  s.status = text(v, "status");
  s.task_state = text(v, "OS-EXT-STS:task_state");
  s.vm_state = text(v, "OS-EXT-STS:vm_state");
  parseAddresses(v, s);
  if (const Json* metadata = util::member(v, "metadata"); metadata && metadata->IsObject()) {
    for (auto it = metadata->MemberBegin(); it != metadata->MemberEnd(); ++it) {
      if (it->value.IsString()) s.metadata.emplace(it->name.GetString(), it->value.GetString());
    }
  }
  if (const Json* tags = util::member(v, "tags"); tags && tags->IsArray()) {
    for (const auto& t : tags->GetArray()) {
      if (t.IsString()) s.tags.emplace_back(t.GetString(), t.GetStringLength());
    }
  }
  if (const Json* image = util::member(v, "image"); image && image->IsObject()) s.image_id = text(*image, "id");
  if (const Json* flavor = util::member(v, "flavor"); flavor && flavor->IsObject()) {
    s.flavor = text(*flavor, "id");
    if (s.flavor.empty()) s.flavor = text(*flavor, "original_name");  // 2.47+
  }
  parseFault(v, s);
  s.created = timeOf(v, "created");
  s.updated = timeOf(v, "updated");
  return s;
}

util::Result<Server> parseServerShowResponse(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse("nova server show", doc.error().message);
  const Json* server = util::member(*doc, "server");
  if (server == nullptr) return malformedResponse("nova server show", "no \"server\" object");
  return parseServer(*server);
}

util::Result<Page<Server>> parseServerListResponse(std::string_view body) {
  constexpr std::string_view what = "nova server list";
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse(what, doc.error().message);
  const Json* servers = util::member(*doc, "servers");
  if (servers == nullptr || !servers->IsArray()) return malformedResponse(what, "\"servers\" must be an array");
  Page<Server> page;
  for (const auto& item : servers->GetArray()) {
    auto s = parseServer(item);
    if (!s.ok()) return s.takeError();
    page.items.push_back(std::move(s.value()));
  }
  if (const Json* links = util::member(*doc, "servers_links"); links && links->IsArray()) {
    for (const auto& link : links->GetArray()) {
      if (link.IsObject() && text(link, "rel") == "next") page.next_marker = markerFromLink(text(link, "href"));
    }
  }
  return page;
}

NovaClient::NovaClient(Session& session, NovaOptions options) : session_(session), options_(std::move(options)) {}

std::vector<http::Header> NovaClient::versionHeaders() const {
  return {{"OpenStack-API-Version", "compute " + options_.microversion},
          {"X-OpenStack-Nova-API-Version", options_.microversion}};
}

Task<std::vector<Server>> NovaClient::list(ServerQuery query) {
  std::vector<Server> out;
  std::set<std::string> seen_markers;
  std::string marker;
  for (int page = 0; page < options_.max_pages; ++page) {
    // The next link is not followed verbatim: behind proxies its host is often wrong, and the
    // marker is all it carries that we need.
    const std::string path = "/servers/detail" + serversQuery(query, options_.page_size, marker);
    CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path, std::string(),
                                                            versionHeaders()));
    if (res.status != 200) co_return errorFromResponse(res, "listing servers");
    CO_ASSIGN_OR_RETURN(auto parsed, parseServerListResponse(res.body));
    for (auto& s : parsed.items) out.push_back(std::move(s));
    marker = parsed.next_marker;
    if (marker.empty() || parsed.items.empty()) co_return out;
    if (!seen_markers.insert(marker).second) {
      co_return malformedResponse("nova server list", fmt::format("pagination repeats marker {}", marker));
    }
  }
  co_return malformedResponse("nova server list", fmt::format("more than {} pages", options_.max_pages));
}

Task<Page<Server>> NovaClient::listPage(ServerQuery query, PageRequest page) {
  const int limit = page.limit > 0 ? page.limit : options_.page_size;
  const std::string path = "/servers/detail" + serversQuery(query, limit, page.marker);
  CO_ASSIGN_OR_RETURN(
      auto res, co_await session_.request(kService, "GET", path, std::string(), versionHeaders()));
  if (res.status != 200) co_return errorFromResponse(res, "listing servers");
  CO_ASSIGN_OR_RETURN(auto parsed, parseServerListResponse(res.body));
  if (parsed.items.empty()) parsed.next_marker.clear();
  if (!page.marker.empty() && parsed.next_marker == page.marker) {
    co_return malformedResponse("nova server list", fmt::format("pagination repeats marker {}", page.marker));
  }
  co_return std::move(parsed);
}

Task<Server> NovaClient::get(std::string id) {
  CO_ASSIGN_OR_RETURN(auto res,
                      co_await session_.request(kService, "GET", "/servers/" + encodeSegment(id),
                                                std::string(), versionHeaders()));
  if (res.status != 200) co_return errorFromResponse(res, fmt::format("reading server {}", id));
  co_return parseServerShowResponse(res.body);
}

StatusTask NovaClient::remove(std::string id) {
  CO_ASSIGN_OR_RETURN(auto res,
                      co_await session_.request(kService, "DELETE", "/servers/" + encodeSegment(id),
                                                std::string(), versionHeaders()));
  if (res.status / 100 != 2)
    co_return errorFromResponse(res, fmt::format("deleting server {}", id));
  co_return util::Status();
}

}  // namespace magnumd::drivers::openstack
