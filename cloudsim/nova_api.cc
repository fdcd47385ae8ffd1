// Nova v2.1 over HTTP: servers (list, detail, show, delete, actions, metadata, tags) and flavors,
// with microversion negotiation; key pairs in keypair_api.cc.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <regex>
#include <set>

#include "cloudsim/sim.h"
#include "pki/encoding.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

constexpr int kMaxMinor = 96;

struct NovaCall {
  Sim& sim;
  Call& call;
  int mv = 1;  // microversion minor (2.mv)
  NovaStore& nova() { return sim.nova(); }
  const std::string& base() const { return call.base; }
  const Interner& s() const { return sim.strings(); }
};

Json links(JsonAlloc& a, const std::string& self, const std::string& bookmark) {
  Json list(rapidjson::kArrayType);
  for (auto [href, rel] : {std::pair{self, "self"}, std::pair{bookmark, "bookmark"}}) {
    if (href.empty()) continue;
    Json l(rapidjson::kObjectType);
    l.AddMember("href", util::str(href, a), a);
    l.AddMember("rel", util::str(rel, a), a);
    list.PushBack(l, a);
  }
  return list;
}

const char* vmStateName(const Server& s) {
  switch (s.vm) {
    case VmState::Building: return "building";
    case VmState::Active: return "active";
    case VmState::Stopped: return "stopped";
    case VmState::Error: return "error";
    case VmState::Deleted: return "deleted";
  }
  return "active";
}

Json taskState(const Server& s) {
  switch (s.task) {
    case TaskState::Spawning: return Json("spawning");
    case TaskState::Rebooting: return Json("rebooting");
    case TaskState::RebootingHard: return Json("rebooting_hard");
    case TaskState::Deleting: return Json("deleting");
    case TaskState::None: break;
  }
  return Json();
}

Json metadataJson(NovaCall& nc, const Server& s, JsonAlloc& a) {
  Json md(rapidjson::kObjectType);
  for (const auto& [k, v] : s.metadata) md.AddMember(util::str(nc.s().get(k), a), util::str(nc.s().get(v), a), a);
  return md;
}

Json tagsJson(NovaCall& nc, const Server& s, JsonAlloc& a) {
  Json tags(rapidjson::kArrayType);
  for (uint32_t t : s.tags) tags.PushBack(util::str(nc.s().get(t), a), a);
  return tags;
}

Json serverJson(NovaCall& nc, const Server& s, JsonAlloc& a, bool detail) {
  Json j(rapidjson::kObjectType);
  const std::string& base = nc.base();
  j.AddMember("id", util::str(s.id, a), a);
  j.AddMember("name", util::str(s.name, a), a);
  j.AddMember("links", links(a, base + "/compute/v2.1/servers/" + s.id, base + "/compute/servers/" + s.id), a);
  if (!detail) return j;
  j.AddMember("status", util::str(statusOf(s), a), a);
  j.AddMember("tenant_id", util::str(nc.s().get(s.project), a), a);
  j.AddMember("user_id", util::str(nc.s().get(s.user), a), a);
  j.AddMember("metadata", metadataJson(nc, s, a), a);
  std::string host = stableHexId("host", nc.s().get(s.project)) + stableHexId("host2", nc.s().get(s.project));
  j.AddMember("hostId", util::str(host.substr(0, 56), a), a);
  std::string image = imageId(nc.s().get(s.image));
  if (image.empty()) {
    j.AddMember("image", "", a);
  } else {
    Json img(rapidjson::kObjectType);
    img.AddMember("id", util::str(image, a), a);
    img.AddMember("links", links(a, "", base + "/compute/images/" + image), a);
    j.AddMember("image", img, a);
  }
  const Flavor& f = nc.nova().flavor(s.flavor);
  Json flavor(rapidjson::kObjectType);
  if (nc.mv >= 47) {
    flavor.AddMember("vcpus", f.vcpus, a);
    flavor.AddMember("ram", f.ram, a);
    flavor.AddMember("disk", f.disk, a);
    flavor.AddMember("ephemeral", 0, a);
    flavor.AddMember("swap", 0, a);
    flavor.AddMember("original_name", util::str(f.name, a), a);
    flavor.AddMember("extra_specs", Json(rapidjson::kObjectType), a);
  } else {
    flavor.AddMember("id", util::str(f.id, a), a);
    flavor.AddMember("links", links(a, "", base + "/compute/flavors/" + f.id), a);
  }
  j.AddMember("flavor", flavor, a);
  j.AddMember("created", util::str(formatSeconds(s.created), a), a);
  j.AddMember("updated", util::str(formatSeconds(s.updated), a), a);
  Json addresses(rapidjson::kObjectType);
  if (s.vm != VmState::Building && s.vm != VmState::Deleted) {
    for (size_t i = 0; i < s.networks.size(); ++i) {
      Json addr(rapidjson::kObjectType);
      addr.AddMember("version", 4, a);
      addr.AddMember("addr", util::str(nc.nova().address(s, i), a), a);
      addr.AddMember("OS-EXT-IPS:type", "fixed", a);
      addr.AddMember("OS-EXT-IPS-MAC:mac_addr", util::str(nc.nova().macAddress(s, i), a), a);
      Json list(rapidjson::kArrayType);
      list.PushBack(addr, a);
      if (std::string floating = nc.nova().floatingAddress(s, i); !floating.empty()) {
        Json fip(rapidjson::kObjectType);
        fip.AddMember("version", 4, a);
        fip.AddMember("addr", util::str(floating, a), a);
        fip.AddMember("OS-EXT-IPS:type", "floating", a);
        fip.AddMember("OS-EXT-IPS-MAC:mac_addr", util::str(nc.nova().macAddress(s, i), a), a);
        list.PushBack(fip, a);
      }
      addresses.AddMember(util::str(nc.s().get(s.networks[i]), a), list, a);
    }
  }
  j.AddMember("addresses", addresses, a);
  j.AddMember("accessIPv4", "", a);
  j.AddMember("accessIPv6", "", a);
  j.AddMember("key_name", s.key_name == 0 ? Json() : util::str(nc.s().get(s.key_name), a), a);
  j.AddMember("progress", 0, a);
  j.AddMember("config_drive", "", a);
  j.AddMember("OS-DCF:diskConfig", "MANUAL", a);
  j.AddMember("OS-EXT-AZ:availability_zone", "nova", a);
  int power = s.vm == VmState::Active ? 1 : s.vm == VmState::Stopped ? 4 : 0;
  j.AddMember("OS-EXT-STS:power_state", power, a);
  j.AddMember("OS-EXT-STS:task_state", taskState(s), a);
  j.AddMember("OS-EXT-STS:vm_state", util::str(vmStateName(s), a), a);
  j.AddMember("OS-SRV-USG:launched_at", s.launched == SystemTime{} ? Json() : util::str(formatMicros(s.launched, false), a), a);
  j.AddMember("OS-SRV-USG:terminated_at", s.vm == VmState::Deleted ? util::str(formatMicros(s.deleted, false), a) : Json(), a);
  j.AddMember("os-extended-volumes:volumes_attached", Json(rapidjson::kArrayType), a);
  Json groups(rapidjson::kArrayType);
  Json def(rapidjson::kObjectType);
  def.AddMember("name", "default", a);
  groups.PushBack(def, a);
  j.AddMember("security_groups", groups, a);
  if (nc.mv >= 9) j.AddMember("locked", false, a);
  if (nc.mv >= 19) j.AddMember("description", Json(), a);
  if (nc.mv >= 26) j.AddMember("tags", tagsJson(nc, s, a), a);
  if (nc.call.token != nullptr && nc.sim.identity().isAdmin(*nc.call.token)) {
    // Extended server attributes, admin-only by Nova's default policy: host, hypervisor and
    // instance name from 2.1, the rest from 2.3; user_data as it was given to Nova (base64).
    j.AddMember("OS-EXT-SRV-ATTR:host", "cloudsim", a);
    j.AddMember("OS-EXT-SRV-ATTR:hypervisor_hostname", "cloudsim", a);
    j.AddMember("OS-EXT-SRV-ATTR:instance_name",
                util::str(fmt::format("instance-{:08x}", s.seq + 1), a), a);
    if (nc.mv >= 3) {
      j.AddMember("OS-EXT-SRV-ATTR:hostname", util::str(s.name, a), a);
      j.AddMember("OS-EXT-SRV-ATTR:kernel_id", "", a);
      j.AddMember("OS-EXT-SRV-ATTR:launch_index", 0, a);
      j.AddMember("OS-EXT-SRV-ATTR:ramdisk_id", "", a);
      j.AddMember("OS-EXT-SRV-ATTR:reservation_id",
                  util::str(fmt::format("r-{:08x}", s.seq + 1), a), a);
      j.AddMember("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda", a);
      std::span<const unsigned char> raw(
          reinterpret_cast<const unsigned char*>(s.user_data.data()), s.user_data.size());
      j.AddMember("OS-EXT-SRV-ATTR:user_data",
                  s.user_data.empty() ? Json() : util::str(pki::base64Encode(raw), a), a);
    }
  }
  if (s.vm == VmState::Error || s.vm == VmState::Deleted) {
    Json fault(rapidjson::kObjectType);
    fault.AddMember("code", 500, a);
    fault.AddMember("created", util::str(formatSeconds(s.updated), a), a);
    fault.AddMember("message", util::str(s.fault ? nc.s().get(s.fault) : std::string("deleted"), a), a);
    if (s.vm == VmState::Error) j.AddMember("fault", fault, a);
  }
  return j;
}

Response reply(NovaCall& nc, http::status status, const Json& body) {
  Response res = jsonReply(status, body);
  std::string v = fmt::format("2.{}", nc.mv);
  res.set("OpenStack-API-Version", "compute " + v);
  res.set("X-OpenStack-Nova-API-Version", v);
  res.set(http::field::vary, "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
  return res;
}

Response bad(std::string_view msg) { return novaError(http::status::bad_request, msg); }

bool hasAllTags(NovaCall& nc, const Server& s, const std::vector<std::string>& tags, bool any) {
  if (tags.empty()) return true;
  for (const auto& t : tags) {
    bool found = std::any_of(s.tags.begin(), s.tags.end(), [&](uint32_t x) { return nc.s().get(x) == t; });
    if (any && found) return true;
    if (!any && !found) return false;
  }
  return !any;
}

std::vector<std::string> tagList(const Query& q, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& v : q.all(key)) for (auto& t : splitComma(v)) out.push_back(t);
  return out;
}

Response listServers(NovaCall& nc, bool detail) {
  const Query& q = nc.call.query;
  NovaStore& nova = nc.nova();
  int limit = nc.sim.config().nova_max_limit;
  if (auto l = q.get("limit")) {
    char* end = nullptr;
    long v = std::strtol(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || v < 0) return bad(fmt::format("Invalid input for query parameters limit. Value: {}. '{}' does not match '^[0-9]*$'", *l, *l));
    limit = static_cast<int>(std::min<long>(v, limit));
  }
  std::optional<SystemTime> since, before;
  for (auto [key, target] : {std::pair{"changes-since", &since}, std::pair{"changes-before", &before}}) {
    if (auto v = q.get(key)) {
      *target = util::parseRfc3339(*v);
      if (!*target) return bad(fmt::format("Invalid input for query parameters {}. Value: {}. '{}' is not a 'date-time'", key, *v, *v));
    }
  }
  std::optional<std::regex> name;
  if (auto n = q.get("name")) {
    if (n->size() > 255) return bad("Invalid input for query parameters name: longer than 255 characters");
    try {
      name.emplace(*n, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error&) {
      return bad(fmt::format("Invalid input for query parameters name: \"{}\" is not a valid regular expression", *n));
    }
  }
  std::vector<std::string> statuses;
  for (auto& s : q.all("status")) {
    std::string up = s;
    std::transform(up.begin(), up.end(), up.begin(), ::toupper);
    static const std::set<std::string> kKnown = {"ACTIVE", "BUILD", "ERROR", "SHUTOFF", "REBOOT", "HARD_REBOOT", "DELETED"};
    if (kKnown.count(up) == 0) {
      if (nc.mv >= 38) return bad(fmt::format("Invalid status value: {}", s));
      util::JsonDoc empty;
      empty.Parse(R"({"servers":[]})");
      return reply(nc, http::status::ok, empty);
    }
    statuses.push_back(up);
  }
  auto tags = tagList(q, "tags"), tags_any = tagList(q, "tags-any");
  auto not_tags = tagList(q, "not-tags"), not_tags_any = tagList(q, "not-tags-any");
  bool all_projects = nc.sim.identity().isAdmin(*nc.call.token) &&
                      (q.get("all_tenants").value_or("0") != "0" && q.get("all_tenants").value_or("") != "false");
  uint32_t project = nc.sim.strings().intern(nc.sim.identity().project(nc.call.token->project).id);
  bool with_deleted = since || before;

  size_t start = nova.slots();
  if (auto marker = q.get("marker")) {
    auto slot = nova.find(*marker);
    if (!slot || (!all_projects && nova.at(*slot).project != project)) return bad(fmt::format("marker [{}] not found", *marker));
    start = *slot;
  }
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json list(rapidjson::kArrayType);
  int count = 0;
  std::string last;
  for (size_t i = start; i-- > 0 && count < limit;) {
    const Server& s = nova.at(static_cast<uint32_t>(i));
    if (s.purged || (!all_projects && s.project != project)) continue;
    if (s.vm == VmState::Deleted && !with_deleted) continue;
    if (since && s.updated < *since) continue;
    if (before && s.updated > *before) continue;
    if (name && !std::regex_search(s.name, *name)) continue;
    if (!statuses.empty() && std::find(statuses.begin(), statuses.end(), statusOf(s)) == statuses.end()) continue;
    if (!hasAllTags(nc, s, tags, false) || !hasAllTags(nc, s, tags_any, true)) continue;
    if (!not_tags.empty() && hasAllTags(nc, s, not_tags, false)) continue;
    if (!not_tags_any.empty() && hasAllTags(nc, s, not_tags_any, true)) continue;
    list.PushBack(serverJson(nc, s, a, detail), a);
    last = s.id;
    ++count;
  }
  doc.AddMember("servers", list, a);
  if (count == limit && count > 0) {
    std::string href = nc.base() + "/compute/v2.1/servers" + (detail ? "/detail" : "") + "?";
    for (const auto& [k, v] : q.items()) {
      if (k == "marker" || k == "limit") continue;
      href += util::percentEncodeQueryValue(k) + "=" + util::percentEncodeQueryValue(v) + "&";
    }
    href += fmt::format("limit={}&marker={}", limit, last);
    Json links(rapidjson::kArrayType), next(rapidjson::kObjectType);
    next.AddMember("href", util::str(href, a), a);
    next.AddMember("rel", "next", a);
    links.PushBack(next, a);
    doc.AddMember("servers_links", links, a);
  }
  return reply(nc, http::status::ok, doc);
}

Response serverAction(NovaCall& nc, uint32_t slot) {
  auto body = parseBody(nc.call);
  if (!body.ok()) return bad(body.error().message);
  if (!body->IsObject() || body->MemberCount() != 1) return bad("Action body must be an object with exactly one action");
  std::string action(body->MemberBegin()->name.GetString());
  util::Status status;
  if (action == "reboot") {
    auto type = util::stringMember(body->MemberBegin()->value, "type").value_or("");
    if (type != "SOFT" && type != "HARD") return bad(fmt::format("Invalid input for field/attribute type. Value: {}. '{}' is not one of ['HARD', 'Hard', 'SOFT', 'Soft']", type, type));
    status = nc.nova().reboot(slot, type == "HARD");
  } else if (action == "os-start" || action == "os-stop") {
    status = nc.nova().startStop(slot, action == "os-start");
  } else {
    return bad(fmt::format("There is no such action: {}", action));
  }
  if (!status.ok()) return novaError(statusOf(status.error().code), status.error().message);
  Response res = emptyReply(http::status::accepted);
  return res;
}

Response metadataRoutes(NovaCall& nc, uint32_t slot) {
  Server& s = nc.nova().mutableAt(slot);
  const auto& seg = nc.call.seg;
  Interner& strings = nc.sim.strings();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  auto setKey = [&](const std::string& k, const std::string& v) {
    uint32_t key = strings.intern(k), value = strings.intern(v);
    for (auto& kv : s.metadata) {
      if (kv.first == key) { kv.second = value; return; }
    }
    s.metadata.emplace_back(key, value);
  };
  if (seg.size() == 4) {  // servers/{id}/metadata
    if (nc.call.method == "POST" || nc.call.method == "PUT") {
      auto body = parseBody(nc.call);
      const Json* md = body.ok() ? util::member(*body, "metadata") : nullptr;
      if (md == nullptr || !md->IsObject()) return bad("Malformed request body: \"metadata\" must be an object");
      for (const auto& m : md->GetObject()) {
        if (!m.value.IsString() || m.name.GetStringLength() + m.value.GetStringLength() > 255) return bad("Metadata keys and values are strings of at most 255 characters together");
      }
      if (nc.call.method == "PUT") s.metadata.clear();
      for (const auto& m : md->GetObject()) setKey(m.name.GetString(), m.value.GetString());
      nc.nova().touch(s);
    } else if (nc.call.method != "GET") {
      return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
    }
    doc.AddMember("metadata", metadataJson(nc, s, a), a);
    return reply(nc, http::status::ok, doc);
  }
  const std::string& key = seg[4];
  uint32_t k = strings.intern(key);
  auto it = std::find_if(s.metadata.begin(), s.metadata.end(), [&](const auto& kv) { return kv.first == k; });
  if (nc.call.method == "GET") {
    if (it == s.metadata.end()) return novaError(http::status::not_found, "Metadata item was not found");
    Json meta(rapidjson::kObjectType);
    meta.AddMember(util::str(key, a), util::str(strings.get(it->second), a), a);
    doc.AddMember("meta", meta, a);
    return reply(nc, http::status::ok, doc);
  }
  if (nc.call.method == "DELETE") {
    if (it == s.metadata.end()) return novaError(http::status::not_found, "Metadata item was not found");
    s.metadata.erase(it);
    nc.nova().touch(s);
    return emptyReply(http::status::no_content);
  }
  if (nc.call.method == "PUT") {
    auto body = parseBody(nc.call);
    const Json* meta = body.ok() ? util::member(*body, "meta") : nullptr;
    const Json* value = meta && meta->IsObject() ? util::member(*meta, key) : nullptr;
    if (value == nullptr || !value->IsString() || meta->MemberCount() != 1) return bad("Request body and URI mismatch");
    setKey(key, value->GetString());
    nc.nova().touch(s);
    Json m(rapidjson::kObjectType);
    m.AddMember(util::str(key, a), Json(*value, a), a);
    doc.AddMember("meta", m, a);
    return reply(nc, http::status::ok, doc);
  }
  return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
}

Response tagRoutes(NovaCall& nc, uint32_t slot) {
  Server& s = nc.nova().mutableAt(slot);
  const auto& seg = nc.call.seg;
  Interner& strings = nc.sim.strings();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  auto valid = [](const std::string& t) { return !t.empty() && t.size() <= 60 && t.find_first_of("/,") == std::string::npos; };
  if (seg.size() == 4) {
    if (nc.call.method == "PUT") {
      auto body = parseBody(nc.call);
      const Json* tags = body.ok() ? util::member(*body, "tags") : nullptr;
      if (tags == nullptr || !tags->IsArray() || tags->Size() > 50) return bad("\"tags\" must be a list of at most 50 tags");
      std::vector<uint32_t> next;
      for (const auto& t : tags->GetArray()) {
        if (!t.IsString() || !valid(t.GetString())) return bad("Tags are strings of 1-60 characters without '/' or ','");
        next.push_back(strings.intern(t.GetString()));
      }
      s.tags = std::move(next);
      nc.nova().touch(s);
    } else if (nc.call.method == "DELETE") {
      s.tags.clear();
      nc.nova().touch(s);
      return emptyReply(http::status::no_content);
    } else if (nc.call.method != "GET") {
      return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
    }
    doc.AddMember("tags", tagsJson(nc, s, a), a);
    return reply(nc, http::status::ok, doc);
  }
  const std::string& tag = seg[4];
  uint32_t t = strings.intern(tag);
  auto it = std::find(s.tags.begin(), s.tags.end(), t);
  if (nc.call.method == "GET") {
    if (it == s.tags.end()) return novaError(http::status::not_found, fmt::format("Tag '{}' could not be found.", tag));
    return emptyReply(http::status::no_content);
  }
  if (nc.call.method == "PUT") {
    if (!valid(tag)) return bad("Tags are strings of 1-60 characters without '/' or ','");
    if (it != s.tags.end()) return emptyReply(http::status::no_content);
    if (s.tags.size() >= 50) return bad("The number of tags exceeded the per-server limit 50");
    s.tags.push_back(t);
    nc.nova().touch(s);
    Response res = emptyReply(http::status::created);
    res.set(http::field::location, fmt::format("{}/compute/v2.1/servers/{}/tags/{}", nc.base(), s.id, util::percentEncodeQueryValue(tag)));
    return res;
  }
  if (nc.call.method == "DELETE") {
    if (it == s.tags.end()) return novaError(http::status::not_found, fmt::format("Tag '{}' could not be found.", tag));
    s.tags.erase(it);
    nc.nova().touch(s);
    return emptyReply(http::status::no_content);
  }
  return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
}

Json flavorJson(NovaCall& nc, const Flavor& f, JsonAlloc& a, bool detail) {
  Json j(rapidjson::kObjectType);
  j.AddMember("id", util::str(f.id, a), a);
  j.AddMember("name", util::str(f.name, a), a);
  j.AddMember("links", links(a, nc.base() + "/compute/v2.1/flavors/" + f.id, nc.base() + "/compute/flavors/" + f.id), a);
  if (detail) {
    j.AddMember("vcpus", f.vcpus, a);
    j.AddMember("ram", f.ram, a);
    j.AddMember("disk", f.disk, a);
    j.AddMember("OS-FLV-EXT-DATA:ephemeral", 0, a);
    j.AddMember("swap", "", a);
    j.AddMember("rxtx_factor", 1.0, a);
    j.AddMember("os-flavor-access:is_public", true, a);
    j.AddMember("OS-FLV-DISABLED:disabled", false, a);
    if (nc.mv >= 55) j.AddMember("description", Json(), a);
  }
  return j;
}

Response flavors(NovaCall& nc) {
  const auto& seg = nc.call.seg;
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (seg.size() == 2 || (seg.size() == 3 && seg[2] == "detail")) {
    Json list(rapidjson::kArrayType);
    for (const auto& f : nc.nova().flavors()) list.PushBack(flavorJson(nc, f, a, seg.size() == 3), a);
    doc.AddMember("flavors", list, a);
    return reply(nc, http::status::ok, doc);
  }
  for (const auto& f : nc.nova().flavors()) {
    if (f.id == seg[2]) {
      doc.AddMember("flavor", flavorJson(nc, f, a, true), a);
      return reply(nc, http::status::ok, doc);
    }
  }
  return novaError(http::status::not_found, fmt::format("Flavor {} could not be found.", seg[2]));
}

std::optional<int> parseMicroversion(const Call& call, std::string* error) {
  std::string v;
  std::string header = call.header("OpenStack-API-Version");
  if (!header.empty()) {
    // "compute 2.60" (possibly among other services, comma separated)
    for (const auto& part : splitComma(header)) {
      if (part.rfind("compute ", 0) == 0) v = part.substr(8);
    }
  }
  if (v.empty()) v = call.header("X-OpenStack-Nova-API-Version");
  if (v.empty()) return 1;
  if (v == "latest") return kMaxMinor;
  int major = 0, minor = 0;
  if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2 || major != 2 || minor < 1 || minor > kMaxMinor) {
    *error = fmt::format("Version {} is not supported by the API. Minimum is 2.1 and maximum is 2.{}.", v, kMaxMinor);
    return std::nullopt;
  }
  return minor;
}

}  // namespace

Response handleNova(Sim& sim, Call& call) {
  auto& seg = call.seg;
  if (seg.empty() || (seg.size() == 1 && seg[0] == "v2.1")) {
    if (call.method != "GET" && call.method != "HEAD") return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
    return versionsDocument("nova", call);
  }
  if (seg[0] != "v2.1") return novaError(http::status::not_found, "The resource could not be found.");
  if (auto denied = sim.requireToken(call, true)) return *denied;
  // Older catalogs put the project id after the version: /v2.1/{project_id}/servers.
  if (seg.size() >= 2 && seg[1] == sim.identity().project(call.token->project).id) seg.erase(seg.begin() + 1);
  std::string error;
  auto mv = parseMicroversion(call, &error);
  if (!mv) return novaError(http::status::not_acceptable, error);
  NovaCall nc{sim, call, *mv};
  if (seg.size() < 2) return novaError(http::status::not_found, "The resource could not be found.");
  if (seg[1] == "flavors" && call.method == "GET") return flavors(nc);
  if (seg[1] == "os-keypairs") return handleKeypairs(sim, call, nc.mv);
  if (seg[1] != "servers") return novaError(http::status::not_found, "The resource could not be found.");
  if (seg.size() == 2 || (seg.size() == 3 && seg[2] == "detail")) {
    if (call.method == "GET") return listServers(nc, seg.size() == 3);
    if (call.method == "POST") return novaError(http::status::forbidden, "cloudsim creates servers through Heat (OS::Nova::Server) only");
    return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
  }
  auto slot = sim.nova().find(seg[2]);
  uint32_t project = sim.strings().intern(sim.identity().project(call.token->project).id);
  if (!slot || sim.nova().at(*slot).vm == VmState::Deleted ||
      (sim.nova().at(*slot).project != project && !sim.identity().isAdmin(*call.token))) {
    return novaError(http::status::not_found, fmt::format("Instance {} could not be found.", seg[2]));
  }
  util::JsonDoc doc;
  doc.SetObject();
  if (seg.size() == 3) {
    if (call.method == "GET") {
      doc.AddMember("server", serverJson(nc, sim.nova().at(*slot), doc.GetAllocator(), true), doc.GetAllocator());
      return reply(nc, http::status::ok, doc);
    }
    if (call.method == "DELETE") {
      sim.nova().remove(*slot);
      return emptyReply(http::status::no_content);
    }
    return novaError(http::status::method_not_allowed, "The method is not allowed for this resource.");
  }
  if (seg[3] == "action" && seg.size() == 4 && call.method == "POST") return serverAction(nc, *slot);
  if (seg[3] == "metadata" && seg.size() <= 5) return metadataRoutes(nc, *slot);
  if (seg[3] == "tags" && seg.size() <= 5) return tagRoutes(nc, *slot);
  return novaError(http::status::not_found, "The resource could not be found.");
}

}  // namespace magnumd::cloudsim
