// `magnumctl apply -f`: create each object, or patch what the user declared differently.
#include <fmt/format.h>

#include "cli/apply_diff.h"
#include "cli/commands.h"
#include "cli/kinds.h"
#include "cli/manifest.h"

namespace magnumd::cli {

using util::Json;
using util::JsonDoc;

namespace {

constexpr int kConflictRetries = 3;

struct Target {
  api::Kind kind;
  std::string name;
  std::string ns;
};

util::Result<Target> targetOf(const Context& ctx, const Manifest& m) {
  auto bad = [&](std::string why) {
    return util::makeError(util::ErrorCode::BadRequest, fmt::format("{}: {}", m.source, why));
  };
  auto kind_name = util::stringMember(m.doc, "kind");
  if (!kind_name) return bad("missing \"kind\"");
  auto kind = api::kindFromAnyName(*kind_name);
  if (!kind || api::kindInfo(*kind).name != *kind_name) {
    return bad(
        fmt::format("unknown kind \"{}\"; magnumd serves ClusterTemplate, Cluster, "
                    "NodeGroup, Event",
                    *kind_name));
  }
  const Json* meta = util::member(m.doc, "metadata");
  auto name = meta ? util::stringMember(*meta, "name") : std::nullopt;
  if (!name || name->empty()) return bad("metadata.name is required");
  auto ns = meta ? util::stringMember(*meta, "namespace") : std::nullopt;
  if (ns && !ns->empty() && ctx.ns_explicit && *ns != ctx.ns) {
    return bad(
        fmt::format("the namespace from the manifest (\"{}\") does not match the namespace "
                    "given with --namespace (\"{}\")",
                    *ns, ctx.ns));
  }
  return Target{*kind, *name, ns && !ns->empty() ? *ns : ctx.ns};
}

std::string resourceVersionOf(const Json& object) {
  const Json* meta = util::member(object, "metadata");
  return meta ? util::stringMember(*meta, "resourceVersion").value_or("") : "";
}

// Returns "created", "configured" or "unchanged", or the error to print.
ApiResult<std::string> applyOne(Context& ctx, const Manifest& m, const Target& t) {
  for (int attempt = 0;; ++attempt) {
    bool retry = attempt + 1 < kConflictRetries;
    auto live = ctx.api.get(t.kind, t.ns, t.name);
    if (!live.ok() && live.error().http_status == 404) {
      JsonDoc body = manifestForCreate(m.doc, t.ns);
      auto created = ctx.api.create(t.kind, t.ns, util::toJson(body));
      if (created.ok()) return std::string("created");
      if (created.error().reason == "AlreadyExists" && retry) continue;  // lost a race: patch it
      return created.takeError();
    }
    if (!live.ok()) return live.takeError();
    auto patch = computeApplyPatch(m.doc, live.value());
    if (!patch) return std::string("unchanged");
    // The patch was computed against this version; a concurrent writer makes it stale (409).
    auto& alloc = patch->GetAllocator();
    Json& meta = (*patch)["metadata"];
    meta.AddMember("resourceVersion", util::str(resourceVersionOf(live.value()), alloc), alloc);
    auto patched = ctx.api.mergePatch(t.kind, t.ns, t.name, util::toJson(*patch));
    if (patched.ok()) return std::string("configured");
    if (patched.error().http_status == 409 && retry) continue;
    return patched.takeError();
  }
}

}  // namespace

int runApply(Context& ctx, const ApplyOptions& options) {
  auto manifests = loadManifests(options.files, ctx.in);
  if (!manifests.ok()) {
    ctx.err << "error: " << manifests.error().message << "\n";
    return 1;
  }
  if (manifests->empty()) {
    ctx.err << "error: no objects found in " << fmt::format("{}", fmt::join(options.files, ", "))
            << "\n";
    return 1;
  }
  orderForApply(*manifests);
  int failed = 0;
  for (const auto& m : *manifests) {
    auto target = targetOf(ctx, m);
    if (!target.ok()) {
      ctx.err << "error: " << target.error().message << "\n";
      ++failed;
      continue;
    }
    auto outcome = applyOne(ctx, m, *target);
    std::string ref = kindRef(target->kind, target->name);
    if (outcome.ok()) {
      ctx.out << ref << " " << outcome.value() << "\n";
      ctx.out.flush();
      continue;
    }
    ctx.err << formatError(outcome.error(), fmt::format("applying {} from {}", ref, m.source))
            << "\n";
    ++failed;
    if (outcome.error().http_status == 0 || outcome.error().http_status == 401)
      break;  // all would fail
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace magnumd::cli
