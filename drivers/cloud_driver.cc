#include "drivers/cloud_driver.h"

#include <fmt/format.h>

#include <set>

namespace magnumd::drivers {

namespace {

// Heat actions never contain '_' except via the status suffix, but statuses do (IN_PROGRESS),
// so split at the first '_'.
size_t actionEnd(const std::string& status) { return status.find('_'); }

}  // namespace

std::string Stack::action() const {
  auto pos = actionEnd(status);
  return pos == std::string::npos ? status : status.substr(0, pos);
}

std::string Stack::state() const {
  auto pos = actionEnd(status);
  return pos == std::string::npos ? std::string() : status.substr(pos + 1);
}

const StackOutput* Stack::output(std::string_view key) const {
  for (const auto& o : outputs) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

namespace {

bool isFailed(const std::string& status) { return status.ends_with("_FAILED"); }

// Heat's generic reasons say nothing an operator can act on; events usually say more.
bool isVague(const std::string& reason) {
  return reason.empty() || reason == "state changed" || reason.starts_with("Resource CREATE failed: ") ||
         reason.starts_with("Resource UPDATE failed: ");
}

}  // namespace

std::string describeStackFailure(const Stack& stack, const std::vector<StackResource>& resources,
                            const std::vector<StackEvent>& failed_events) {
  std::set<std::string> parents;
  for (const auto& r : resources) {
    if (isFailed(r.status) && !r.parent_resource.empty()) parents.insert(r.parent_resource);
  }
  std::vector<std::string> parts;
  for (const auto& r : resources) {
    if (!isFailed(r.status) || parents.count(r.name) > 0) continue;  // leaves only
    std::string reason = r.status_reason;
    if (isVague(reason)) {
      for (const auto& e : failed_events) {  // newest first
        if ((e.resource_name == r.name || (!r.physical_id.empty() && e.physical_id == r.physical_id)) &&
            !e.status_reason.empty()) {
          reason = e.status_reason;
          break;
        }
      }
    }
    std::string name = r.parent_resource.empty() ? fmt::format("\"{}\"", r.name)
                                                  : fmt::format("\"{}.{}\"", r.parent_resource, r.name);
    parts.push_back(fmt::format("resource {} ({}) {}: {}", name, r.type, r.status,
                                reason.empty() ? "no reason given" : reason));
    if (parts.size() == 5) break;
  }
  if (parts.empty()) {
    for (const auto& e : failed_events) {
      if (!e.status_reason.empty()) {
        parts.push_back(fmt::format("resource \"{}\" {}: {}", e.resource_name, e.status, e.status_reason));
        break;
      }
    }
  }
  if (parts.empty()) {
    return stack.status_reason.empty() ? fmt::format("stack {} without a reason", stack.status)
                                       : stack.status_reason;
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace magnumd::drivers
