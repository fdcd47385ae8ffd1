// `magnumctl describe`: an object as an operator reads it — metadata, spec and status as indented
// "Field Name:  value" blocks, the conditions as a table, and the object's events.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "util/json.h"
#include "util/time.h"

namespace magnumd::cli {

// "clusterTemplate" -> "Cluster Template", as kubectl describes custom resources.
std::string humanizeKey(std::string_view key);

// The events (items of an Event list) whose involvedObject is this object, oldest first.
std::vector<const util::Json*> eventsFor(const util::Json& event_items, const util::Json& object,
                                         api::Kind kind);

struct DescribeInput {
  api::Kind kind = api::Kind::Cluster;
  const util::Json* object = nullptr;
  std::vector<const util::Json*> events;
  std::string events_error;  // non-empty: events could not be listed, say why instead
  util::SystemTime now;
};

std::string describeObject(const DescribeInput& input);

}  // namespace magnumd::cli
