#include "reconcilers/rollout.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace magnumd::reconcilers {

namespace {

std::string nextSlot(const std::vector<api::NodeGroupRevision>& revisions) {
  int64_t highest = 0;
  for (const auto& r : revisions) {
    if (r.slot.size() < 2 || r.slot[0] != 'r') continue;
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(r.slot.data() + 1, r.slot.data() + r.slot.size(), n);
    if (ec == std::errc() && ptr == r.slot.data() + r.slot.size()) highest = std::max(highest, n);
  }
  return fmt::format("r{}", highest + 1);
}

std::string describe(const api::NodeGroupRevision& r) {
  return fmt::format("{} ({}{}{})", r.slot.empty() ? "first revision" : r.slot,
                     r.kube_tag.empty() ? r.image : r.kube_tag,
                     r.kube_tag.empty() ? "" : ", " + r.image,
                     r.pki.empty() ? "" : ", CAs " + r.pki);
}

}  // namespace

GroupRolloutPlan planGroupRollout(const GroupRolloutInput& in) {
  GroupRolloutPlan plan;
  plan.revisions = in.revisions;
  // A group never rolled: its first revision is what the spec wants.
  if (plan.revisions.empty()) {
    auto first = in.wanted;
    first.slot.clear();
    first.replicas = in.count;
    plan.revisions.push_back(first);
  }
  // The wanted revision last: an existing one with the same config (a revert), or a new one.
  auto match = std::find_if(plan.revisions.rbegin(), plan.revisions.rend(),
                            [&](const api::NodeGroupRevision& r) { return r.sameConfig(in.wanted); });
  if (match == plan.revisions.rend()) {
    if (!in.may_start) {
      plan.rolling = plan.revisions.size() > 1;
      plan.message = fmt::format("{}: waits for the masters to be replaced first", in.name);
      return plan;
    }
    auto next = in.wanted;
    next.slot = nextSlot(plan.revisions);
    next.replicas = 0;
    plan.revisions.push_back(next);
  } else if (match != plan.revisions.rbegin()) {
    auto wanted = *match;
    plan.revisions.erase(std::next(match).base());
    plan.revisions.push_back(wanted);
  }
  auto& target = plan.revisions.back();

  int64_t target_ready = 0, old_ready = 0, old_replicas = 0;
  std::vector<const RolloutServer*> stalled;
  for (const auto& s : in.servers) {
    if (s.slot == target.slot) {
      if (s.ready) target_ready++;
      if (s.timed_out) stalled.push_back(&s);
    } else if (s.ready) {
      old_ready++;
    }
  }
  for (size_t i = 0; i + 1 < plan.revisions.size(); ++i) old_replicas += plan.revisions[i].replicas;
  plan.updated = std::min(target_ready, in.count);

  // Done: the old revisions are gone, and the wanted one follows the count as any group does.
  if (old_replicas == 0) {
    plan.revisions.erase(plan.revisions.begin(), plan.revisions.end() - 1);
    target.replicas = in.count;
    plan.updated = std::min(target_ready, in.count);
    return plan;
  }
  plan.rolling = true;
  if (!stalled.empty()) {
    plan.stalled = true;
    std::string names;
    for (const auto* s : stalled) names += (names.empty() ? "" : ", ") + s->name;
    plan.message = fmt::format(
        "{}: stalled: {} of {} did not become Ready within nodeStartupTimeout; nothing more is "
        "replaced until the spec changes (set it back to revert)",
        in.name, names, describe(target));
    return plan;
  }

  const int64_t surge = in.master ? 1 : in.max_surge.scaled(in.count, true);
  const int64_t unavailable = in.master ? 0 : in.max_unavailable.scaled(in.count);
  const int64_t max_surge = surge == 0 && unavailable == 0 ? 1 : surge;
  // Scale up the wanted revision within the surge.
  if (target.replicas < in.count) {
    const int64_t room = in.count + max_surge - (target.replicas + old_replicas);
    if (room > 0) target.replicas += std::min(room, in.count - target.replicas);
  }
  // Scale down the old ones: NotReady first (they serve nothing), then Ready ones while enough
  // stay Ready, oldest revision first, highest member first.
  const int64_t min_available = std::max<int64_t>(0, in.count - unavailable);
  int64_t removable_ready = target_ready + old_ready - min_available;
  std::vector<const RolloutServer*> candidates;
  for (const auto& s : in.servers) {
    if (s.slot != target.slot) candidates.push_back(&s);
  }
  auto order = [&](const RolloutServer* s) {
    auto it = std::find_if(plan.revisions.begin(), plan.revisions.end(),
                           [&](const api::NodeGroupRevision& r) { return r.slot == s->slot; });
    return it - plan.revisions.begin();
  };
  std::sort(candidates.begin(), candidates.end(), [&](const RolloutServer* a, const RolloutServer* b) {
    if (a->ready != b->ready) return !a->ready;
    if (order(a) != order(b)) return order(a) < order(b);
    if (a->member.size() != b->member.size()) return a->member.size() > b->member.size();
    return a->member > b->member;
  });
  for (const auto* s : candidates) {
    if (s->ready) {
      if (removable_ready <= 0) break;
      removable_ready--;
    }
    auto rev = std::find_if(plan.revisions.begin(), plan.revisions.end() - 1,
                            [&](const api::NodeGroupRevision& r) { return r.slot == s->slot; });
    if (rev == plan.revisions.end() - 1 || rev->replicas == 0) continue;
    rev->replicas--;
    plan.remove.push_back(*s);
  }
  int64_t left = 0;
  for (size_t i = 0; i + 1 < plan.revisions.size(); ++i) left += plan.revisions[i].replicas;
  plan.message = fmt::format("{}: {}/{} Ready on {}; {} old left", in.name, plan.updated,
                             in.count, describe(target), left);
  return plan;
}

}  // namespace magnumd::reconcilers
