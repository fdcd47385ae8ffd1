#include "cli/api_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

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

TEST(ParseServerUrl, AcceptsHttpAndHttpsWithDefaults) {
  auto u = parseServerUrl("http://127.0.0.1:9511");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9511);
  EXPECT_EQ(u->path, "");
  EXPECT_EQ(u->text(), "http://127.0.0.1:9511");
  auto s = parseServerUrl("HTTPS://magnum.example.org/api/");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->scheme, "https");
  EXPECT_EQ(s->port, 443);
  EXPECT_EQ(s->path, "/api");
  EXPECT_EQ(s->text(), "https://magnum.example.org:443/api");
  auto v6 = parseServerUrl("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->text(), "http://[::1]:8080");
}

TEST(ParseServerUrl, RejectsWhatItCannotUseAndSaysWhy) {
  for (auto [text, why] :
       std::vector<std::pair<const char*, const char*>>{{"127.0.0.1:9511", "missing the scheme"},
                                                        {"ftp://host", "http or https"},
                                                        {"http://host:0", "port"},
                                                        {"http://host:70000", "port"},
                                                        {"http://user:pw@host", "credentials"},
                                                        {"http://host/?x=1", "query"},
                                                        {"http://", "host"}}) {
    auto u = parseServerUrl(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_NE(u.error().message.find(why), std::string::npos) << u.error().message;
  }
}

TEST(ApiClientCreate, ABadServerUrlOrCaFileIsAnErrorUpFront) {
  auto bad_url = ApiClient::create({.server = "127.0.0.1:9511"});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.error().message.find("missing the scheme"), std::string::npos);
  auto bad_ca =
      ApiClient::create({.server = "https://127.0.0.1:1", .ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.error().message.find("/nonexistent/ca.pem"), std::string::npos)
      << bad_ca.error().message;
  EXPECT_NE(bad_ca.error().message.find("--ca-file"), std::string::npos) << bad_ca.error().message;
}

TEST(ApiClient, ARefusedConnectionNamesTheServerAndHowToPointAtIt) {
  uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto api = ApiClient::create({.server = "http://127.0.0.1:" + std::to_string(port) + "/base/"});
  ASSERT_TRUE(api.ok()) << api.error().message;
  EXPECT_EQ((*api)->serverUrl(), "http://127.0.0.1:" + std::to_string(port) + "/base");
  auto got = (*api)->get(api::Kind::Cluster, "default", "prod");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().http_status, 0);
  EXPECT_NE(got.error().message.find("cannot reach the magnumd server at http://127.0.0.1:" +
                                     std::to_string(port) + "/base"),
            std::string::npos)
      << got.error().message;
  EXPECT_NE(got.error().message.find("refused"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().hint.find("MAGNUMD_URL"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::cli
