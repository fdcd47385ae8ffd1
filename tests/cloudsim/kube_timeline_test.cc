// The timeline's availability arithmetic: the least Ready count since any time or event is exact
// (checked against a brute force over random histories, with equal timestamps), stays exact after
// old events are dropped, and its memory is bounded by the counts, not by the history.
#include "cloudsim/kube_timeline.h"

#include <gtest/gtest.h>

#include <random>

namespace magnumd::cloudsim {
namespace {

using namespace std::chrono_literals;

const SystemTime kT0 = SystemTime{} + std::chrono::hours(24 * 365 * 56);

struct Sample {
  uint64_t seq;
  SystemTime time;
  uint32_t value;
};

// The least value in effect at any instant from t on, the one in effect at t included.
std::optional<uint32_t> naiveSinceTime(const std::vector<Sample>& samples, SystemTime t) {
  if (samples.empty()) return std::nullopt;
  size_t k = 0;  // the sample in effect at t: the last at or before it, else the first
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].time <= t) k = i;
  }
  uint32_t least = UINT32_MAX;
  for (size_t i = k; i < samples.size(); ++i) least = std::min(least, samples[i].value);
  return least;
}

std::optional<uint32_t> naiveSinceSeq(const std::vector<Sample>& samples, uint64_t seq) {
  if (samples.empty()) return std::nullopt;
  uint32_t least = UINT32_MAX;
  for (const Sample& s : samples) {
    if (s.seq >= seq) least = std::min(least, s.value);
  }
  return least == UINT32_MAX ? samples.back().value : least;
}

TEST(SuffixMinTest, MatchesABruteForceOverRandomHistories) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    SuffixMin tracker;
    std::vector<Sample> samples;
    SystemTime t = kT0;
    int n = 1 + static_cast<int>(rng() % 60);
    uint32_t value = rng() % 6;
    for (int i = 1; i <= n; ++i) {
      t += std::chrono::seconds(rng() % 3);  // equal times are common: several changes at once
      value = static_cast<uint32_t>(std::max<int>(0, static_cast<int>(value) + int(rng() % 5) - 2));
      samples.push_back({static_cast<uint64_t>(i), t, value});
      tracker.push(static_cast<uint64_t>(i), t, value);
    }
    for (SystemTime q = kT0 - 1s; q <= t + 1s; q += 500ms) {
      ASSERT_EQ(tracker.sinceTime(q), naiveSinceTime(samples, q))
          << "round " << round << " at +" << (q - kT0).count();
    }
    for (uint64_t q = 0; q <= static_cast<uint64_t>(n) + 1; ++q) {
      ASSERT_EQ(tracker.sinceSeq(q), naiveSinceSeq(samples, q)) << "round " << round;
    }
    EXPECT_LE(tracker.size(), 6u + 2u * 60u);  // at most one entry per distinct value
  }
}

TEST(SuffixMinTest, TheStateInEffectAtTheStartCounts) {
  SuffixMin m;
  EXPECT_EQ(m.sinceTime(kT0), std::nullopt);
  m.push(1, kT0, 3);
  m.push(2, kT0 + 10s, 1);  // a node went NotReady
  m.push(3, kT0 + 20s, 3);  // and came back
  m.push(4, kT0 + 30s, 2);
  EXPECT_EQ(m.sinceTime(kT0 - 1s), 1u);
  EXPECT_EQ(m.sinceTime(kT0 + 15s), 1u);  // 1 was in effect at +15s
  EXPECT_EQ(m.sinceTime(kT0 + 20s), 2u);
  EXPECT_EQ(m.sinceTime(kT0 + 25s), 2u);
  EXPECT_EQ(m.sinceTime(kT0 + 1h), 2u);  // the current value
  EXPECT_EQ(m.sinceSeq(3), 2u);
  EXPECT_EQ(m.sinceSeq(2), 1u);
  EXPECT_EQ(m.sinceSeq(99), 2u);
}

TimelineCounts workers(uint32_t ready, uint32_t schedulable, uint32_t nodes) {
  TimelineCounts c;
  c.masters = {1, 1, 1};
  c.workers = {nodes, ready, schedulable};
  return c;
}

TEST(NodeTimelineTest, DroppedEventsKeepTheMinimumExact) {
  NodeTimeline timeline(4);
  SystemTime t = kT0;
  timeline.record(t, "m-0", TimelineEventType::Joined, true, true, "v1.30.4", workers(0, 0, 0));
  timeline.record(t += 1s, "w-0", TimelineEventType::Joined, false, true, "v1.30.4",
                  workers(1, 1, 1));
  timeline.record(t += 1s, "w-1", TimelineEventType::Joined, false, true, "v1.30.4",
                  workers(2, 2, 2));
  SystemTime rollout = t + 500ms;
  // A rollout: cordon, delete, replacement joins NotReady then Ready; the other likewise.
  timeline.record(t += 1s, "w-0", TimelineEventType::Cordoned, false, true, "v1.30.4",
                  workers(2, 1, 2));
  timeline.record(t += 1s, "w-0", TimelineEventType::Deleted, false, true, "v1.30.4",
                  workers(1, 1, 1));
  timeline.record(t += 1s, "w-2", TimelineEventType::Joined, false, false, "v1.31.0",
                  workers(1, 1, 2));
  timeline.record(t += 1s, "w-2", TimelineEventType::Ready, false, true, "v1.31.0",
                  workers(2, 2, 2));
  for (int i = 0; i < 100; ++i) {  // a long quiet period of master flaps
    TimelineCounts c = workers(2, 2, 2);
    c.masters.ready = i % 2;
    timeline.record(t += 1s, "m-0", i % 2 ? TimelineEventType::Ready : TimelineEventType::NotReady,
                    true, i % 2 == 1, "v1.30.4", c);
  }
  EXPECT_EQ(timeline.events().size(), 4u);
  EXPECT_EQ(timeline.dropped(), 103u);
  EXPECT_EQ(timeline.lastSeq(), 107u);
  EXPECT_EQ(timeline.events().front().seq, 104u);

  RoleSummary all = timeline.summary(false, std::nullopt);
  EXPECT_EQ(all.min_ready, 0u);  // before any worker joined
  EXPECT_EQ(all.now, (RoleCounts{2, 2, 2}));
  RoleSummary during = timeline.summary(false, rollout);
  EXPECT_EQ(during.min_ready, 1u);
  EXPECT_EQ(during.min_schedulable, 1u);
  EXPECT_EQ(timeline.summary(false, std::nullopt, 7).min_ready, 2u);  // after the rollout
  EXPECT_EQ(timeline.summary(false, std::nullopt, 4).min_ready, 1u);
  EXPECT_EQ(timeline.summary(false, std::nullopt, 4).min_schedulable, 1u);
  EXPECT_EQ(timeline.summary(true, rollout).min_ready, 0u);
  EXPECT_EQ(timeline.summary(true, t).min_ready, 1u);
  EXPECT_LE(timeline.trackerSize(), 12u);
}

TEST(NodeTimelineTest, BeforeAnyEventEverythingIsZero) {
  NodeTimeline timeline;
  RoleSummary s = timeline.summary(false, kT0);
  EXPECT_EQ(s.min_ready, 0u);
  EXPECT_EQ(s.now, RoleCounts{});
  EXPECT_EQ(timeline.lastSeq(), 0u);
  EXPECT_EQ(timelineEventName(TimelineEventType::NotReady), "notready");
}

}  // namespace
}  // namespace magnumd::cloudsim
