#include "store/quota.h"

#include <fmt/format.h>

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

void Usage::add(api::Kind kind, const std::string& namespace_, int64_t bytes, int64_t objects) {
  bytes_ += bytes;
  objects_ += objects;
  if (objects == 0) return;
  auto it = per_namespace_.try_emplace({kind, namespace_}, 0).first;
  it->second += objects;
  if (it->second == 0) per_namespace_.erase(it);
}

int64_t Usage::objectsIn(api::Kind kind, const std::string& namespace_) const {
  auto it = per_namespace_.find({kind, namespace_});
  return it == per_namespace_.end() ? 0 : it->second;
}

util::Status admit(const QuotaLimits& limits, const Usage& usage, const api::ObjectKey& key,
                   const WriteCharge& charge) {
  if (!charge.checked) return {};
  const api::KindInfo& kind = api::kindInfo(key.kind);
  if (limits.max_objects_per_namespace > 0 && charge.objects > 0) {
    int64_t held = usage.objectsIn(key.kind, key.namespace_);
    if (held + charge.objects > limits.max_objects_per_namespace) {
      return makeError(
          ErrorCode::Forbidden,
          fmt::format("{} \"{}\" is forbidden: exceeded quota: namespace {} holds {} {}, the limit "
                      "of {} objects of one kind per namespace; delete some, or raise "
                      "--max-objects-per-namespace",
                      kind.plural, key.name, key.namespace_, held, kind.plural,
                      limits.max_objects_per_namespace));
    }
  }
  if (limits.quota_bytes > 0 && charge.bytes > 0 &&
      usage.bytes() + charge.bytes > limits.quota_bytes) {
    return makeError(
        ErrorCode::Unavailable,
        fmt::format("store full: {} bytes quota reached ({} bytes stored, this write on {} \"{}\" "
                    "needs {} more); delete objects, or raise --store-quota-bytes",
                    limits.quota_bytes, usage.bytes(), kind.plural, key.name, charge.bytes));
  }
  return {};
}

}  // namespace magnumd::store
