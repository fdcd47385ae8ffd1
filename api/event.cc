#include "api/event.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace magnumd::api {

const std::vector<std::string_view>& eventTypes() {
  static const std::vector<std::string_view> kTypes = {kEventNormal, kEventWarning};
  return kTypes;
}

const std::vector<std::string_view>& eventObjectKinds() {
  static const std::vector<std::string_view> kKinds = {"ClusterTemplate", "Cluster", "NodeGroup"};
  return kKinds;
}

util::Result<EventSpec> decodeEventSpec(std::string_view json) { return decodeRecord<EventSpec>(json, "spec"); }
std::string encodeEventSpec(const EventSpec& spec) { return encodeRecord(spec); }

void validate(const EventSpec& s, Causes& causes) {
  const auto& ref = s.involved_object;
  const auto& kinds = eventObjectKinds();
  if (std::find(kinds.begin(), kinds.end(), ref.kind) == kinds.end()) {
    causes.add("spec.involvedObject.kind",
               fmt::format("{} is not one of {}", quoted(ref.kind), joinValues(kinds)));
  }
  if (auto p = dns1123LabelProblem(ref.name)) {
    causes.add("spec.involvedObject.name", fmt::format("{} {}", quoted(ref.name), *p));
  }
  if (!ref.namespace_.empty()) {
    if (auto p = dns1123LabelProblem(ref.namespace_)) {
      causes.add("spec.involvedObject.namespace", fmt::format("{} {}", quoted(ref.namespace_), *p));
    }
  }
  const auto& types = eventTypes();
  if (std::find(types.begin(), types.end(), s.type) == types.end()) {
    causes.add("spec.type", fmt::format("{} is not one of {}", quoted(s.type), joinValues(types)));
  }
  bool reason_ok = !s.reason.empty() && s.reason.size() <= kMaxEventReason &&
                   std::isupper(static_cast<unsigned char>(s.reason[0])) &&
                   std::all_of(s.reason.begin(), s.reason.end(),
                               [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
  if (!reason_ok) {
    causes.add("spec.reason", fmt::format("{} must be a CamelCase word of at most {} letters and digits",
                                          quoted(s.reason), kMaxEventReason));
  }
  if (s.message.size() > kMaxEventMessage) {
    causes.add("spec.message", fmt::format("is {} bytes; at most {} are allowed", s.message.size(),
                                           kMaxEventMessage));
  }
  if (s.count < 1) causes.add("spec.count", fmt::format("{} must be at least 1", s.count));
}

}  // namespace magnumd::api
