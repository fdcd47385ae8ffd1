#include "cli/apply_diff.h"

namespace magnumd::cli {

using util::Json;
using util::JsonAlloc;
using util::JsonDoc;

namespace {

Json& objectMember(Json& parent, std::string_view key, JsonAlloc& alloc) {
  if (!util::member(parent, key)) {
    parent.AddMember(util::str(key, alloc), Json(rapidjson::kObjectType), alloc);
  }
  Json& value = parent.FindMember(Json(rapidjson::StringRef(key.data(), key.size())))->value;
  if (!value.IsObject()) value.SetObject();
  return value;
}

void setMember(Json& object, const Json& key, Json value, JsonAlloc& alloc) {
  object.AddMember(Json(key, alloc), value, alloc);
}

// Adds to `patch` what turns `live` into `desired` for the keys the user manages: keys in
// `desired`, plus keys that were in `last` (the previous apply) and are gone now.
void mergeDiff(const Json* last, const Json& desired, const Json* live, Json& patch,
               JsonAlloc& alloc) {
  for (const auto& m : desired.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    const Json& want = m.value;
    const Json* have = live ? util::member(*live, key) : nullptr;
    bool have_value = have != nullptr && !have->IsNull();
    if (want.IsNull()) {
      if (have_value) setMember(patch, m.name, Json(), alloc);
      continue;
    }
    if (want.IsObject()) {
      if (have_value && have->IsObject()) {
        const Json* before = last ? util::member(*last, key) : nullptr;
        Json sub(rapidjson::kObjectType);
        mergeDiff(before && before->IsObject() ? before : nullptr, want, have, sub, alloc);
        if (!sub.ObjectEmpty()) setMember(patch, m.name, std::move(sub), alloc);
        continue;
      }
      if (!have_value && want.ObjectEmpty()) continue;
    }
    if (!have_value || !(want == *have)) setMember(patch, m.name, Json(want, alloc), alloc);
  }
  if (last == nullptr) return;
  for (const auto& m : last->GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (util::member(desired, key)) continue;
    const Json* have = live ? util::member(*live, key) : nullptr;
    if (have != nullptr && !have->IsNull()) setMember(patch, m.name, Json(), alloc);
  }
}

std::optional<JsonDoc> lastApplied(const Json& live) {
  const Json* meta = util::member(live, "metadata");
  const Json* annotations = meta ? util::member(*meta, "annotations") : nullptr;
  auto text = annotations ? util::stringMember(*annotations, kLastAppliedAnnotation) : std::nullopt;
  if (!text) return std::nullopt;
  auto parsed = util::parseJson(*text);
  if (!parsed.ok() || !parsed->IsObject()) return std::nullopt;
  return std::move(parsed).value();
}

}  // namespace

JsonDoc declaredConfig(const Json& manifest) {
  JsonDoc out;
  out.SetObject();
  auto& alloc = out.GetAllocator();
  Json meta(rapidjson::kObjectType);
  Json labels(rapidjson::kObjectType);
  Json annotations(rapidjson::kObjectType);
  if (const Json* m = util::member(manifest, "metadata")) {
    if (const Json* l = util::member(*m, "labels"); l && l->IsObject()) labels.CopyFrom(*l, alloc);
    if (const Json* a = util::member(*m, "annotations"); a && a->IsObject()) {
      for (const auto& entry : a->GetObject()) {
        if (std::string_view(entry.name.GetString(), entry.name.GetStringLength()) ==
            kLastAppliedAnnotation) {
          continue;
        }
        annotations.AddMember(Json(entry.name, alloc), Json(entry.value, alloc), alloc);
      }
    }
  }
  meta.AddMember("labels", labels, alloc);
  meta.AddMember("annotations", annotations, alloc);
  out.AddMember("metadata", meta, alloc);
  if (const Json* spec = util::member(manifest, "spec"))
    out.AddMember("spec", Json(*spec, alloc), alloc);
  return out;
}

JsonDoc manifestForCreate(const Json& manifest, std::string_view ns) {
  JsonDoc out;
  out.CopyFrom(manifest, out.GetAllocator());
  auto& alloc = out.GetAllocator();
  Json& meta = objectMember(out, "metadata", alloc);
  if (!util::member(meta, "namespace")) meta.AddMember("namespace", util::str(ns, alloc), alloc);
  Json& annotations = objectMember(meta, "annotations", alloc);
  annotations.RemoveMember(
      Json(rapidjson::StringRef(kLastAppliedAnnotation.data(), kLastAppliedAnnotation.size())));
  annotations.AddMember(util::str(kLastAppliedAnnotation, alloc),
                        util::str(util::toJson(declaredConfig(manifest)), alloc), alloc);
  return out;
}

std::optional<JsonDoc> computeApplyPatch(const Json& manifest, const Json& live) {
  JsonDoc declared = declaredConfig(manifest);
  std::optional<JsonDoc> last = lastApplied(live);
  JsonDoc patch;
  patch.SetObject();
  auto& alloc = patch.GetAllocator();
  // Walk metadata and spec separately so a removed `spec` never nulls the whole spec.
  for (std::string_view part : {"metadata", "spec"}) {
    const Json* want = util::member(declared, part);
    if (want == nullptr) continue;
    const Json* have = util::member(live, part);
    const Json* before = last ? util::member(*last, part) : nullptr;
    if (!want->IsObject()) {
      if (have == nullptr || !(*want == *have))
        patch.AddMember(util::str(part, alloc), Json(*want, alloc), alloc);
      continue;
    }
    Json sub(rapidjson::kObjectType);
    static const Json kEmpty(rapidjson::kObjectType);
    mergeDiff(before && before->IsObject() ? before : nullptr, *want,
              have && have->IsObject() ? have : &kEmpty, sub, alloc);
    if (!sub.ObjectEmpty()) patch.AddMember(util::str(part, alloc), sub, alloc);
  }
  bool last_current =
      last.has_value() && static_cast<const Json&>(*last) == static_cast<const Json&>(declared);
  if (patch.ObjectEmpty() && last_current) return std::nullopt;
  Json& meta = objectMember(patch, "metadata", alloc);
  Json& annotations = objectMember(meta, "annotations", alloc);
  annotations.AddMember(util::str(kLastAppliedAnnotation, alloc),
                        util::str(util::toJson(declared), alloc), alloc);
  return patch;
}

}  // namespace magnumd::cli
