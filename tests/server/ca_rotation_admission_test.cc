// spec.caGeneration at update admission: a rotation is one generation up from the one in use,
// never down; while a rollout or another rotation runs it is refused with 409 (not queued).
#include <fmt/format.h>

#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;

constexpr const char* kMergePatch = "application/merge-patch+json";

class CaRotationAdmissionTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    ASSERT_EQ(call(V::post, fmt::format("{}/namespaces/demo/clustertemplates", kBase),
                   templateJson("demo", "k8s"))
                  .code,
              201u);
    ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  }
  std::string clusterPath() const { return fmt::format("{}/namespaces/demo/clusters/prod", kBase); }
  void setStatus(const std::string& status) {
    auto r = call(V::patch, clusterPath() + "/status", status, kAdmin, kMergePatch);
    ASSERT_EQ(r.code, 200u) << r.body;
  }
  Reply rotateTo(int64_t generation) {
    return call(V::patch, clusterPath(),
                fmt::format(R"({{"spec":{{"caGeneration":{}}}}})", generation), kAdmin,
                kMergePatch);
  }
};

TEST_F(CaRotationAdmissionTest, OneGenerationUpIsAccepted) {
  auto r = rotateTo(1);
  EXPECT_EQ(r.code, 200u) << r.body;
  EXPECT_EQ(rotateTo(1).code, 200u);  // the same value changes nothing
}

TEST_F(CaRotationAdmissionTest, GoingDownOrSkippingIsInvalidNamingTheField) {
  ASSERT_EQ(rotateTo(1).code, 200u);
  auto down = rotateTo(0);
  EXPECT_EQ(down.code, 422u) << down.body;
  EXPECT_EQ(down.str("/details/causes/0/field"), "spec.caGeneration");
  EXPECT_NE(down.str("/details/causes/0/message").find("cannot go down from 1 to 0"),
            std::string::npos)
      << down.body;
  auto skip = rotateTo(5);
  EXPECT_EQ(skip.code, 422u) << skip.body;
  EXPECT_NE(skip.str("/details/causes/0/message").find("skips generations"), std::string::npos)
      << skip.body;
  auto negative = rotateTo(-1);
  EXPECT_EQ(negative.code, 422u) << negative.body;
}

TEST_F(CaRotationAdmissionTest, RefusedWithConflictWhileARolloutOrARotationRuns) {
  setStatus(
      R"({"status":{"rollout":{"phase":"Progressing","message":"default-worker: 1/2 on r1"}}})");
  auto during_rollout = rotateTo(1);
  EXPECT_EQ(during_rollout.code, 409u) << during_rollout.body;
  EXPECT_NE(during_rollout.str("/message").find("a rollout is running"), std::string::npos)
      << during_rollout.body;

  setStatus(
      R"({"status":{"rollout":{"phase":"Complete","message":""},)"
      R"("caRotation":{"generation":1,"phase":"SigningWithNewCa","message":"step 2 of 3"}}})");
  auto during_rotation = rotateTo(2);
  EXPECT_EQ(during_rotation.code, 409u) << during_rotation.body;
  EXPECT_NE(during_rotation.str("/message").find("a CA rotation is already running"),
            std::string::npos)
      << during_rotation.body;

  // Once complete, the next generation after the one in use is accepted, even if an automatic
  // rotation (CA expiry) moved past what the spec asked for.
  setStatus(R"({"status":{"caRotation":{"generation":1,"phase":"Complete"}}})");
  EXPECT_EQ(rotateTo(2).code, 200u);
}

}  // namespace
}  // namespace magnumd::server::testing
