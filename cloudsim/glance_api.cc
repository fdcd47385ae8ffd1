// Glance v2 over HTTP: images with arbitrary properties (list with filters and paging, show,
// create, upload, delete). Images servers were booted from by a name Glance does not know are
// listed too, so `openstack server list/show` can name them.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cloudsim/sim.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

constexpr int kDefaultLimit = 25;  // Glance's limit_param_default
constexpr int kMaxLimit = 1000;    // api_limit_max

// Attributes Glance sets itself (403 when a client sends them) and the ones the schema types.
const std::set<std::string, std::less<>> kReadOnly = {
    "status", "created_at", "updated_at", "size",      "virtual_size", "checksum",      "self",
    "file",   "schema",     "direct_url", "locations", "os_hash_algo", "os_hash_value", "owner"};
const std::set<std::string, std::less<>> kCore = {
    "id",       "name",    "visibility", "disk_format", "container_format",
    "min_disk", "min_ram", "protected",  "tags",        "os_hidden"};

// webob's JSON error body, as Glance answers a client that accepts JSON.
Response glanceError(http::status status, std::string_view message) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("message", util::str(message, a), a);
  doc.AddMember("code",
                util::str(fmt::format("{} {}", static_cast<int>(status), titleOf(status)), a), a);
  doc.AddMember("title", util::str(titleOf(status), a), a);
  return jsonReply(status, doc);
}

Json imageJson(const Image& image, JsonAlloc& a) {
  Json j(rapidjson::kObjectType);
  auto text = [&](const char* key, const std::string& v) {
    j.AddMember(rapidjson::StringRef(key), v.empty() ? Json() : util::str(v, a), a);
  };
  j.AddMember("id", util::str(image.id, a), a);
  text("name", image.name);
  j.AddMember("status", util::str(image.status, a), a);
  j.AddMember("visibility", util::str(image.visibility, a), a);
  text("owner", image.owner);
  text("disk_format", image.disk_format);
  text("container_format", image.container_format);
  j.AddMember("min_disk", image.min_disk, a);
  j.AddMember("min_ram", image.min_ram, a);
  j.AddMember("protected", image.is_protected, a);
  j.AddMember("os_hidden", false, a);
  Json tags(rapidjson::kArrayType);
  for (const auto& t : image.tags) tags.PushBack(util::str(t, a), a);
  j.AddMember("tags", tags, a);
  j.AddMember("size", image.size ? Json(*image.size) : Json(), a);
  j.AddMember("virtual_size", Json(), a);
  text("checksum", image.checksum);
  j.AddMember("os_hash_algo", Json(), a);
  j.AddMember("os_hash_value", Json(), a);
  j.AddMember("created_at", util::str(formatSeconds(image.created), a), a);
  j.AddMember("updated_at", util::str(formatSeconds(image.updated), a), a);
  for (const auto& [k, v] : image.properties) j.AddMember(util::str(k, a), util::str(v, a), a);
  j.AddMember("self", util::str("/v2/images/" + image.id, a), a);
  j.AddMember("file", util::str("/v2/images/" + image.id + "/file", a), a);
  j.AddMember("schema", "/v2/schemas/image", a);
  return j;
}

struct GlanceCall {
  Sim& sim;
  Call& call;
  std::string project;  // the token's project id
  bool admin = false;

  bool visible(const Image& image) const {
    return admin || image.visibility == "public" || image.visibility == "community" ||
           image.owner == project;
  }
};

// Stored images plus those servers were booted from by a name Glance does not know.
std::vector<Image> bootedOnly(Sim& sim) {
  std::map<std::string, std::string> booted;  // id -> name
  NovaStore& nova = sim.nova();
  for (size_t i = 0; i < nova.slots(); ++i) {
    const Server& s = nova.at(static_cast<uint32_t>(i));
    if (s.purged || s.image == 0) continue;
    const std::string& name = sim.strings().get(s.image);
    std::string id = imageId(name);
    if (sim.images().find(id) == nullptr) booted.emplace(id, name);
  }
  std::vector<Image> out;
  for (auto& [id, name] : booted) {
    Image image;
    image.id = id;
    image.name = name;
    image.status = "active";
    image.visibility = "public";
    image.disk_format = "qcow2";
    image.container_format = "bare";
    out.push_back(std::move(image));
  }
  return out;
}

Response listImages(GlanceCall& gc) {
  const Query& q = gc.call.query;
  int limit = kDefaultLimit;
  if (auto l = q.get("limit")) {
    char* end = nullptr;
    long v = std::strtol(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || v < 0)
      return glanceError(http::status::bad_request, "limit param must be an integer");
    limit = static_cast<int>(std::min<long>(v, kMaxLimit));
  }
  // Filters: the core attributes Glance filters on, and any other key as a property (exact).
  std::map<std::string, std::string> filters;
  for (const auto& [k, v] : q.items()) {
    if (k == "limit" || k == "marker" || k == "sort_key" || k == "sort_dir" || k == "sort")
      continue;
    filters[k] = v;
  }
  std::string visibility = filters.count("visibility") ? filters["visibility"] : "";
  filters.erase("visibility");
  auto matches = [&](const Image& image) {
    if (!gc.visible(image)) return false;
    if (visibility.empty() ? image.visibility == "community" && image.owner != gc.project
                           : visibility != "all" && image.visibility != visibility) {
      return false;
    }
    for (const auto& [k, v] : filters) {
      std::string have;
      if (k == "name")
        have = image.name;
      else if (k == "status")
        have = image.status;
      else if (k == "owner")
        have = image.owner;
      else if (k == "disk_format")
        have = image.disk_format;
      else if (k == "container_format")
        have = image.container_format;
      else if (k == "tag") {
        if (std::find(image.tags.begin(), image.tags.end(), v) == image.tags.end()) return false;
        continue;
      } else if (auto it = image.properties.find(k); it != image.properties.end())
        have = it->second;
      if (have != v) return false;
    }
    return true;
  };
  std::vector<Image> extra = bootedOnly(gc.sim);
  std::vector<const Image*> all = gc.sim.images().listed();
  for (const auto& image : extra) all.push_back(&image);
  size_t start = 0;
  if (auto marker = q.get("marker")) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const Image* i) { return i->id == *marker && gc.visible(*i); });
    if (it == all.end())
      return glanceError(http::status::bad_request,
                         fmt::format("marker {} could not be found.", *marker));
    start = static_cast<size_t>(it - all.begin()) + 1;
  }
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json list(rapidjson::kArrayType);
  std::string last;
  int count = 0;
  for (size_t i = start; i < all.size() && count < limit; ++i) {
    if (!matches(*all[i])) continue;
    list.PushBack(imageJson(*all[i], a), a);
    last = all[i]->id;
    ++count;
  }
  doc.AddMember("images", list, a);
  std::string query;
  for (const auto& [k, v] : q.items()) {
    if (k == "marker") continue;
    query += (query.empty() ? "?" : "&") + util::percentEncodeQueryValue(k) + "=" +
             util::percentEncodeQueryValue(v);
  }
  doc.AddMember("first", util::str("/v2/images" + query, a), a);
  if (count == limit && count > 0) {
    doc.AddMember(
        "next",
        util::str(fmt::format("/v2/images{}{}marker={}", query, query.empty() ? "?" : "&", last),
                  a),
        a);
  }
  doc.AddMember("schema", "/v2/schemas/images", a);
  return jsonReply(http::status::ok, doc);
}

Response createImage(GlanceCall& gc) {
  auto body = parseBody(gc.call);
  if (!body.ok() || !body->IsObject())
    return glanceError(http::status::bad_request, "Body expected in request.");
  Image image;
  image.owner = gc.project;
  for (const auto& m : body->GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    const Json& v = m.value;
    if (kReadOnly.count(key) > 0)
      return glanceError(http::status::forbidden, fmt::format("Attribute '{}' is read-only.", key));
    auto mismatch = [&](const char* type) {
      return glanceError(
          http::status::bad_request,
          fmt::format("Provided object does not match schema 'image': {} is not of type '{}'", key,
                      type));
    };
    if (key == "min_disk" || key == "min_ram") {
      if (!v.IsInt64() || v.GetInt64() < 0) return mismatch("integer");
      (key == "min_disk" ? image.min_disk : image.min_ram) = v.GetInt64();
    } else if (key == "protected" || key == "os_hidden") {
      if (!v.IsBool()) return mismatch("boolean");
      if (key == "protected") image.is_protected = v.GetBool();
    } else if (key == "tags") {
      if (!v.IsArray()) return mismatch("array");
      for (const auto& t : v.GetArray()) {
        if (!t.IsString()) return mismatch("string");
        image.tags.emplace_back(t.GetString());
      }
    } else if (v.IsNull() && kCore.count(key) > 0) {
      continue;
    } else if (!v.IsString() || v.GetStringLength() > 255) {
      return mismatch("string");
    } else if (key == "id") {
      if (!isUuidLike(v.GetString()))
        return glanceError(http::status::bad_request, "id must be a UUID");
      image.id = v.GetString();
    } else if (key == "name") {
      image.name = v.GetString();
    } else if (key == "visibility") {
      std::string vis = v.GetString();
      if (vis != "public" && vis != "private" && vis != "shared" && vis != "community") {
        return glanceError(http::status::bad_request,
                           fmt::format("Invalid visibility value: {}", vis));
      }
      if (vis == "public" && !gc.admin)
        return glanceError(http::status::forbidden,
                           "You are not authorized to complete publicize_image action.");
      image.visibility = vis;
    } else if (key == "disk_format") {
      image.disk_format = v.GetString();
    } else if (key == "container_format") {
      image.container_format = v.GetString();
    } else {
      image.properties[key] = v.GetString();
    }
  }
  if (image.id.empty()) image.id = gc.sim.ids().uuid();
  auto created = gc.sim.images().create(std::move(image));
  if (!created.ok()) return glanceError(http::status::conflict, created.error().message);
  util::JsonDoc doc;
  Response res = jsonReply(http::status::created, imageJson(**created, doc.GetAllocator()));
  res.set(http::field::location, gc.call.base + "/image/v2/images/" + (*created)->id);
  return res;
}

}  // namespace

Response handleGlance(Sim& sim, Call& call) {
  const auto& seg = call.seg;
  if (seg.empty() || (seg.size() == 1 && seg[0] == "v2")) {
    util::JsonDoc doc;
    doc.SetObject();
    auto& a = doc.GetAllocator();
    Json versions(rapidjson::kArrayType), v(rapidjson::kObjectType), links(rapidjson::kArrayType),
        self(rapidjson::kObjectType);
    v.AddMember("id", "v2.15", a);
    v.AddMember("status", "CURRENT", a);
    self.AddMember("href", util::str(call.base + "/image/v2/", a), a);
    self.AddMember("rel", "self", a);
    links.PushBack(self, a);
    v.AddMember("links", links, a);
    versions.PushBack(v, a);
    doc.AddMember("versions", versions, a);
    return jsonReply(http::status::multiple_choices, doc);
  }
  if (auto denied = sim.requireToken(call, true)) return *denied;
  if (seg[0] != "v2" || seg.size() < 2 || seg[1] != "images" || seg.size() > 4) {
    return glanceError(http::status::not_found, "The resource could not be found.");
  }
  GlanceCall gc{sim, call, sim.identity().project(call.token->project).id,
                sim.identity().isAdmin(*call.token)};
  if (seg.size() == 2) {
    if (call.method == "GET") return listImages(gc);
    if (call.method == "POST") return createImage(gc);
    return glanceError(http::status::method_not_allowed,
                       "The method is not allowed for this resource.");
  }
  const std::string& id = seg[2];
  Image* image = sim.images().find(id);
  std::vector<Image> booted;
  if (image == nullptr && call.method == "GET" && seg.size() == 3) {
    booted = bootedOnly(sim);
    for (auto& b : booted) {
      if (b.id == id) image = &b;
    }
  }
  if (image == nullptr || !gc.visible(*image)) {
    return glanceError(http::status::not_found, fmt::format("No image found with ID {}", id));
  }
  if (seg.size() == 4) {
    if (seg[3] != "file" || call.method != "PUT")
      return glanceError(http::status::not_found, "The resource could not be found.");
    if (image->owner != gc.project && !gc.admin)
      return glanceError(http::status::forbidden,
                         "You are not permitted to upload data to this image.");
    if (image->disk_format.empty() || image->container_format.empty()) {
      return glanceError(
          http::status::bad_request,
          "Properties disk_format, container_format must be set prior to saving data.");
    }
    if (image->status != "queued")
      return glanceError(
          http::status::conflict,
          fmt::format("Image status transition from {} to saving is not allowed", image->status));
    image->size = static_cast<int64_t>(call.req.body().size());
    image->status = "active";
    image->updated = sim.clock().now();
    return emptyReply(http::status::no_content);
  }
  if (call.method == "GET") {
    util::JsonDoc doc;
    return jsonReply(http::status::ok, imageJson(*image, doc.GetAllocator()));
  }
  if (call.method == "DELETE") {
    if (image->owner != gc.project && !gc.admin)
      return glanceError(http::status::forbidden, "You are not permitted to delete this image.");
    if (image->is_protected)
      return glanceError(http::status::forbidden,
                         fmt::format("Image {} is protected and cannot be deleted.", id));
    sim.images().remove(id);
    return emptyReply(http::status::no_content);
  }
  return glanceError(http::status::method_not_allowed,
                     "The method is not allowed for this resource.");
}

}  // namespace magnumd::cloudsim
