#include "controller/conditions.h"

#include <fmt/format.h>

#include <algorithm>

namespace magnumd::controller {
namespace {

using util::ErrorCode;
using util::Json;

bool mark(Conditions& conditions, std::string_view type, std::string_view status,
          std::string_view reason, std::string_view message, int64_t generation,
          util::SystemTime now) {
  return setCondition(conditions,
                      api::Condition{std::string(type), std::string(status), std::string(reason),
                                     std::string(message), {}, generation},
                      now);
}

util::Result<util::JsonDoc> parseStatus(std::string_view status_json) {
  ASSIGN_OR_RETURN(auto doc, util::parseJson(status_json.empty() ? "{}" : status_json));
  if (!doc.IsObject()) {
    return util::makeError(ErrorCode::BadRequest,
                           fmt::format("status: must be an object, got {}", util::typeName(doc)));
  }
  return doc;
}

void setMember(util::JsonDoc& doc, const char* name, Json value) {
  auto& a = doc.GetAllocator();
  if (auto it = doc.FindMember(name); it != doc.MemberEnd()) {
    it->value = value;
  } else {
    doc.AddMember(rapidjson::StringRef(name), value, a);
  }
}

}  // namespace

bool isTrue(const Conditions& conditions, std::string_view type) {
  const api::Condition* c = api::findCondition(conditions, type);
  return c != nullptr && c->status == api::kConditionTrue;
}

bool isFalse(const Conditions& conditions, std::string_view type) {
  const api::Condition* c = api::findCondition(conditions, type);
  return c != nullptr && c->status == api::kConditionFalse;
}

bool setCondition(Conditions& conditions, api::Condition condition, util::SystemTime now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const api::Condition& c) { return c.type == condition.type; });
  if (it == conditions.end()) {
    condition.last_transition_time = util::formatRfc3339(now);
    conditions.push_back(std::move(condition));
    return true;
  }
  condition.last_transition_time = it->status == condition.status && !it->last_transition_time.empty()
                                       ? it->last_transition_time
                                       : util::formatRfc3339(now);
  if (*it == condition) return false;
  *it = std::move(condition);
  return true;
}

bool markTrue(Conditions& c, std::string_view type, std::string_view reason,
              std::string_view message, int64_t generation, util::SystemTime now) {
  return mark(c, type, api::kConditionTrue, reason, message, generation, now);
}
bool markFalse(Conditions& c, std::string_view type, std::string_view reason,
               std::string_view message, int64_t generation, util::SystemTime now) {
  return mark(c, type, api::kConditionFalse, reason, message, generation, now);
}
bool markUnknown(Conditions& c, std::string_view type, std::string_view reason,
                 std::string_view message, int64_t generation, util::SystemTime now) {
  return mark(c, type, api::kConditionUnknown, reason, message, generation, now);
}

bool removeCondition(Conditions& conditions, std::string_view type) {
  auto before = conditions.size();
  std::erase_if(conditions, [&](const api::Condition& c) { return c.type == type; });
  return conditions.size() != before;
}

util::Result<Conditions> decodeConditions(const Json& array) {
  if (!array.IsArray()) {
    return util::makeError(ErrorCode::BadRequest,
                           fmt::format("status.conditions: must be an array, got {}",
                                       util::typeName(array)));
  }
  Conditions out;
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    const Json& item = array[i];
    const std::string path = fmt::format("status.conditions[{}]", i);
    if (!item.IsObject()) {
      return util::makeError(ErrorCode::BadRequest, fmt::format("{}: must be an object, got {}",
                                                                path, util::typeName(item)));
    }
    api::Condition c;
    auto type = util::stringMember(item, "type");
    if (!type || type->empty()) {
      return util::makeError(ErrorCode::BadRequest, path + ".type: required, a non-empty string");
    }
    c.type = *type;
    auto status_text = util::stringMember(item, "status").value_or("Unknown");
    if (status_text != api::kConditionTrue && status_text != api::kConditionFalse &&
        status_text != api::kConditionUnknown) {
      return util::makeError(ErrorCode::BadRequest,
                             fmt::format("{}.status: \"{}\" is not one of True, False, Unknown",
                                         path, status_text));
    }
    c.status = status_text;
    c.reason = util::stringMember(item, "reason").value_or("");
    c.message = util::stringMember(item, "message").value_or("");
    c.last_transition_time = util::stringMember(item, "lastTransitionTime").value_or("");
    c.observed_generation = util::intMember(item, "observedGeneration").value_or(0);
    out.push_back(std::move(c));
  }
  return out;
}

void encodeConditions(const Conditions& conditions, Json& out, util::JsonAlloc& a) {
  out.SetArray();
  for (const auto& c : conditions) {
    Json item(rapidjson::kObjectType);
    item.AddMember("type", util::str(c.type, a), a);
    item.AddMember("status", util::str(c.status, a), a);
    if (!c.reason.empty()) item.AddMember("reason", util::str(c.reason, a), a);
    if (!c.message.empty()) item.AddMember("message", util::str(c.message, a), a);
    if (!c.last_transition_time.empty()) {
      item.AddMember("lastTransitionTime", util::str(c.last_transition_time, a), a);
    }
    if (c.observed_generation != 0) {
      item.AddMember("observedGeneration", Json(c.observed_generation), a);
    }
    out.PushBack(item, a);
  }
}

util::Result<Conditions> conditionsOf(std::string_view status_json) {
  ASSIGN_OR_RETURN(auto doc, parseStatus(status_json));
  const Json* array = util::member(doc, "conditions");
  if (array == nullptr || array->IsNull()) return Conditions{};
  return decodeConditions(*array);
}

util::Result<std::string> withConditions(std::string_view status_json,
                                         const Conditions& conditions) {
  ASSIGN_OR_RETURN(auto doc, parseStatus(status_json));
  Json array;
  encodeConditions(conditions, array, doc.GetAllocator());
  setMember(doc, "conditions", std::move(array));
  return util::toJson(doc);
}

int64_t observedGenerationOf(std::string_view status_json) {
  auto doc = parseStatus(status_json);
  if (!doc.ok()) return 0;
  return util::intMember(*doc, "observedGeneration").value_or(0);
}

util::Result<std::string> withObservedGeneration(std::string_view status_json,
                                                 int64_t generation) {
  ASSIGN_OR_RETURN(auto doc, parseStatus(status_json));
  setMember(doc, "observedGeneration", Json(generation));
  return util::toJson(doc);
}

}  // namespace magnumd::controller
