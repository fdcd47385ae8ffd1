// When certificates change: the three steps of a CA rotation in order (cluster-info first, each
// roll complete before the next step), refusals and waits, and the expiry arithmetic of CA
// renewal and of the masters' kubeadm certificates (KubeadmControlPlane's
// rolloutBefore.certificatesExpiryDays).
#include "reconcilers/certificates.h"

#include <gtest/gtest.h>

#include "api/ca_rotation.h"

namespace magnumd::reconcilers {
namespace {

using namespace std::chrono_literals;
using secrets::Rotation;

const util::SystemTime kNow = *util::parseRfc3339("2026-12-07T12:00:00Z");
constexpr auto kDay = std::chrono::hours(24);

CertificateInput idle() {
  CertificateInput in;
  in.now = kNow;
  in.ca_expires = kNow + 3650 * kDay;
  in.oldest_master = kNow - 10 * kDay;
  in.at_wanted = true;
  return in;
}

TEST(CaSetTest, NamesRoundTrip) {
  for (const api::CaSet& set :
       {api::CaSet{}, api::CaSet{1, api::CaStep::Trust, ""}, api::CaSet{1, api::CaStep::Sign, ""},
        api::CaSet{7, api::CaStep::Alone, ""},
        api::CaSet{2, api::CaStep::Sign, "2027-11-07T12:00:00Z"},
        api::CaSet{0, api::CaStep::Alone, "2027-11-07T12:00:00Z"}}) {
    auto parsed = api::parseCaSet(api::formatCaSet(set));
    ASSERT_TRUE(parsed) << api::formatCaSet(set);
    EXPECT_EQ(*parsed, set) << api::formatCaSet(set);
  }
  EXPECT_EQ(api::formatCaSet({}), "");
  EXPECT_EQ(api::formatCaSet({3, api::CaStep::Trust, ""}), "g3-trust");
  for (std::string_view bad : {"x1", "g", "g-1", "g1-drop", "g0-trust", "g1@", "g99999999999"}) {
    EXPECT_FALSE(api::parseCaSet(bad)) << bad;
  }
}

TEST(CertificatesTest, NothingToDoWithFreshCertificates) {
  auto plan = planCertificates(idle());
  EXPECT_EQ(plan.action, CertificateAction::None);
  EXPECT_EQ(plan.phase, api::kCaComplete);
}

// A settled cluster gets no other reason for a pass: the plan says when to look again.
TEST(CertificatesTest, NothingToDoNamesWhenTheNextRenewalFallsDue) {
  CertificateInput in = idle();
  auto plan = planCertificates(in);
  // The masters (booted 10 days ago, certificates for 365) come first: 30 days before expiry.
  ASSERT_TRUE(plan.recheck_at.has_value());
  EXPECT_EQ(*plan.recheck_at, kNow - 10 * kDay + 365 * kDay - 30 * kDay);
  // A CA that expires sooner than the masters' certificates comes first instead.
  in.ca_expires = kNow + 100 * kDay;
  plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::None);
  ASSERT_TRUE(plan.recheck_at.has_value());
  EXPECT_EQ(*plan.recheck_at, kNow + 70 * kDay);
  // At that time, the plan acts.
  in.now = *plan.recheck_at;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::Begin);
  // Due but blocked by a running rollout: never a time in the past (that would be a pass a
  // second); the rollout's end brings the cluster back.
  in = idle();
  in.oldest_master = kNow - 340 * kDay;  // due 5 days ago
  in.rollout_idle = false;
  plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::None);
  ASSERT_TRUE(plan.recheck_at.has_value());
  EXPECT_EQ(*plan.recheck_at, kNow + 3620 * kDay);  // the CA's, still ahead
  // Masters that cannot be replaced are never due.
  in = idle();
  in.cannot_replace_masters = "no load balancer";
  EXPECT_EQ(*planCertificates(in).recheck_at, kNow + 3620 * kDay);
}

TEST(CertificatesTest, ARaisedGenerationBeginsARotationWhenNothingRolls) {
  auto in = idle();
  in.requested_generation = 1;
  auto plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::Begin);
  EXPECT_EQ(plan.reason, api::kCaRequested);
  EXPECT_EQ(plan.phase, api::kCaTrusting);

  in.rollout_idle = false;  // an upgrade runs: the rotation waits for it (queued, not lost)
  plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::None);
  EXPECT_EQ(plan.phase, api::kCaWaiting);
  EXPECT_NE(plan.message.find("rollout"), std::string::npos) << plan.message;

  in = idle();
  in.requested_generation = 1;
  in.cannot_replace_masters = "no load balancer";
  plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::None);
  EXPECT_EQ(plan.phase, api::kCaWaiting);
  EXPECT_NE(plan.message.find("no load balancer"), std::string::npos) << plan.message;
}

TEST(CertificatesTest, EachStepWaitsForClusterInfoAndForItsRoll) {
  auto in = idle();
  in.generation = 1;
  in.rotation = Rotation::Trust;
  in.at_wanted = false;
  // cluster-info first: a node joining during the first roll must trust both CAs.
  EXPECT_EQ(planCertificates(in).action, CertificateAction::WriteClusterInfo);
  in.cluster_info_written = true;
  auto plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::None);
  EXPECT_EQ(plan.phase, api::kCaTrusting);
  in.at_wanted = true;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::ToSign);

  in.rotation = Rotation::Sign;
  in.at_wanted = false;
  plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::None);
  EXPECT_EQ(plan.phase, api::kCaSigning);
  in.at_wanted = true;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::ToDrop);

  in.rotation = Rotation::Drop;
  in.cluster_info_written = false;
  in.at_wanted = false;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::WriteClusterInfo);
  in.cluster_info_written = true;
  EXPECT_EQ(planCertificates(in).phase, api::kCaDropping);
  in.at_wanted = true;
  plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::Finish);
  EXPECT_EQ(plan.phase, api::kCaComplete);
}

TEST(CertificatesTest, ACaExpiringWithinRenewBeforeIsRotated) {
  auto in = idle();
  in.ca_expires = kNow + 31 * kDay;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::None);
  in.ca_expires = kNow + 30 * kDay;  // exactly renewBefore: due
  auto plan = planCertificates(in);
  EXPECT_EQ(plan.action, CertificateAction::Begin);
  EXPECT_EQ(plan.reason, api::kCaExpiring);
  in.renew_before = 29 * kDay;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::None);
}

TEST(CertificatesTest, MastersAreReplacedBeforeTheirKubeadmCertificatesExpire) {
  auto in = idle();
  in.oldest_master = kNow - 334 * kDay;  // expires in 31 days
  EXPECT_EQ(planCertificates(in).action, CertificateAction::None);
  in.oldest_master = kNow - 335 * kDay;  // in 30
  EXPECT_EQ(planCertificates(in).action, CertificateAction::RenewMasters);
  in.rollout_idle = false;  // not on top of a rollout
  EXPECT_EQ(planCertificates(in).action, CertificateAction::None);
  in = idle();
  in.oldest_master = kNow - 400 * kDay;
  in.cannot_replace_masters = "fixed address";
  EXPECT_EQ(planCertificates(in).action, CertificateAction::None);
  // A CA rotation replaces the masters anyway: it comes first.
  in = idle();
  in.oldest_master = kNow - 400 * kDay;
  in.requested_generation = 1;
  EXPECT_EQ(planCertificates(in).action, CertificateAction::Begin);
}

}  // namespace
}  // namespace magnumd::reconcilers
