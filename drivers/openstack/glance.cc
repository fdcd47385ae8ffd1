#include "drivers/openstack/glance.h"

#include <fmt/format.h>

#include "drivers/openstack/errors.h"
#include "drivers/openstack/url.h"

namespace magnumd::drivers::openstack {

using util::ErrorCode;
using util::Json;
using util::makeError;
constexpr char kService[] = "image";

namespace {

bool looksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

util::Result<Image> parseImage(const Json& v) {
  if (!v.IsObject())
    return malformedResponse("glance image",
                             fmt::format("expected an object, got {}", util::typeName(v)));
  Image image;
  image.id = util::stringMember(v, "id").value_or("");
  if (image.id.empty()) return malformedResponse("glance image", "image has no \"id\"");
  image.name = util::stringMember(v, "name").value_or("");
  image.status = util::stringMember(v, "status").value_or("");
  // Glance shows an image's properties as top-level string attributes.
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    if (it->value.IsString()) image.properties.emplace(it->name.GetString(), it->value.GetString());
  }
  if (auto it = image.properties.find("os_distro"); it != image.properties.end())
    image.os_distro = it->second;
  return image;
}

util::Result<Image> parseImageShowResponse(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse("glance image show", doc.error().message);
  return parseImage(*doc);
}

util::Result<std::vector<Image>> parseImageListResponse(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse("glance image list", doc.error().message);
  const Json* images = util::member(*doc, "images");
  if (images == nullptr || !images->IsArray())
    return malformedResponse("glance image list", "\"images\" must be an array");
  std::vector<Image> out;
  for (const auto& item : images->GetArray()) {
    auto image = parseImage(item);
    if (!image.ok()) return image.takeError();
    out.push_back(std::move(image.value()));
  }
  return out;
}

boost::asio::awaitable<util::Result<std::string>> GlanceClient::prefix() {
  CO_ASSIGN_OR_RETURN(auto endpoint, co_await session_.endpoint(kService));
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const bool versioned =
      endpoint.size() >= 3 && endpoint.compare(endpoint.size() - 3, 3, "/v2") == 0;
  co_return std::string(versioned ? "" : "/v2");
}

Task<Image> GlanceClient::find(std::string name_or_id) {
  CO_ASSIGN_OR_RETURN(auto v2, co_await prefix());
  if (looksLikeUuid(name_or_id)) {
    CO_ASSIGN_OR_RETURN(
        auto res,
        co_await session_.request(kService, "GET", v2 + "/images/" + encodeSegment(name_or_id)));
    if (res.status == 200) co_return parseImageShowResponse(res.body);
    if (res.status != 404)
      co_return errorFromResponse(res, fmt::format("reading image {}", name_or_id));
  }
  // Two are enough to tell a unique name from an ambiguous one.
  const std::string path = v2 + "/images" + encodeQuery({{"name", name_or_id}, {"limit", "2"}});
  CO_ASSIGN_OR_RETURN(auto res, co_await session_.request(kService, "GET", path));
  if (res.status != 200)
    co_return errorFromResponse(res, fmt::format("looking up image {}", name_or_id));
  CO_ASSIGN_OR_RETURN(auto images, parseImageListResponse(res.body));
  if (images.empty()) {
    co_return makeError(ErrorCode::NotFound,
                        fmt::format("no image named or with id \"{}\" in Glance", name_or_id));
  }
  if (images.size() > 1) {
    co_return makeError(
        ErrorCode::Conflict,
        fmt::format("several images are named \"{}\" in Glance; name one by its id", name_or_id));
  }
  co_return std::move(images.front());
}

}  // namespace magnumd::drivers::openstack
