#include "api/event.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace magnumd::api {

namespace {

constexpr size_t kMaxReason = 128;
constexpr size_t kMaxMessage = 4096;

}  // namespace

util::Result<EventSpec> decodeEventSpec(std::string_view json) { return decodeRecord<EventSpec>(json, "spec"); }
std::string encodeEventSpec(const EventSpec& spec) { return encodeRecord(spec); }

void validate(const EventSpec& s, Causes& causes) {
  const auto& ref = s.involved_object;
  if (ref.kind != "ClusterTemplate" && ref.kind != "Cluster" && ref.kind != "NodeGroup") {
    causes.add("spec.involvedObject.kind",
               fmt::format("{} is not one of ClusterTemplate, Cluster, NodeGroup", quoted(ref.kind)));
  }
  if (auto p = dns1123LabelProblem(ref.name)) {
    causes.add("spec.involvedObject.name", fmt::format("{} {}", quoted(ref.name), *p));
  }
  if (!ref.namespace_.empty()) {
    if (auto p = dns1123LabelProblem(ref.namespace_)) {
      causes.add("spec.involvedObject.namespace", fmt::format("{} {}", quoted(ref.namespace_), *p));
    }
  }
  if (s.type != "Normal" && s.type != "Warning") {
    causes.add("spec.type", fmt::format("{} is not one of Normal, Warning", quoted(s.type)));
  }
  bool reason_ok = !s.reason.empty() && s.reason.size() <= kMaxReason &&
                   std::isupper(static_cast<unsigned char>(s.reason[0])) &&
                   std::all_of(s.reason.begin(), s.reason.end(),
                               [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
  if (!reason_ok) {
    causes.add("spec.reason", fmt::format("{} must be a CamelCase word of at most {} letters and digits",
                                          quoted(s.reason), kMaxReason));
  }
  if (s.message.size() > kMaxMessage) {
    causes.add("spec.message", fmt::format("is {} bytes; at most {} are allowed", s.message.size(), kMaxMessage));
  }
  if (s.count < 1) causes.add("spec.count", fmt::format("{} must be at least 1", s.count));
}

}  // namespace magnumd::api
