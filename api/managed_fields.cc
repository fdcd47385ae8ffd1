#include "api/managed_fields.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "api/typed_value.h"
#include "util/time.h"

namespace magnumd::api::managed {

using fieldpath::Path;
using fieldpath::Set;
using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

namespace {

util::Error invalid(std::string field, std::string message) {
  return makeError(ErrorCode::Invalid, fmt::format("{}: {}", field, message),
                   {{std::move(field), std::move(message)}});
}

bool printable(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::string quote(std::string_view text) {
  util::JsonDoc scratch;
  return util::toJson(util::str(text, scratch.GetAllocator()));
}

// kube-apiserver's printManager: an applier by name, an updater with its version and time.
std::string describe(const Manager& m) {
  std::string out = quote(m.name);
  if (!m.subresource.empty()) out += fmt::format(" with subresource {}", quote(m.subresource));
  if (m.apply) return out;
  out += fmt::format(" using {}", kApiVersion);
  if (!m.time.empty()) out += fmt::format(" at {}", m.time);
  return out;
}

util::Status checkEntry(const ManagedFieldsEntry& e, const std::string& field) {
  RETURN_IF_ERROR(checkManagerName(e.manager, field + ".manager"));
  if (e.operation != kApply && e.operation != kUpdate) {
    return invalid(field + ".operation",
                   fmt::format("{} is not one of Apply, Update", quote(e.operation)));
  }
  if (!e.api_version.empty() && e.api_version != kApiVersion) {
    return invalid(field + ".apiVersion", fmt::format("{}: this server serves only {}",
                                                      quote(e.api_version), kApiVersion));
  }
  if (e.fields_type != kFieldsV1) {
    return invalid(field + ".fieldsType",
                   fmt::format("{} is not FieldsV1, the only type", quote(e.fields_type)));
  }
  if (!e.time.empty() && !util::parseRfc3339(e.time)) {
    return invalid(field + ".time",
                   fmt::format("{} is not an RFC 3339 time such as 2025-01-31T12:00:00Z",
                               quote(e.time.substr(0, 64))));
  }
  if (!e.subresource.empty() && e.subresource != "status") {
    return invalid(field + ".subresource",
                   fmt::format("{}: the only subresource with fields is status",
                               quote(e.subresource.substr(0, 64))));
  }
  return {};
}

util::Error tooLarge(std::string message) {
  return makeError(ErrorCode::TooLarge, fmt::format("metadata.managedFields: {}", message));
}

util::Status checkSetSize(const Manager& m, const Limits& limits) {
  size_t size = m.fields.size();
  if (size <= limits.max_fields_per_manager) return {};
  return tooLarge(fmt::format("manager {} would own {} fields; at most {} per manager are allowed",
                              quote(m.name), size, limits.max_fields_per_manager));
}

Manager* find(Managers& managers, const Manager& key) {
  for (auto& m : managers) {
    if (m.sameKey(key)) return &m;
  }
  return nullptr;
}

void dropEmpty(Managers& managers) {
  managers.erase(std::remove_if(managers.begin(), managers.end(),
                                [](const Manager& m) { return m.fields.empty(); }),
                 managers.end());
}

std::chrono::system_clock::time_point timeOf(const Manager& m) {
  return util::parseRfc3339(m.time).value_or(std::chrono::system_clock::time_point{});
}

// kube-apiserver's capManagersManager: the oldest Update entries merge into "ancient-changes"
// until at most `max` remain.
void capUpdateManagers(Managers& managers, size_t max) {
  std::vector<size_t> updaters;
  for (size_t i = 0; i < managers.size(); ++i) {
    if (!managers[i].apply) updaters.push_back(i);
  }
  if (updaters.size() <= max) return;
  std::stable_sort(updaters.begin(), updaters.end(),
                   [&](size_t a, size_t b) { return timeOf(managers[a]) < timeOf(managers[b]); });
  Manager bucket_key{std::string(kAncientChanges), false, "", "", {}};
  std::vector<bool> merged(managers.size(), false);
  size_t count = updaters.size();
  bool bucket_exists = find(managers, bucket_key) != nullptr;
  Manager bucket = bucket_exists ? *find(managers, bucket_key) : bucket_key;
  for (size_t i : updaters) {
    if (count <= max) break;
    if (managers[i].sameKey(bucket_key)) continue;
    bucket.fields = bucket.fields.unionWith(managers[i].fields);
    bucket.time = managers[i].time;  // the more recent of the two, as kube-apiserver keeps
    merged[i] = true;
    --count;
    if (!bucket_exists) {
      bucket_exists = true;
      ++count;
    }
  }
  Managers kept;
  for (size_t i = 0; i < managers.size(); ++i) {
    if (!merged[i] && !managers[i].sameKey(bucket_key)) kept.push_back(std::move(managers[i]));
  }
  kept.push_back(std::move(bucket));
  managers = std::move(kept);
}

void emptyView(Json& out, JsonAlloc& a) {
  out.SetObject();
  out.AddMember("metadata", Json(rapidjson::kObjectType), a);
  out.AddMember("spec", Json(rapidjson::kObjectType), a);
}

void liveView(const Object* live, Json& out, JsonAlloc& a) {
  if (live == nullptr) return emptyView(out, a);
  ownedView(*live, out, a);
}

}  // namespace

util::Status checkManagerName(std::string_view name, std::string_view field) {
  if (name.size() > kMaxManagerLength) {
    return invalid(std::string(field), fmt::format("must be at most {} characters, got {}",
                                                   kMaxManagerLength, name.size()));
  }
  if (!printable(name)) return invalid(std::string(field), "may hold only printable characters");
  return {};
}

std::string managerFromUserAgent(std::string_view user_agent) {
  std::string out;
  for (char c : user_agent.substr(0, user_agent.find('/'))) {
    if (out.size() >= kMaxManagerLength) break;
    if (printable(std::string_view(&c, 1))) out += c;
  }
  return out;
}

bool isReset(const std::vector<ManagedFieldsEntry>& entries) {
  return entries.size() == 1 && entries.front() == ManagedFieldsEntry{};
}

util::Result<Managers> decode(const std::vector<ManagedFieldsEntry>& entries,
                              const Limits& limits) {
  Managers out;
  size_t bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ManagedFieldsEntry& e = entries[i];
    std::string field = fmt::format("metadata.managedFields[{}]", i);
    RETURN_IF_ERROR(checkEntry(e, field));
    bytes += e.fields_v1.size();
    if (bytes > limits.max_fields_bytes) {
      return tooLarge(fmt::format("the field sets take more than {} bytes, the limit",
                                  limits.max_fields_bytes));
    }
    Manager m;
    m.name = e.manager;
    m.apply = e.operation == kApply;
    m.subresource = e.subresource;
    if (!e.time.empty()) m.time = util::formatRfc3339(*util::parseRfc3339(e.time));
    if (!e.fields_v1.empty()) {
      ASSIGN_OR_RETURN(m.fields, fieldpath::fromFieldsV1(e.fields_v1, field + ".fieldsV1",
                                                         limits.max_fields_per_manager));
    }
    if (find(out, m) != nullptr) {
      return invalid(field, fmt::format("manager {} with operation {} is listed twice",
                                        quote(e.manager), e.operation));
    }
    out.push_back(std::move(m));
  }
  size_t appliers = std::count_if(out.begin(), out.end(), [](const Manager& m) { return m.apply; });
  if (appliers > limits.max_apply_managers) {
    return tooLarge(fmt::format("{} Apply entries; at most {} managers may apply to one object",
                                appliers, limits.max_apply_managers));
  }
  return out;
}

void ownedView(const Object& object, Json& out, JsonAlloc& a) {
  out.SetObject();
  Json meta(rapidjson::kObjectType);
  const ObjectMeta& m = object.metadata;
  for (auto [name, map] : {std::pair<const char*, const StringMap*>{"labels", &m.labels},
                           {"annotations", &m.annotations}}) {
    if (map->empty()) continue;
    Json values(rapidjson::kObjectType);
    for (const auto& [k, v] : *map) values.AddMember(util::str(k, a), util::str(v, a), a);
    meta.AddMember(rapidjson::StringRef(name), values, a);
  }
  if (!m.finalizers.empty()) {
    Json finalizers(rapidjson::kArrayType);
    for (const auto& f : m.finalizers) finalizers.PushBack(util::str(f, a), a);
    meta.AddMember("finalizers", finalizers, a);
  }
  out.AddMember("metadata", meta, a);
  Json spec(rapidjson::kObjectType);
  auto parsed = util::parseJson(object.spec);
  if (parsed.ok() && parsed->IsObject()) spec.CopyFrom(*parsed, a);
  out.AddMember("spec", spec, a);
}

util::Result<std::vector<ManagedFieldsEntry>> recordUpdate(
    Kind kind, const Object* live, const Object& next,
    const std::vector<ManagedFieldsEntry>& requested, std::string_view manager,
    std::string_view now, const Limits& limits) {
  Managers managers;
  if (isReset(requested)) {
    // Cleared: nobody owns anything, not even this write's changes.
    return std::vector<ManagedFieldsEntry>{};
  }
  if (!requested.empty()) {
    ASSIGN_OR_RETURN(managers, decode(requested, limits));
  } else if (live != nullptr) {
    ASSIGN_OR_RETURN(managers, decode(live->metadata.managed_fields, limits));
  }
  const typed::TypeNode& type = typed::typeOf(kind);
  util::JsonDoc before;
  util::JsonDoc after;
  liveView(live, before, before.GetAllocator());
  ownedView(next, after, after.GetAllocator());
  typed::Comparison changes = typed::compare(before, after, type);
  Set changed = changes.modified.unionWith(changes.added);
  if (changed.empty() && changes.removed.empty()) {
    if (requested.empty() && live != nullptr) return live->metadata.managed_fields;
    return encode(std::move(managers), nullptr, now, limits);
  }
  for (auto& m : managers) m.fields = m.fields.difference(changed).difference(changes.removed);
  Manager key{std::string(manager), false, "", "", {}};
  const Manager* touched = nullptr;
  if (!changed.empty()) {
    Manager* self = find(managers, key);
    if (self == nullptr) self = &managers.emplace_back(std::move(key));
    self->fields = self->fields.unionWith(changed);
    RETURN_IF_ERROR(checkSetSize(*self, limits));
    touched = self;
  }
  return encode(std::move(managers), touched, now, limits);
}

util::Result<Applied> apply(Kind kind, const Object* live, const Json& applied_config,
                            std::string_view manager, bool force, const Limits& limits) {
  const typed::TypeNode& type = typed::typeOf(kind);
  util::JsonDoc config;
  config.CopyFrom(applied_config, config.GetAllocator());
  if (config.IsObject() && config.HasMember("spec")) {
    typed::coerceScalars(config["spec"], type.member("spec"), config.GetAllocator());
  }
  Managers managers;
  if (live != nullptr) {
    ASSIGN_OR_RETURN(managers, decode(live->metadata.managed_fields, limits));
  }
  const Managers before = managers;

  ASSIGN_OR_RETURN(Set applied, typed::toFieldSet(config, type));
  Manager key{std::string(manager), true, "", "", {}};
  Manager* self = find(managers, key);
  Set last;
  if (self == nullptr) {
    size_t appliers =
        std::count_if(managers.begin(), managers.end(), [](const Manager& m) { return m.apply; });
    if (appliers >= limits.max_apply_managers) {
      return tooLarge(
          fmt::format("{} managers have applied to this object, the most allowed; "
                      "a new one cannot (clear them with managedFields [{{}}] "
                      "through an update)",
                      appliers));
    }
    self = &managers.emplace_back(std::move(key));
  } else {
    last = self->fields;
  }
  self->fields = applied;
  RETURN_IF_ERROR(checkSetSize(*self, limits));

  util::JsonDoc current;
  liveView(live, current, current.GetAllocator());
  Applied out;
  typed::merge(current, config, type, out.view, out.view.GetAllocator());
  if (!last.empty()) {
    // What this manager set before, omits now, and nobody owns any more goes.
    Set owned;
    for (const auto& m : managers) owned = owned.unionWith(m.fields);
    Set gone = typed::ensureNamedFieldsAreMembers(last, type)
                   .difference(typed::ensureNamedFieldsAreMembers(owned, type));
    typed::removeItems(out.view, gone, type);
  }

  typed::Comparison changes = typed::compare(current, out.view, type);
  Set changed = changes.modified.unionWith(changes.added);
  std::vector<std::pair<const Manager*, Path>> conflicts;
  for (const auto& m : managers) {
    if (m.sameKey(*self)) continue;
    m.fields.intersection(changed).forEach(
        [&](const Path& path) { conflicts.emplace_back(&m, path); });
  }
  if (!conflicts.empty() && !force) {
    std::vector<util::Cause> causes;
    for (const auto& [m, path] : conflicts) {
      causes.push_back({fieldpath::toString(path), fmt::format("conflict with {}", describe(*m)),
                        "FieldManagerConflict"});
    }
    std::string message;
    if (conflicts.size() == 1) {
      message =
          fmt::format("Apply failed with 1 conflict: conflict with {}: {}",
                      describe(*conflicts[0].first), fieldpath::toString(conflicts[0].second));
    } else {
      std::map<std::string, std::vector<std::string>> by_manager;
      for (const auto& [m, path] : conflicts) {
        by_manager[describe(*m)].push_back(fieldpath::toString(path));
      }
      std::vector<std::string> lines;
      for (const auto& [who, paths] : by_manager) {
        lines.push_back(fmt::format("conflicts with {}:", who));
        for (const auto& p : paths) lines.push_back("- " + p);
      }
      message = fmt::format("Apply failed with {} conflicts: {}", conflicts.size(),
                            fmt::join(lines, "\n"));
    }
    return makeError(ErrorCode::Conflict, std::move(message), std::move(causes));
  }
  for (auto& m : managers) {
    if (m.sameKey(*self)) continue;
    m.fields = m.fields.difference(changed).difference(changes.removed);
  }
  dropEmpty(managers);
  out.fields_changed = managers.size() != before.size();
  for (size_t i = 0; !out.fields_changed && i < managers.size(); ++i) {
    out.fields_changed =
        !managers[i].sameKey(before[i]) || !(managers[i].fields == before[i].fields);
  }
  out.managers = std::move(managers);
  return out;
}

util::Result<std::vector<ManagedFieldsEntry>> encode(Managers managers, const Manager* touched,
                                                     std::string_view now, const Limits& limits) {
  if (touched != nullptr) {
    // Its key only: copying the whole Manager would copy its field set, on every write.
    const Manager key{touched->name, touched->apply, touched->subresource, {}, {}};
    for (auto& m : managers) {
      if (m.sameKey(key)) m.time = std::string(now);
    }
  }
  dropEmpty(managers);
  capUpdateManagers(managers, limits.max_update_managers);
  std::stable_sort(managers.begin(), managers.end(), [](const Manager& a, const Manager& b) {
    if (a.apply != b.apply) return a.apply;  // "Apply" < "Update"
    auto ta = timeOf(a);
    auto tb = timeOf(b);
    if (ta != tb) return ta < tb;
    if (a.name != b.name) return a.name < b.name;
    return a.subresource < b.subresource;
  });
  std::vector<ManagedFieldsEntry> out;
  size_t bytes = 0;
  size_t appliers = 0;
  for (const auto& m : managers) {
    RETURN_IF_ERROR(checkSetSize(m, limits));
    if (m.apply) ++appliers;
    ManagedFieldsEntry& e = out.emplace_back();
    e.manager = m.name;
    e.operation = m.apply ? kApply : kUpdate;
    e.api_version = kApiVersion;
    e.time = m.time;
    e.fields_type = kFieldsV1;
    e.fields_v1 = fieldpath::toFieldsV1(m.fields);
    e.subresource = m.subresource;
    bytes += e.fields_v1.size();
  }
  if (bytes > limits.max_fields_bytes) {
    return tooLarge(
        fmt::format("the field sets would take {} bytes; at most {} are allowed "
                    "(clear them with managedFields [{{}}] through an update)",
                    bytes, limits.max_fields_bytes));
  }
  if (appliers > limits.max_apply_managers) {
    return tooLarge(fmt::format("{} Apply entries; at most {} managers may apply to one object",
                                appliers, limits.max_apply_managers));
  }
  return out;
}

}  // namespace magnumd::api::managed
