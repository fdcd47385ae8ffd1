#include <fmt/format.h>

#include <algorithm>

#include "api/admission.h"
#include "api/managed_fields.h"
#include "server/patch.h"
#include "server/references.h"
#include "server/resources.h"
#include "server/store_await.h"
#include "server/write_common.h"
#include "util/json.h"
#include "util/time.h"

namespace magnumd::server {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::makeError;

namespace {

// A healer (magnum-auto-healer) may change a Cluster's health and nothing else of its status.
util::Status checkHealthOnly(std::string_view stored, std::string_view next) {
  auto before = util::parseJson(stored.empty() ? "{}" : stored);
  auto after = util::parseJson(next.empty() ? "{}" : next);
  if (!before.ok() || !after.ok() || !before->IsObject() || !after->IsObject()) {
    return makeError(ErrorCode::BadRequest, "status must be a JSON object");
  }
  auto differs = [](const util::Json& a, const util::Json& b, std::string_view key) {
    const auto* x = util::member(a, key);
    const auto* y = util::member(b, key);
    return (x == nullptr) != (y == nullptr) || (x != nullptr && *x != *y);
  };
  for (const auto* doc : {&*before, &*after}) {
    for (const auto& m : doc->GetObject()) {
      std::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (key == "healthStatus" || key == "healthStatusReason") continue;
      if (differs(*before, *after, key)) {
        return makeError(ErrorCode::Forbidden,
                         fmt::format("role healer may change only status.healthStatus and "
                                     "status.healthStatusReason, not status.{}",
                                     key));
      }
    }
  }
  return {};
}

}  // namespace

// The query parameters every write takes; answers whether it is a dry run. kubectl sends
// fieldValidation=Strict (Ignore with --validate=false, Warn with --validate=warn): the decoder
// refuses unknown and duplicate fields whatever is asked, so each gets Strict's answer.
util::Result<bool> dryRunOf(const RequestContext& ctx) {
  auto validation = stringParam(ctx.query, "fieldValidation");
  if (!validation.empty() && validation != "Strict" && validation != "Warn" &&
      validation != "Ignore") {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("fieldValidation: unsupported value \"{}\"; one of Ignore, "
                                 "Strict, Warn",
                                 validation));
  }
  RETURN_IF_ERROR(api::managed::checkManagerName(stringParam(ctx.query, "fieldManager"),
                                                 "fieldManager"));
  auto it = ctx.query.find("dryRun");
  if (it == ctx.query.end() || it->second.empty()) return false;
  if (it->second == "All") return true;
  return makeError(ErrorCode::BadRequest,
                   fmt::format("dryRun: unsupported value \"{}\"; the only value is All", it->second));
}

// Decodes the request body into an object for the path, filling namespace (and name) from the
// URL and refusing contradictions.
util::Result<api::Object> decodeRequestObject(const RequestContext& ctx, const util::Json& doc) {
  ASSIGN_OR_RETURN(auto object, api::decodeObject(doc));
  const auto& want = api::kindInfo(ctx.path.kind);
  if (object.kind != ctx.path.kind) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("kind \"{}\" does not match the resource in the URL ({} is kind {})",
                                 api::kindInfo(object.kind).name, want.plural, want.name));
  }
  auto& meta = object.metadata;
  if (meta.namespace_.empty()) meta.namespace_ = ctx.path.namespace_;
  if (meta.namespace_ != ctx.path.namespace_) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("the namespace of the provided object ({}) does not match the "
                                 "namespace sent on the request ({})",
                                 meta.namespace_, ctx.path.namespace_));
  }
  if (!ctx.path.name.empty()) {
    if (meta.name.empty()) meta.name = ctx.path.name;
    if (meta.name != ctx.path.name) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("the name of the object ({}) does not match the name on the "
                                   "URL ({})",
                                   meta.name, ctx.path.name));
    }
  }
  return object;
}

util::Result<api::Object> decodeRequestBody(const RequestContext& ctx) {
  ASSIGN_OR_RETURN(auto doc, decodeBody(ctx.request[http::field::content_type], ctx.request.body()));
  return decodeRequestObject(ctx, doc);
}

util::Status checkUid(const api::Object& current, const std::string& uid) {
  if (uid.empty() || uid == current.metadata.uid) return {};
  return makeError(ErrorCode::Conflict,
                   fmt::format("Precondition failed: UID in precondition: {}, UID in object meta: {}",
                               uid, current.metadata.uid));
}

namespace {

util::Status checkNoNewFinalizers(const api::Object& current, const api::Object& candidate) {
  if (!current.deleting()) return {};
  for (const auto& f : candidate.metadata.finalizers) {
    if (std::find(current.metadata.finalizers.begin(), current.metadata.finalizers.end(), f) ==
        current.metadata.finalizers.end()) {
      return makeError(ErrorCode::Invalid, "object is being deleted",
                       {{"metadata.finalizers",
                         fmt::format("cannot add finalizer \"{}\": the object is being deleted", f)}});
    }
  }
  return {};
}

}  // namespace

util::Status admitMetadata(const api::Object& object) {
  if (object.metadata.name.empty()) {
    return makeError(ErrorCode::Invalid, "name is required",
                     {{"metadata.name", "required: a DNS-1123 label such as \"prod\""}});
  }
  auto status = api::validateMetadata(object.metadata, object.kind);
  if (!status.ok()) return describeInvalid(status.takeError(), object.kind, object.metadata.name);
  return {};
}

std::string managerOf(const RequestContext& ctx) {
  std::string_view named = stringParam(ctx.query, "fieldManager");
  if (!named.empty()) return std::string(named);
  std::string derived = api::managed::managerFromUserAgent(ctx.request[http::field::user_agent]);
  return derived.empty() ? "unknown" : derived;
}

util::Status recordWrite(const RequestContext& ctx, const api::Object* live,
                         const std::vector<api::ManagedFieldsEntry>& requested, api::Object& next) {
  if (ctx.path.status()) return {};  // status belongs to no manager
  const std::vector<api::ManagedFieldsEntry> none;
  // A body that carries the live entries back (a GET, edited, PUT) asks for nothing.
  const bool same = live != nullptr && requested == live->metadata.managed_fields;
  auto entries = api::managed::recordUpdate(
      ctx.path.kind, live, next, same ? none : requested, managerOf(ctx),
      util::formatRfc3339(std::chrono::system_clock::now()));
  if (!entries.ok()) return describeManagedFields(entries.takeError(), ctx);
  next.metadata.managed_fields = std::move(entries).value();
  return {};
}

util::Error describeManagedFields(util::Error error, const RequestContext& ctx) {
  if (error.code == ErrorCode::Invalid) {
    return describeInvalid(std::move(error), ctx.path.kind, ctx.path.name);
  }
  return error;
}

namespace {

constexpr int kPatchAttempts = 5;

}  // namespace

net::Response ResourceHandlers::writeError(const RequestContext& ctx, util::Error error) const {
  switch (error.code) {
    case ErrorCode::NotFound:
      error.message = objectRef(ctx.path) + " not found";
      break;
    case ErrorCode::AlreadyExists:
      error.message = objectRef(ctx.path) + " already exists";
      break;
    case ErrorCode::Conflict:
      // A refusal that says why (admission's) stands; a store conflict is a stale version.
      if (error.message.rfind("Precondition failed", 0) != 0 &&
          error.message.rfind("Operation cannot be fulfilled", 0) != 0) {
        error.message = fmt::format("Operation cannot be fulfilled on {}: the object has been "
                                    "modified; please apply your changes to the latest version "
                                    "and try again",
                                    objectRef(ctx.path));
      }
      break;
    case ErrorCode::Invalid:
      error = describeInvalid(std::move(error), ctx.path.kind, ctx.path.name);
      break;
    default:
      break;
  }
  return errorResponse(ctx, error);
}

asio::awaitable<util::Result<api::Object>> ResourceHandlers::storeWrite(const char* op,
                                                                        api::Object object,
                                                                        int64_t expected_rv) {
  auto& histogram = metrics_.store_writes.with({op});
  auto observe = [&histogram](double seconds) { histogram.observe(seconds); };
  std::string_view name(op);
  if (name == "create") {
    co_return co_await awaitStore(
        [&](store::ObjectCallback done) { store_.create(std::move(object), std::move(done)); }, observe);
  }
  if (name == "update") {
    co_return co_await awaitStore(
        [&](store::ObjectCallback done) {
          store_.update(std::move(object), expected_rv, std::move(done));
        },
        observe);
  }
  if (name == "update_status") {
    co_return co_await awaitStore(
        [&](store::ObjectCallback done) {
          store_.updateStatus(std::move(object), expected_rv, std::move(done));
        },
        observe);
  }
  co_return co_await awaitStore(
      [&](store::ObjectCallback done) {
        store_.remove(api::keyOf(object), expected_rv, std::move(done));
      },
      observe);
}

util::Result<api::Object> ResourceHandlers::admitCreate(api::Object object) const {
  if (object.metadata.resource_version != 0) {
    return makeError(ErrorCode::BadRequest,
                     "metadata.resourceVersion: must not be set on objects to be created");
  }
  RETURN_IF_ERROR(admitMetadata(object));
  ASSIGN_OR_RETURN(object.spec, admitWithReferences(store_, object));
  if (auto rules = api::validateCreate(object.kind, object.metadata, object.spec); !rules.ok()) {
    return describeInvalid(rules.takeError(), object.kind, object.metadata.name);
  }
  object.status = "{}";  // status belongs to controllers, written through /status
  object.metadata.uid.clear();
  object.metadata.generation = 0;
  object.metadata.creation_timestamp.clear();
  object.metadata.deletion_timestamp.reset();
  return object;
}

asio::awaitable<util::Status> ResourceHandlers::checkCloud(const RequestContext& ctx,
                                                           const api::Object& next,
                                                           const api::Object* current) {
  if (cloud_ == nullptr || ctx.path.status()) co_return util::Status();
  co_return co_await cloud_->check(next, current);
}

asio::awaitable<util::Result<api::Object>> ResourceHandlers::createObject(api::Object object,
                                                                          bool dry_run) {
  // Held until the store answered (a dry run only checks).
  CO_ASSIGN_OR_RETURN(auto reservation, quotas_.reserve(nullptr, object));
  if (dry_run) {
    object.metadata.uid = util::newUuid();
    object.metadata.generation = 1;
    object.metadata.creation_timestamp = util::formatRfc3339(std::chrono::system_clock::now());
    co_return object;
  }
  co_return co_await storeWrite("create", std::move(object), 0);
}

asio::awaitable<net::Response> ResourceHandlers::create(const RequestContext& ctx) {
  auto dry_run = dryRunOf(ctx);
  if (!dry_run.ok()) co_return errorResponse(ctx, dry_run.error());
  auto decoded = decodeRequestBody(ctx);
  if (!decoded.ok()) co_return errorResponse(ctx, decoded.error());
  RequestContext named{ctx.request, ctx.path, ctx.query, ctx.identity, ctx.verb, ctx.format, ctx.pretty};
  named.path.name = decoded->metadata.name;
  auto object = admitCreate(std::move(decoded).value());
  if (!object.ok()) co_return errorResponse(named, object.error());
  if (auto cloud = co_await checkCloud(named, *object, nullptr); !cloud.ok()) {
    co_return writeError(named, cloud.takeError());
  }
  auto requested = object->metadata.managed_fields;
  if (auto recorded = recordWrite(named, nullptr, requested, *object); !recorded.ok()) {
    co_return errorResponse(named, recorded.error());
  }
  auto created = co_await createObject(std::move(object).value(), *dry_run);
  if (!created.ok()) co_return writeError(named, created.takeError());
  written(named, nullptr, *created, *dry_run);
  co_return objectResponse(named, http::status::created, *created);
}

util::Result<api::Object> ResourceHandlers::admitUpdate(const RequestContext& ctx,
                                                        const api::Object& current,
                                                        const api::Object& candidate) const {
  RETURN_IF_ERROR(checkUid(current, candidate.metadata.uid));
  api::Object next = current;
  if (ctx.path.status()) {
    // Everything but status in the body is ignored.
    auto status = api::admitStatus(ctx.path.kind, candidate.status);
    if (!status.ok()) return describeInvalid(status.takeError(), ctx.path.kind, current.metadata.name);
    if (ctx.identity.role == Role::Healer) {
      // Both sides in canonical form, so defaults the stored status lacks are no change.
      auto stored = api::admitStatus(ctx.path.kind, current.status);
      RETURN_IF_ERROR(checkHealthOnly(stored.ok() ? *stored : current.status, *status));
    }
    next.status = std::move(status).value();
    return next;
  }
  RETURN_IF_ERROR(admitMetadata(candidate));
  RETURN_IF_ERROR(checkNoNewFinalizers(current, candidate));
  ASSIGN_OR_RETURN(auto spec, admitWithReferences(store_, candidate));
  std::vector<std::string> users;
  if (ctx.path.kind == api::Kind::ClusterTemplate) {
    ASSIGN_OR_RETURN(users, clustersUsingTemplate(store_, current.metadata.namespace_,
                                                  current.metadata.name));
  }
  auto rules = api::validateSpecUpdate(ctx.path.kind, current.spec, spec, users);
  if (!rules.ok()) return describeInvalid(rules.takeError(), ctx.path.kind, current.metadata.name);
  auto downgrade = checkNoDowngrade(store_, current, spec);
  if (!downgrade.ok()) {
    return describeInvalid(downgrade.takeError(), ctx.path.kind, current.metadata.name);
  }
  if (auto rotation = checkCaRotation(current, spec); !rotation.ok()) {
    if (rotation.error().code != ErrorCode::Invalid) return rotation.takeError();
    return describeInvalid(rotation.takeError(), ctx.path.kind, current.metadata.name);
  }
  next.metadata.labels = candidate.metadata.labels;
  next.metadata.annotations = candidate.metadata.annotations;
  next.metadata.finalizers = candidate.metadata.finalizers;
  next.spec = std::move(spec);
  return next;
}

asio::awaitable<util::Result<api::Object>> ResourceHandlers::writeUpdate(const RequestContext& ctx,
                                                                         api::Object object,
                                                                         int64_t expected_rv,
                                                                         bool dry_run) {
  ProjectQuotas::Reservation reservation;
  if (!ctx.path.status() &&
      (object.kind == api::Kind::Cluster || object.kind == api::Kind::NodeGroup)) {
    auto current = store_.getShared(api::keyOf(object));
    if (current.ok()) {
      CO_ASSIGN_OR_RETURN(reservation, quotas_.reserve(current->get(), object));
    }
  }
  if (dry_run) {
    CO_ASSIGN_OR_RETURN(auto current, store_.get(api::keyOf(object)));
    if (expected_rv != 0 && expected_rv != current.metadata.resource_version) {
      co_return makeError(ErrorCode::Conflict, "stale resourceVersion");
    }
    if (current.spec != object.spec) object.metadata.generation = current.metadata.generation + 1;
    co_return object;
  }
  co_return co_await storeWrite(ctx.path.status() ? "update_status" : "update", std::move(object),
                                expected_rv);
}

asio::awaitable<net::Response> ResourceHandlers::replace(const RequestContext& ctx) {
  auto dry_run = dryRunOf(ctx);
  if (!dry_run.ok()) co_return errorResponse(ctx, dry_run.error());
  auto candidate = decodeRequestBody(ctx);
  if (!candidate.ok()) co_return errorResponse(ctx, candidate.error());
  auto current = store_.get({ctx.path.kind, ctx.path.namespace_, ctx.path.name});
  if (!current.ok()) co_return writeError(ctx, current.takeError());
  auto next = admitUpdate(ctx, *current, *candidate);
  if (!next.ok()) co_return writeError(ctx, next.takeError());
  if (auto cloud = co_await checkCloud(ctx, *next, &*current); !cloud.ok()) {
    co_return writeError(ctx, cloud.takeError());
  }
  auto recorded = recordWrite(ctx, &*current, candidate->metadata.managed_fields, *next);
  if (!recorded.ok()) co_return errorResponse(ctx, recorded.error());
  auto stored = co_await writeUpdate(ctx, std::move(next).value(),
                                     candidate->metadata.resource_version, *dry_run);
  if (!stored.ok()) co_return writeError(ctx, stored.takeError());
  written(ctx, &*current, *stored, *dry_run);
  co_return objectResponse(ctx, http::status::ok, *stored);
}

asio::awaitable<net::Response> ResourceHandlers::patch(const RequestContext& ctx) {
  auto dry_run = dryRunOf(ctx);
  if (!dry_run.ok()) co_return errorResponse(ctx, dry_run.error());
  std::string type = mediaType(ctx.request[http::field::content_type]);
  if (type == kApplyPatchType) co_return co_await apply(ctx, *dry_run);
  if (type != kMergePatchType && type != kJsonPatchType) {
    co_return errorResponse(
        ctx, makeError(ErrorCode::UnsupportedMediaType,
                       fmt::format("PATCH Content-Type \"{}\" is not supported; use {} (RFC 7386), "
                                   "{} (RFC 6902) or {} (server-side apply)",
                                   type, kMergePatchType, kJsonPatchType, kApplyPatchType)));
  }
  if (!stringParam(ctx.query, "force").empty()) {
    co_return errorResponse(ctx, makeError(ErrorCode::BadRequest,
                                           "force: may not be specified for non-apply patch"));
  }
  auto patch_doc = decodeBody(type, ctx.request.body());
  if (!patch_doc.ok()) co_return errorResponse(ctx, patch_doc.error());

  for (int attempt = 1;; ++attempt) {
    auto current = store_.get({ctx.path.kind, ctx.path.namespace_, ctx.path.name});
    if (!current.ok()) co_return writeError(ctx, current.takeError());
    util::JsonDoc doc;
    api::encodeObject(*current, doc, doc.GetAllocator());
    auto applied = type == kMergePatchType
                       ? applyMergePatch(doc, *patch_doc, doc.GetAllocator())
                       : applyJsonPatch(doc, *patch_doc, doc.GetAllocator());
    if (!applied.ok()) co_return errorResponse(ctx, applied.error());
    auto candidate = decodeRequestObject(ctx, doc);
    if (!candidate.ok()) co_return errorResponse(ctx, candidate.error());
    // A resourceVersion the patch sets is a precondition; without one the patch applies to
    // whatever is current, so a concurrent write means re-reading and re-applying.
    const int64_t expected = candidate->metadata.resource_version;
    const bool precondition = expected != current->metadata.resource_version;
    auto next = admitUpdate(ctx, *current, *candidate);
    if (!next.ok()) co_return writeError(ctx, next.takeError());
    if (auto cloud = co_await checkCloud(ctx, *next, &*current); !cloud.ok()) {
      co_return writeError(ctx, cloud.takeError());
    }
    auto recorded = recordWrite(ctx, &*current, candidate->metadata.managed_fields, *next);
    if (!recorded.ok()) co_return errorResponse(ctx, recorded.error());
    auto stored = co_await writeUpdate(ctx, std::move(next).value(), expected, *dry_run);
    if (!stored.ok() && stored.error().code == ErrorCode::Conflict && !precondition &&
        attempt < kPatchAttempts) {
      continue;
    }
    if (!stored.ok()) co_return writeError(ctx, stored.takeError());
    written(ctx, &*current, *stored, *dry_run);
    co_return objectResponse(ctx, http::status::ok, *stored);
  }
}

}  // namespace magnumd::server
