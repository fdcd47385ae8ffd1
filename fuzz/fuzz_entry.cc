#include "fuzz/fuzz_entry.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/admission.h"
#include "api/managed_fields.h"
#include "api/object.h"
#include "api/typed_value.h"
#include "server/codec.h"
#include "server/patch.h"
#include "server/route.h"
#include "server/selectors.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::fuzz {

namespace {

// The server's body limit: nothing longer reaches a decoder.
constexpr size_t kMaxInput = 1024 * 1024;

// A stored Cluster as the patch handlers see it: what patches in the corpus work on.
constexpr const char* kStoredCluster =
    R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"prod","namespace":"demo",)"
    R"("uid":"0b0c3d4e-1111-4222-8333-944455556666","resourceVersion":"42","generation":3,)"
    R"("labels":{"team":"a"},"annotations":{"note":"some text"},"finalizers":["container-infra/cluster"]},)"
    R"("spec":{"clusterTemplate":"k8s","masterCount":3,"nodeCount":5},"status":{"phase":"CREATE_COMPLETE"}})";

const char* kTemplateSpec =
    R"({"coe":"kubernetes","image":"fcos","externalNetwork":"public","keypair":"k","dockerVolumeSize":5})";

void check(bool condition, const char* what, std::string_view detail) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

const std::string& admittedTemplate() {
  static const std::string canonical = [] {
    auto r = api::admitSpec(api::Kind::ClusterTemplate, kTemplateSpec);
    check(r.ok(), "the fixed template admits", kTemplateSpec);
    return *r;
  }();
  return canonical;
}

// Admission must be a fixed point: admitting a canonical spec returns it unchanged, or the
// stored spec would drift on every write.
void admitAndCheck(api::Kind kind, std::string_view spec, const std::optional<std::string>& tmpl) {
  auto admitted = api::admitSpec(kind, spec, tmpl);
  if (!admitted.ok()) {
    check(!admitted.error().message.empty(), "errors have a message", spec);
    return;
  }
  auto again = api::admitSpec(kind, *admitted, tmpl);
  check(again.ok() && *again == *admitted, "admission is idempotent", *admitted);
  check(api::validateSpecUpdate(kind, *admitted, *admitted, {"demo/prod"}).ok(), "no-op update allowed", *admitted);
  (void)api::validateSpecUpdate(kind, *admitted, kTemplateSpec, {"demo/prod"});
  (void)api::templateRefOf(*admitted, "demo");
  (void)api::clusterOfNodeGroup(*admitted);
  (void)api::templateIsPublic(*admitted);
}

// Field managers over a decoded object: its managedFields decode (or are refused) within the
// limits and re-encode to entries that decode again; the object applied over itself by another
// manager keeps its fields, and applied over nothing creates them.
void fuzzManagedFields(const api::Object& object) {
  constexpr const char* kNow = "2026-01-01T00:00:00Z";
  const api::managed::Limits limits;
  auto managers = api::managed::decode(object.metadata.managed_fields, limits);
  if (managers.ok()) {
    auto entries = api::managed::encode(*managers, nullptr, kNow, limits);
    if (entries.ok()) {
      check(api::managed::decode(*entries, limits).ok(), "encoded managedFields decode", "");
    }
  }
  (void)api::managed::recordUpdate(object.kind, nullptr, object, object.metadata.managed_fields,
                                   "fuzz", kNow, limits);
  util::JsonDoc view;
  api::managed::ownedView(object, view, view.GetAllocator());
  (void)api::managed::apply(object.kind, nullptr, view, "fuzz", false, limits);
  if (!managers.ok()) return;
  auto again = api::managed::apply(object.kind, &object, view, "fuzz-2", true, limits);
  if (again.ok()) {
    // As the decoder would store it: string map values given as booleans or numbers are text.
    api::typed::coerceScalars(view["spec"], api::typed::typeOf(object.kind).member("spec"),
                              view.GetAllocator());
    check(util::toJson(again->view) == util::toJson(view),
          "applying an object to itself changes nothing", util::toJson(view));
  }
}

void fuzzObject(const util::Json& value) {
  auto object = api::decodeObject(value);
  if (!object.ok()) return;
  fuzzManagedFields(*object);
  std::string wire = api::encodeObject(*object);
  auto back = api::decodeObject(wire);
  check(back.ok(), "an encoded object decodes", wire);
  check(*back == *object, "object encode/decode round trip", wire);
  (void)api::validateMetadata(object->metadata, object->kind);
  (void)api::validateCreate(object->kind, object->metadata, object->spec);
  admitAndCheck(object->kind, object->spec, std::nullopt);
  if (object->kind == api::Kind::Cluster || object->kind == api::Kind::NodeGroup) {
    admitAndCheck(object->kind, object->spec, admittedTemplate());
  }
  auto status = api::admitStatus(object->kind, object->status);
  if (status.ok()) {
    auto again = api::admitStatus(object->kind, *status);
    check(again.ok() && *again == *status, "status admission is idempotent", *status);
  }
}

void fuzzSelector(std::string_view text) {
  auto selector = api::parseLabelSelector(text);
  if (!selector.ok()) return;
  std::string canonical = selector->toString();
  auto reparsed = api::parseLabelSelector(canonical);
  check(reparsed.ok() && reparsed->toString() == canonical, "selector text round trip", canonical);
  api::StringMap labels;
  for (const auto& r : selector->requirements) {
    labels[r.key] = r.values.empty() ? "" : r.values.front();
  }
  (void)selector->matches(labels);
  (void)selector->matches({});
}

// The input as a PATCH body of either kind against a stored object. Whatever it asks for, the
// result stays within the patch limits.
void fuzzPatch(const util::Json& patch) {
  static const server::PatchLimits limits;
  for (bool merge : {true, false}) {
    auto target = util::parseJson(kStoredCluster);
    check(target.ok(), "the stored object parses", kStoredCluster);
    auto applied = merge ? server::applyMergePatch(*target, patch, target->GetAllocator(), limits)
                         : server::applyJsonPatch(*target, patch, target->GetAllocator(), limits);
    if (!applied.ok()) {
      check(!applied.error().message.empty(), "patch errors have a message", "");
      continue;
    }
    check(server::jsonSizeUpTo(*target, limits.max_result_bytes) <= limits.max_result_bytes,
          "a patched object is within the result limit", "");
    fuzzObject(*target);
  }
}

// The input as a query string: the selectors and watch parameters every list and watch parses.
void fuzzQuery(std::string_view text) {
  auto target = server::parseTarget("/apis/container-infra/v1/clusters?" + std::string(text));
  if (!target.ok()) return;
  (void)server::parseFilter(target->query);
  for (const char* name : {"timeoutSeconds", "resourceVersion", "limit"}) {
    (void)server::intParam(target->query, name);
  }
  (void)server::boolParam(target->query, "watch");
}

// The input as a request body in every media type the API accepts, rendered back in both formats.
void fuzzBody(std::string_view text) {
  for (const char* type : {"application/json", "application/yaml", ""}) {
    auto doc = server::decodeBody(type, text);
    if (!doc.ok()) continue;
    std::string yaml = server::render(*doc, server::Format::Yaml);
    auto again = util::parseYamlDocuments(yaml);
    check(again.ok() && again->size() == 1 && util::toJson((*again)[0]) == util::toJson(*doc),
          "YAML output reads back as the same value", yaml);
  }
}

}  // namespace

void fuzzOne(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.size() <= 4096) fuzzSelector(text);
  if (text.size() <= 16 * 1024) fuzzQuery(text);
  fuzzBody(text);
  for (auto kind : {api::Kind::ClusterTemplate, api::Kind::Cluster, api::Kind::NodeGroup, api::Kind::Event}) {
    admitAndCheck(kind, text, std::nullopt);
  }
  if (auto doc = util::parseJson(text); doc.ok()) {
    fuzzObject(*doc);
    fuzzPatch(*doc);
    return;
  }
  if (auto docs = util::parseYamlDocuments(text); docs.ok()) {
    for (const auto& doc : *docs) fuzzObject(doc);
  }
}

}  // namespace magnumd::fuzz
