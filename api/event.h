// Event: what a reconciler did and why, attached to the object it concerns (Kubernetes' core/v1
// Event, trimmed). Stored as kind Event; `magnumctl describe` lists the ones of an object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kEventNormal = "Normal";
inline constexpr std::string_view kEventWarning = "Warning";
inline constexpr size_t kMaxEventReason = 128;
inline constexpr size_t kMaxEventMessage = 4096;
const std::vector<std::string_view>& eventTypes();
const std::vector<std::string_view>& eventObjectKinds();

struct ObjectReference {
  std::string kind;  // ClusterTemplate | Cluster | NodeGroup
  std::string namespace_;
  std::string name;
  std::string uid;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("kind", s.kind, {.values = eventObjectKinds, .required = true});
    v("namespace", s.namespace_);
    v("name", s.name, {.required = true});
    v("uid", s.uid);
  }
};

struct EventSpec {
  ObjectReference involved_object;
  std::string type = "Normal";  // Normal | Warning
  std::string reason;           // CamelCase: StackCreateFailed, ScaledUp, ...
  std::string message;
  int64_t count = 1;            // repeats folded into one event
  std::string first_timestamp;  // RFC 3339
  std::string last_timestamp;
  std::string source;           // the reconciler that wrote it

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("involvedObject", s.involved_object,
      {.description = "The object the event is about.", .required = true});
    v("type", s.type, {.values = eventTypes});
    v("reason", s.reason,
      {.description = "Why, in one CamelCase word: StackCreateFailed, ScaledUp, ...",
       .max_size = kMaxEventReason,
       .required = true});
    v("message", s.message,
      {.description = "What happened, for people.", .max_size = kMaxEventMessage});
    v("count", s.count, {.description = "How many times it happened.", .minimum = 1});
    v("firstTimestamp", s.first_timestamp, {.format = "date-time"});
    v("lastTimestamp", s.last_timestamp, {.format = "date-time"});
    v("source", s.source, {.description = "The controller that recorded it."});
  }
};

util::Result<EventSpec> decodeEventSpec(std::string_view json);
std::string encodeEventSpec(const EventSpec& spec);
void validate(const EventSpec& spec, Causes& causes);

}  // namespace magnumd::api
