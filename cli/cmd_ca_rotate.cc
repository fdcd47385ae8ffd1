// `magnumctl ca rotate CLUSTER`: the seed's `openstack coe ca rotate`, as the declarative change it
// stands for: spec.caGeneration raised by one (from the generation in use), with the object's
// resourceVersion as a precondition. The reconciler rolls every node three times; the server
// refuses (409) while a rollout or another rotation runs (docs/api.md, "CA rotation").
#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "cli/commands.h"
#include "cli/kinds.h"

namespace magnumd::cli {

using util::Json;
using util::JsonDoc;

namespace {

int64_t intAt(const Json& object, std::initializer_list<const char*> path) {
  const Json* at = &object;
  for (const char* key : path) {
    at = util::member(*at, key);
    if (at == nullptr) return 0;
  }
  return at->IsInt64() ? at->GetInt64() : 0;
}

}  // namespace

int runCaRotate(Context& ctx, const CaRotateOptions& o) {
  const std::string ref = kindRef(api::Kind::Cluster, o.cluster);
  const std::string ns_flag = ctx.ns_explicit ? " -n " + ctx.ns : "";
  auto live = ctx.api.get(api::Kind::Cluster, ctx.ns, o.cluster);
  if (!live.ok()) {
    ctx.err << formatError(live.error(), "rotating the CAs of " + ref) << "\n";
    return 1;
  }
  const int64_t requested = intAt(*live, {"spec", "caGeneration"});
  const int64_t in_use = intAt(*live, {"status", "caRotation", "generation"});
  const int64_t next = std::max(requested, in_use) + 1;

  JsonDoc patch;
  auto& a = patch.GetAllocator();
  patch.SetObject();
  Json meta(rapidjson::kObjectType);
  const Json* live_meta = util::member(*live, "metadata");
  meta.AddMember(
      "resourceVersion",
      util::str(live_meta ? util::stringMember(*live_meta, "resourceVersion").value_or("") : "", a),
      a);
  patch.AddMember("metadata", meta, a);
  Json spec(rapidjson::kObjectType);
  spec.AddMember("caGeneration", next, a);
  patch.AddMember("spec", spec, a);
  auto patched = ctx.api.mergePatch(api::Kind::Cluster, ctx.ns, o.cluster, util::toJson(patch));
  if (!patched.ok()) {
    ctx.err << formatError(patched.error(), "rotating the CAs of " + ref) << "\n";
    return 1;
  }
  ctx.out << fmt::format(
      "{0} rotating its CAs to generation {1}: every node is replaced three times (trust the new "
      "CAs, sign with them, drop the old ones), masters first.\n"
      "Kubeconfigs issued before the rotation stop working at its end; fetch a new one once "
      "status.caRotation.phase is SigningWithNewCa or later:\n"
      "  magnumctl{2} config {3}\n"
      "Follow it:        magnumctl{2} describe cluster {3}\n"
      "Wait for its end: magnumctl{2} wait cluster {3} --for condition=Ready --timeout 60m\n",
      ref, next, ns_flag, o.cluster);
  return 0;
}

}  // namespace magnumd::cli
