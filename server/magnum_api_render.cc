// Magnum's views of stored objects, each rendered once per version of the object and of its
// parent (magnum_render_cache.h), for show and list.
#include "server/magnum_api.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"

namespace magnumd::server::magnum {

std::optional<api::ObjectKey> MagnumApi::parentKeyOf(const api::Object& object,
                                                     const util::Json& spec) {
  if (object.kind == api::Kind::Cluster) {
    auto ref = util::stringMember(spec, "clusterTemplate");
    if (!ref) return std::nullopt;
    size_t slash = ref->find('/');
    return api::ObjectKey{
        api::Kind::ClusterTemplate,
        slash == std::string::npos ? object.metadata.namespace_ : ref->substr(0, slash),
        slash == std::string::npos ? *ref : ref->substr(slash + 1)};
  }
  if (object.kind == api::Kind::NodeGroup) {
    auto cluster = util::stringMember(spec, "cluster");
    if (!cluster) return std::nullopt;
    return api::ObjectKey{api::Kind::Cluster, object.metadata.namespace_, *cluster};
  }
  return std::nullopt;
}

std::shared_ptr<const api::Object> MagnumApi::parentOf(const api::Object& object) const {
  auto spec = util::parseJson(object.spec);
  return spec.ok() ? parentLookup()(object, *spec) : nullptr;
}

ViewContext::ParentLookup MagnumApi::parentLookup() const {
  return [this](const api::Object& object, const util::Json& spec) {
    auto key = parentKeyOf(object, spec);
    if (!key) return std::shared_ptr<const api::Object>();
    auto found = store_.getShared(*key);
    return found.ok() ? std::move(found).value() : nullptr;
  };
}

std::shared_ptr<const std::string> MagnumApi::rendered(const api::Object& object,
                                                       ViewContext& view) const {
  const auto variant = [&](const RenderKey& k) {
    return k.resource_version == object.metadata.resource_version && k.version == view.version &&
           k.detail == view.detail && k.base_url == view.base_url;
  };
  // The parent the rendering showed must still be the one stored (or still be missing).
  const auto same_parent = [&](const RenderKey& k) {
    if (!k.parent) return true;
    auto now = store_.getShared(*k.parent);
    if (!now.ok()) return k.parent_uid.empty();
    return (*now)->metadata.uid == k.parent_uid &&
           (*now)->metadata.resource_version == k.parent_resource_version;
  };
  if (auto hit = render_cache_.find(object.metadata.uid);
      hit && variant(hit->key) && same_parent(hit->key)) {
    return hit->json;
  }

  RenderKey key{object.metadata.resource_version,
                std::nullopt,
                "",
                0,
                view.version,
                view.detail,
                view.base_url};
  std::shared_ptr<const api::Object> parent;
  if (auto spec = util::parseJson(object.spec); spec.ok()) key.parent = parentKeyOf(object, *spec);
  if (key.parent) {
    if (auto found = store_.getShared(*key.parent); found.ok()) {
      parent = std::move(found).value();
      key.parent_uid = parent->metadata.uid;
      key.parent_resource_version = parent->metadata.resource_version;
    }
  }
  view.parent = [&parent](const api::Object&, const util::Json&) { return parent; };
  util::JsonDoc doc;
  renderObject(object, view, doc, doc.GetAllocator());
  view.parent = nullptr;
  auto json = std::make_shared<const std::string>(util::toJson(doc));
  render_cache_.put(object.metadata.uid, std::move(key), json);
  return json;
}

net::Response MagnumApi::show(Call& call, const api::Object& object) {
  if (auto allowed =
          call.authorize(Verb::Get, object.kind, object.metadata.name, object.metadata.namespace_);
      !allowed.ok()) {
    return errorResponse(allowed.error());
  }
  ViewContext view = call.view(true, nullptr);
  return call.json(net::http::status::ok, *rendered(object, view));
}

std::string MagnumApi::listBody(std::string_view plural,
                                const std::vector<const api::Object*>& items, ViewContext view,
                                const std::string& next) const {
  // Spliced rather than written through rapidjson's RawValue, which copies byte by byte (a
  // quarter of a cached list's CPU); `plural` is a fixed resource name that needs no escaping.
  std::vector<std::shared_ptr<const std::string>> rendered_items;
  rendered_items.reserve(items.size());
  size_t bytes = plural.size() + 16;
  for (const api::Object* o : items) {
    rendered_items.push_back(rendered(*o, view));
    bytes += rendered_items.back()->size() + 1;
  }
  std::string next_json;
  if (!next.empty()) {
    next_json = util::toJson(util::Json(rapidjson::StringRef(next.data(), next.size())));
  }
  std::string body;
  body.reserve(bytes + next_json.size());
  body.append("{\"").append(plural).append("\":[");
  for (size_t i = 0; i < rendered_items.size(); ++i) {
    if (i) body.push_back(',');
    body.append(*rendered_items[i]);
  }
  body.push_back(']');
  if (!next_json.empty()) body.append(",\"next\":").append(next_json);
  body.push_back('}');
  return body;
}

}  // namespace magnumd::server::magnum
