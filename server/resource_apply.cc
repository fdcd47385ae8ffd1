// Server-side apply: PATCH with Content-Type application/apply-patch+yaml, ?fieldManager= and
// ?force=. The body is the object as the manager wants it; api/managed_fields.h merges it into
// the live object, finds conflicts with other managers, and removes what the manager no longer
// sets. Then the result goes through the same admission as any other write.
#include <fmt/format.h>

#include "api/managed_fields.h"
#include "server/references.h"
#include "server/resources.h"
#include "server/write_common.h"
#include "util/time.h"

namespace magnumd::server {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

namespace {

constexpr int kApplyAttempts = 5;
constexpr const char* kOwnedMetadata[] = {"labels", "annotations", "finalizers"};

// The parts of an applied configuration that managers own (ownedView's shape).
void configView(const Json& doc, util::JsonDoc& out) {
  auto& a = out.GetAllocator();
  out.SetObject();
  Json meta(rapidjson::kObjectType);
  if (const Json* m = util::member(doc, "metadata"); m != nullptr && m->IsObject()) {
    for (const char* name : kOwnedMetadata) {
      if (const Json* v = util::member(*m, name))
        meta.AddMember(rapidjson::StringRef(name), Json(*v, a), a);
    }
  }
  out.AddMember("metadata", meta, a);
  if (const Json* spec = util::member(doc, "spec")) out.AddMember("spec", Json(*spec, a), a);
}

// `base` with the fields managers own taken from `view`, decoded as a request body would be.
util::Result<api::Object> withOwnedFields(const RequestContext& ctx, const api::Object& base,
                                          const Json& view) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  api::encodeObject(base, doc, a);
  Json& meta = doc["metadata"];
  const Json* owned = util::member(view, "metadata");
  for (const char* name : kOwnedMetadata) {
    meta.RemoveMember(name);
    const Json* v = owned != nullptr ? util::member(*owned, name) : nullptr;
    if (v != nullptr) meta.AddMember(rapidjson::StringRef(name), Json(*v, a), a);
  }
  doc.RemoveMember("spec");
  if (const Json* spec = util::member(view, "spec")) doc.AddMember("spec", Json(*spec, a), a);
  return decodeRequestObject(ctx, doc);
}

bool sameOwnedFields(const api::Object& a, const api::Object& b) {
  return a.spec == b.spec && a.metadata.labels == b.metadata.labels &&
         a.metadata.annotations == b.metadata.annotations &&
         a.metadata.finalizers == b.metadata.finalizers;
}

std::string now() { return util::formatRfc3339(std::chrono::system_clock::now()); }

}  // namespace

asio::awaitable<net::Response> ResourceHandlers::apply(const RequestContext& ctx, bool dry_run) {
  if (ctx.path.status()) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::UnsupportedMediaType,
                       fmt::format("server-side apply ({}) of status is not supported; status "
                                   "takes {} or {}",
                                   kApplyPatchType, kMergePatchType, kJsonPatchType)));
  }
  std::string manager(stringParam(ctx.query, "fieldManager"));
  if (manager.empty()) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::BadRequest,
                       "fieldManager: Required value: is required for apply patch (kubectl sends "
                       "--field-manager, \"kubectl\" by default)"));
  }
  auto force = boolParam(ctx.query, "force");
  if (!force.ok()) co_return errorResponse(ctx, force.error());
  auto doc = decodeBody(kApplyPatchType, ctx.request.body());
  if (!doc.ok()) co_return errorResponse(ctx, doc.error());
  if (!doc->IsObject() || !doc->HasMember("apiVersion") || !doc->HasMember("kind")) {
    co_return errorResponse(ctx, makeError(ErrorCode::BadRequest,
                                           "an applied configuration is an object with apiVersion, "
                                           "kind and metadata.name"));
  }
  auto config = decodeRequestObject(ctx, *doc);
  if (!config.ok()) co_return errorResponse(ctx, config.error());
  if (!config->metadata.managed_fields.empty()) {
    co_return errorResponse(ctx, makeError(ErrorCode::BadRequest,
                                           "metadata.managedFields must be nil in an applied "
                                           "configuration: the server keeps them"));
  }
  util::JsonDoc view;
  configView(*doc, view);

  for (int attempt = 1;; ++attempt) {
    auto current = store_.get({ctx.path.kind, ctx.path.namespace_, ctx.path.name});
    const bool exists = current.ok();
    if (!exists && current.error().code != ErrorCode::NotFound) {
      co_return writeError(ctx, current.takeError());
    }
    if (exists) {
      const int64_t expected = config->metadata.resource_version;
      if (expected != 0 && expected != current->metadata.resource_version) {
        co_return writeError(ctx, makeError(ErrorCode::Conflict, "stale resourceVersion"));
      }
      if (auto uid = checkUid(*current, config->metadata.uid); !uid.ok()) {
        co_return errorResponse(ctx, uid.error());
      }
    } else if (config->metadata.resource_version != 0) {
      co_return writeError(ctx, makeError(ErrorCode::NotFound, "not found"));
    }
    const api::Object* live = exists ? &*current : nullptr;
    auto applied = api::managed::apply(ctx.path.kind, live, view, manager, *force);
    if (!applied.ok())
      co_return errorResponse(ctx, describeManagedFields(applied.takeError(), ctx));
    api::managed::Manager touched{manager, true, "", "", {}};

    if (!exists) {
      auto candidate = withOwnedFields(ctx, *config, applied->view);
      if (!candidate.ok()) co_return errorResponse(ctx, candidate.error());
      candidate->metadata.managed_fields.clear();
      auto object = admitCreate(std::move(candidate).value());
      if (!object.ok()) co_return errorResponse(ctx, object.error());
      if (auto cloud = co_await checkCloud(ctx, *object, nullptr); !cloud.ok()) {
        co_return writeError(ctx, cloud.takeError());
      }
      auto entries = api::managed::encode(std::move(applied->managers), &touched, now(), {});
      if (!entries.ok()) co_return errorResponse(ctx, entries.error());
      object->metadata.managed_fields = std::move(entries).value();
      auto created = co_await createObject(std::move(object).value(), dry_run);
      if (!created.ok() && created.error().code == ErrorCode::AlreadyExists &&
          attempt < kApplyAttempts) {
        continue;  // created meanwhile: apply to it
      }
      if (!created.ok()) co_return writeError(ctx, created.takeError());
      written(ctx, nullptr, *created, dry_run);
      co_return objectResponse(ctx, http::status::created, *created);
    }

    auto candidate = withOwnedFields(ctx, *current, applied->view);
    if (!candidate.ok()) co_return errorResponse(ctx, candidate.error());
    auto next = admitUpdate(ctx, *current, *candidate);
    if (!next.ok()) co_return writeError(ctx, next.takeError());
    if (sameOwnedFields(*next, *current) && !applied->fields_changed) {
      co_return objectResponse(ctx, http::status::ok, *current);  // nothing to write
    }
    if (auto cloud = co_await checkCloud(ctx, *next, &*current); !cloud.ok()) {
      co_return writeError(ctx, cloud.takeError());
    }
    auto entries = api::managed::encode(std::move(applied->managers), &touched, now(), {});
    if (!entries.ok()) co_return errorResponse(ctx, entries.error());
    next->metadata.managed_fields = std::move(entries).value();
    // The merge was computed from this version of the object; a concurrent write means
    // computing it again.
    auto stored = co_await writeUpdate(ctx, std::move(next).value(),
                                       current->metadata.resource_version, dry_run);
    if (!stored.ok() && stored.error().code == ErrorCode::Conflict &&
        config->metadata.resource_version == 0 && attempt < kApplyAttempts) {
      continue;
    }
    if (!stored.ok()) co_return writeError(ctx, stored.takeError());
    written(ctx, &*current, *stored, dry_run);
    co_return objectResponse(ctx, http::status::ok, *stored);
  }
}

}  // namespace magnumd::server
