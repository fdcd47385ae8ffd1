// Nova flavors and key pairs, as admission looks them up.
#include <fmt/format.h>

#include "drivers/openstack/errors.h"
#include "drivers/openstack/nova.h"
#include "drivers/openstack/url.h"

namespace magnumd::drivers::openstack {

using util::ErrorCode;
using util::Json;
using util::makeError;
constexpr char kService[] = "compute";

util::Result<Flavor> parseFlavor(const Json& v) {
  if (!v.IsObject())
    return malformedResponse("nova flavor",
                             fmt::format("expected an object, got {}", util::typeName(v)));
  Flavor f;
  f.id = util::stringMember(v, "id").value_or("");
  if (f.id.empty()) return malformedResponse("nova flavor", "flavor has no \"id\"");
  f.name = util::stringMember(v, "name").value_or("");
  f.vcpus = static_cast<int>(util::intMember(v, "vcpus").value_or(0));
  f.ram_mib = static_cast<int>(util::intMember(v, "ram").value_or(0));
  f.disk_gib = static_cast<int>(util::intMember(v, "disk").value_or(0));
  return f;
}

util::Result<std::vector<Flavor>> parseFlavorListResponse(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse("nova flavor list", doc.error().message);
  const Json* flavors = util::member(*doc, "flavors");
  if (flavors == nullptr || !flavors->IsArray())
    return malformedResponse("nova flavor list", "\"flavors\" must be an array");
  std::vector<Flavor> out;
  for (const auto& item : flavors->GetArray()) {
    auto f = parseFlavor(item);
    if (!f.ok()) return f.takeError();
    out.push_back(std::move(f.value()));
  }
  return out;
}

util::Result<Keypair> parseKeypairShowResponse(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse("nova keypair show", doc.error().message);
  const Json* k = util::member(*doc, "keypair");
  if (k == nullptr || !k->IsObject())
    return malformedResponse("nova keypair show", "no \"keypair\" object");
  Keypair out;
  out.name = util::stringMember(*k, "name").value_or("");
  if (out.name.empty()) return malformedResponse("nova keypair show", "keypair has no \"name\"");
  out.fingerprint = util::stringMember(*k, "fingerprint").value_or("");
  out.type = util::stringMember(*k, "type").value_or("ssh");
  return out;
}

Task<Flavor> NovaClient::findFlavor(std::string name_or_id) {
  CO_ASSIGN_OR_RETURN(
      auto res, co_await session_.request(kService, "GET", "/flavors/" + encodeSegment(name_or_id),
                                          std::string(), versionHeaders()));
  if (res.status == 200) {
    auto doc = util::parseJson(res.body);
    const Json* flavor = doc.ok() ? util::member(*doc, "flavor") : nullptr;
    if (flavor == nullptr) co_return malformedResponse("nova flavor show", "no \"flavor\" object");
    co_return parseFlavor(*flavor);
  }
  if (res.status != 404)
    co_return errorFromResponse(res, fmt::format("reading flavor {}", name_or_id));
  // Flavors are few (Nova pages them at max_limit); one page of every flavor is enough to match
  // a name as `openstack flavor show` does.
  const std::string path =
      "/flavors/detail" + encodeQuery({{"is_public", "None"}, {"limit", "1000"}});
  CO_ASSIGN_OR_RETURN(
      auto list, co_await session_.request(kService, "GET", path, std::string(), versionHeaders()));
  if (list.status != 200)
    co_return errorFromResponse(list, fmt::format("looking up flavor {}", name_or_id));
  CO_ASSIGN_OR_RETURN(auto flavors, parseFlavorListResponse(list.body));
  std::vector<Flavor> named;
  for (auto& f : flavors) {
    if (f.name == name_or_id) named.push_back(std::move(f));
  }
  if (named.empty())
    co_return makeError(ErrorCode::NotFound,
                        fmt::format("no flavor named or with id \"{}\" in Nova", name_or_id));
  if (named.size() > 1) {
    co_return makeError(
        ErrorCode::Conflict,
        fmt::format("several flavors are named \"{}\" in Nova; name one by its id", name_or_id));
  }
  co_return std::move(named.front());
}

Task<Keypair> NovaClient::findKeypair(std::string name) {
  CO_ASSIGN_OR_RETURN(
      auto res, co_await session_.request(kService, "GET", "/os-keypairs/" + encodeSegment(name),
                                          std::string(), versionHeaders()));
  if (res.status == 404)
    co_return makeError(ErrorCode::NotFound, fmt::format("no key pair named \"{}\" in Nova", name));
  if (res.status != 200) co_return errorFromResponse(res, fmt::format("reading key pair {}", name));
  co_return parseKeypairShowResponse(res.body);
}

}  // namespace magnumd::drivers::openstack
