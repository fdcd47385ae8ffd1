#include "cli/api_client.h"

#include <gtest/gtest.h>

namespace magnumd::cli {
namespace {

TEST(ErrorFromResponse, DecodesAStatusWithCauses) {
  ApiError e = errorFromResponse(422, R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "reason":"Invalid","message":"Cluster \"prod\" is invalid","code":422,
    "details":{"name":"prod","kind":"Cluster","causes":[
      {"field":"spec.masterCount","message":"2: must be odd"},
      {"field":"spec.nodeCount","message":"-1: must be >= 0"}]}})");
  EXPECT_EQ(e.http_status, 422);
  EXPECT_EQ(e.reason, "Invalid");
  ASSERT_EQ(e.causes.size(), 2u);
  EXPECT_EQ(formatError(e),
            "Error from server (Invalid): Cluster \"prod\" is invalid\n"
            "  * spec.masterCount: 2: must be odd\n"
            "  * spec.nodeCount: -1: must be >= 0");
  EXPECT_EQ(formatError(e, "applying cluster/prod from c.yaml"),
            "Error from server (Invalid): applying cluster/prod from c.yaml: Cluster \"prod\" is "
            "invalid\n  * spec.masterCount: 2: must be odd\n  * spec.nodeCount: -1: must be >= 0");
}

TEST(FormatError, CausesRepeatedInTheMessageAreListedOnce) {
  ApiError e = errorFromResponse(422, R"({"kind":"Status","reason":"Invalid","code":422,
    "message":"Cluster \"bad\" is invalid: spec.nodeCount: -1 is not between 0 and 10000; spec.masterCount: 2 is even",
    "details":{"causes":[{"field":"spec.nodeCount","message":"-1 is not between 0 and 10000"},
                         {"field":"spec.masterCount","message":"2 is even"}]}})");
  EXPECT_EQ(formatError(e),
            "Error from server (Invalid): Cluster \"bad\" is invalid\n"
            "  * spec.nodeCount: -1 is not between 0 and 10000\n"
            "  * spec.masterCount: 2 is even");
  // A message that does not carry every cause is kept whole.
  e.causes.push_back({"spec.flavor", "unknown"});
  EXPECT_NE(formatError(e).find("is invalid: spec.nodeCount"), std::string::npos);
}

TEST(ErrorFromResponse, NonStatusBodiesKeepTheTextAndGetAReasonFromTheCode) {
  ApiError e = errorFromResponse(502, "<html>bad gateway</html>\n");
  EXPECT_EQ(e.reason, "InternalError");
  EXPECT_EQ(e.message, "HTTP 502: <html>bad gateway</html>");
  ApiError empty = errorFromResponse(404, "");
  EXPECT_EQ(empty.reason, "NotFound");
  EXPECT_EQ(empty.message, "the server answered HTTP 404");
  std::string huge(5000, 'x');
  EXPECT_LT(errorFromResponse(500, huge).message.size(), 500u);
}

TEST(FormatError, TransportErrorsAndHints) {
  ApiError e{0,
             "Unavailable",
             "cannot reach the magnumd server at http://127.0.0.1:1: refused",
             {},
             "Is magnumd running there?"};
  EXPECT_EQ(formatError(e),
            "error: cannot reach the magnumd server at http://127.0.0.1:1: refused\n"
            "Is magnumd running there?");
}

TEST(Paths, NamespacedAndClusterWide) {
  EXPECT_EQ(collectionPath(api::Kind::Cluster, "demo"),
            "/apis/container-infra/v1/namespaces/demo/clusters");
  EXPECT_EQ(collectionPath(api::Kind::NodeGroup, ""), "/apis/container-infra/v1/nodegroups");
  EXPECT_EQ(objectPath(api::Kind::ClusterTemplate, "demo", "k8s small"),
            "/apis/container-infra/v1/namespaces/demo/clustertemplates/k8s%20small");
}

}  // namespace
}  // namespace magnumd::cli
