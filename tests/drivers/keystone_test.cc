#include "drivers/openstack/keystone.h"

#include <gtest/gtest.h>

#include "util/json.h"

namespace magnumd::drivers::openstack {
namespace {

std::string canonical(std::string_view json) {
  auto doc = util::parseJson(json);
  EXPECT_TRUE(doc.ok()) << json;
  return doc.ok() ? util::toJson(*doc) : "";
}

TEST(KeystoneAuthBody, PasswordByNameWithDomainsScopedToProjectName) {
  CloudConfig c;
  c.username = "admin";
  c.password = "devstacker";
  c.user_domain_name = "Default";
  c.project_name = "admin";
  c.project_domain_id = "default";
  EXPECT_EQ(authRequestBody(c),
            canonical(R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin",
              "domain":{"name":"Default"},"password":"devstacker"}}},
              "scope":{"project":{"name":"admin","domain":{"id":"default"}}}}})"));
}

TEST(KeystoneAuthBody, PasswordByIdsScopedToProjectId) {
  CloudConfig c;
  c.user_id = "u1";
  c.password = "pw";
  c.user_domain_name = "ignored-with-id";
  c.project_id = "p1";
  c.project_name = "ignored-with-id";
  EXPECT_EQ(authRequestBody(c),
            canonical(R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"u1",
              "password":"pw"}}},"scope":{"project":{"id":"p1"}}}})"));
}

TEST(KeystoneAuthBody, ApplicationCredentialSendsNoScope) {
  CloudConfig c;
  c.auth_type = "v3applicationcredential";
  c.application_credential_id = "423f19a4ac1e4f48bbb4180756e6eb6c";
  c.application_credential_secret = "rEaqvJka48mpv";
  c.project_name = "would-be-rejected";
  EXPECT_EQ(authRequestBody(c),
            canonical(R"({"auth":{"identity":{"methods":["application_credential"],
              "application_credential":{"id":"423f19a4ac1e4f48bbb4180756e6eb6c","secret":"rEaqvJka48mpv"}}}})"));

  CloudConfig by_name;
  by_name.auth_type = "v3applicationcredential";
  by_name.application_credential_name = "monitoring";
  by_name.username = "demo";
  by_name.user_domain_id = "default";
  by_name.application_credential_secret = "s";
  EXPECT_EQ(authRequestBody(by_name),
            canonical(R"({"auth":{"identity":{"methods":["application_credential"],
              "application_credential":{"name":"monitoring","user":{"name":"demo","domain":{"id":"default"}},
              "secret":"s"}}}})"));
}

std::vector<CatalogService> sampleCatalog() {
  return {
      {"orchestration", "heat",
       {{"internal", "RegionOne", "http://internal:8004/v1/%(tenant_id)s"},
        {"public", "RegionTwo", "http://two:8004/v1/$(project_id)s"},
        {"public", "RegionOne", "http://one:8004/v1/$(tenant_id)s/"}}},
      {"compute", "nova", {{"public", "RegionOne", "http://nova/compute/v2.1"}}},
  };
}

TEST(KeystoneCatalog, SelectsByTypeInterfaceAndRegionAndSubstitutesProject) {
  auto c = sampleCatalog();
  EXPECT_EQ(selectEndpoint(c, "orchestration", "public", "RegionOne", "p1").value(), "http://one:8004/v1/p1");
  EXPECT_EQ(selectEndpoint(c, "orchestration", "public", "RegionTwo", "p1").value(), "http://two:8004/v1/p1");
  EXPECT_EQ(selectEndpoint(c, "orchestration", "internal", "", "p1").value(), "http://internal:8004/v1/p1");
  EXPECT_EQ(selectEndpoint(c, "compute", "public", "", "p1").value(), "http://nova/compute/v2.1");
}

TEST(KeystoneCatalog, MissingEndpointSaysWhatIsOffered) {
  auto c = sampleCatalog();
  auto r = selectEndpoint(c, "compute", "internal", "RegionOne", "p1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::NotFound);
  EXPECT_NE(r.error().message.find("offers public@RegionOne"), std::string::npos) << r.error().message;
  r = selectEndpoint(c, "key-manager", "public", "", "p1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no \"key-manager\" service"), std::string::npos);
}

TEST(KeystoneToken, RejectsMalformedBodies) {
  for (const char* body : {"", "{", "[]", R"({"token": 3})", R"({"token": {"expires_at": "tomorrow"}})",
                           R"({"token": {"catalog": {}}})"}) {
    auto t = parseTokenResponse(body, "id");
    EXPECT_FALSE(t.ok()) << body;
  }
  auto t = parseTokenResponse(R"({"token": {"expires_at": null, "catalog": [1, {"type": "x"}]}})", "id");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->expires_at.has_value());  // null: never expires
  ASSERT_EQ(t->catalog.size(), 1u);
}

}  // namespace
}  // namespace magnumd::drivers::openstack
