// Contract tests: every relevant verbatim OpenStack sample in shared/fixtures/openstack parses
// into what the driver needs, and no sample crashes any parser.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/openstack/errors.h"
#include "drivers/openstack/heat_parse.h"
#include "drivers/openstack/keystone.h"
#include "drivers/openstack/nova.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {
namespace {

namespace fs = std::filesystem;

fs::path fixturesDir() {
  if (const char* env = std::getenv("MAGNUMD_FIXTURES"); env != nullptr && *env != '\0') return env;
  return MAGNUMD_FIXTURES_DIR;
}

std::string fixture(const std::string& rel) {
  fs::path path = fixturesDir() / rel;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << path << " (set MAGNUMD_FIXTURES)";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string canonical(const std::string& json) {
  auto doc = util::parseJson(json);
  EXPECT_TRUE(doc.ok());
  return doc.ok() ? util::toJson(*doc) : "";
}

TEST(Fixtures, DirectoryIsPresent) {
  ASSERT_TRUE(fs::is_directory(fixturesDir() / "heat")) << fixturesDir();
}

TEST(KeystoneFixtures, ProjectScopedTokenWithFullCatalog) {
  auto t = parseTokenResponse(fixture("keystone/auth-password-project-scoped-response.json"), "tok");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->project_id, "a6944d763bf64ee6a275f1263fae0352");
  ASSERT_TRUE(t->expires_at.has_value());
  // What magnumd's API maps to its own roles when it validates a user's token.
  EXPECT_EQ(t->user_name, "admin");
  EXPECT_EQ(t->roles, (std::vector<std::string>{"admin"}));
  auto heat = selectEndpoint(t->catalog, "orchestration", "public", "RegionOne", t->project_id);
  ASSERT_TRUE(heat.ok()) << heat.error().message;
  EXPECT_EQ(*heat, "http://23.253.248.171:8004/v1/a6944d763bf64ee6a275f1263fae0352");
  EXPECT_TRUE(selectEndpoint(t->catalog, "compute", "public", "RegionOne", t->project_id).ok());
}

TEST(KeystoneFixtures, OtherTokenShapes) {
  for (const char* name : {"keystone/project-scoped-password.json", "keystone/unscoped-password.json",
                           "keystone/auth-password-unscoped-response.json",
                           "keystone/auth-application-credential-response.json"}) {
    auto t = parseTokenResponse(fixture(name), "tok");
    ASSERT_TRUE(t.ok()) << name << ": " << t.error().message;
    EXPECT_FALSE(t->user_id.empty()) << name;
  }
  auto scoped = parseTokenResponse(fixture("keystone/project-scoped-password.json"), "tok");
  EXPECT_EQ(selectEndpoint(scoped->catalog, "identity", "internal", "RegionOne", "").value(),
            "http://example.com/identity");
  auto appcred = parseTokenResponse(fixture("keystone/auth-application-credential-response.json"), "tok");
  EXPECT_FALSE(appcred->project_id.empty());
}

TEST(KeystoneFixtures, CatalogResponseWithDeprecatedRegionField) {
  auto catalog = parseCatalogResponse(fixture("keystone/get-service-catalog-response.json"));
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  ASSERT_FALSE(catalog->empty());
  // Only `region` is set there; it must still match a region filter.
  EXPECT_TRUE(selectEndpoint(*catalog, "identity", "public", "RegionOne", "").ok());
}

TEST(KeystoneFixtures, MfaReceiptIsNotMistakenForAToken) {
  auto t = parseTokenResponse(fixture("keystone/auth-receipt-password.json"), "tok");
  EXPECT_FALSE(t.ok());
}

TEST(KeystoneFixtures, HttpSampleCarriesTheTokenInXSubjectToken) {
  // The sample is headers only: the token id travels in X-Subject-Token, never in the body.
  std::istringstream raw(fixture("keystone/auth-password-user-name-unscoped-response-HTTP.txt"));
  http::HttpResponse res;
  std::string line;
  std::getline(raw, line);
  ASSERT_EQ(line.rfind("HTTP/1.1 201", 0), 0u) << line;
  res.status = 201;
  while (std::getline(raw, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    res.headers.push_back({line.substr(0, colon), line.substr(colon + 2)});
  }
  ASSERT_NE(res.header("x-subject-token"), nullptr);
  EXPECT_EQ(*res.header("x-subject-token"), "ffe47524401e4d61adc7310f7e5b6191");
  EXPECT_EQ(res.requestId(), "req-f2f3f6ca-e342-4cd8-bc12-71a5436ef5fc");
}

TEST(KeystoneFixtures, OurRequestBodiesMatchTheSamples) {
  CloudConfig by_id;
  by_id.user_id = "423f19a4ac1e4f48bbb4180756e6eb6c";
  by_id.password = "devstacker";
  EXPECT_EQ(authRequestBody(by_id), canonical(fixture("keystone/auth-password-unscoped-request.json")));

  CloudConfig with_domain;
  with_domain.username = "admin";
  with_domain.user_domain_name = "Default";
  with_domain.password = "devstacker";
  EXPECT_EQ(authRequestBody(with_domain),
            canonical(fixture("keystone/auth-password-unscoped-request-with-domain.json")));

  CloudConfig project_id;
  project_id.user_id = "ee4dfb6e5540447cb3741905149d9b6e";
  project_id.password = "devstacker";
  project_id.project_id = "a6944d763bf64ee6a275f1263fae0352";
  EXPECT_EQ(authRequestBody(project_id), canonical(fixture("keystone/project-id-password.json")));

  CloudConfig project_name = project_id;
  project_name.project_id.clear();
  project_name.project_name = "admin";
  project_name.project_domain_id = "default";
  // Member order differs from the sample; compare as parsed documents.
  auto ours = util::parseJson(authRequestBody(project_name));
  auto sample = util::parseJson(fixture("keystone/project-name-password.json"));
  EXPECT_TRUE(ours.value() == sample.value());

  CloudConfig appcred_id;
  appcred_id.auth_type = "v3applicationcredential";
  appcred_id.application_credential_id = "423f19a4ac1e4f48bbb4180756e6eb6c";
  appcred_id.application_credential_secret = "rEaqvJka48mpv";
  EXPECT_EQ(authRequestBody(appcred_id),
            canonical(fixture("keystone/auth-application-credential-id-request.json")));

  CloudConfig appcred_name;
  appcred_name.auth_type = "v3applicationcredential";
  appcred_name.application_credential_name = "monitoring";
  appcred_name.user_id = "423f19a4ac1e4f48bbb4180756e6eb6c";
  appcred_name.application_credential_secret = "rEaqvJka48mpv";
  ours = util::parseJson(authRequestBody(appcred_name));
  sample = util::parseJson(fixture("keystone/auth-application-credential-name-request.json"));
  EXPECT_TRUE(ours.value() == sample.value());
}

TEST(HeatFixtures, CreateShowListResponses) {
  auto ref = parseStackCreateResponse(fixture("heat/stack-create-response.json"));
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->id, "3095aefc-09fb-4bc7-b1f0-f21a304e864c");
  EXPECT_EQ(ref->name, "teststack");

  auto show = parseStackShowResponse(fixture("heat/stack-show-response.json"));
  ASSERT_TRUE(show.ok()) << show.error().message;
  EXPECT_EQ(show->ref.name, "simple_stack");
  EXPECT_EQ(show->status, "CREATE_COMPLETE");
  EXPECT_EQ(show->action(), "CREATE");
  EXPECT_TRUE(show->complete());
  EXPECT_TRUE(show->tags.empty());  // "tags": null
  EXPECT_EQ(show->parameters.at("OS::stack_name"), "simple_stack");
  EXPECT_FALSE(show->timeout_mins.has_value());
  ASSERT_TRUE(show->created.has_value());

  auto list = parseStackListResponse(fixture("heat/stacks-list-response.json"));
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].ref.id, "3095aefc-09fb-4bc7-b1f0-f21a304e864c");
  EXPECT_EQ(list->next_marker, "");
}

TEST(HeatFixtures, OutputResourceEvent) {
  auto out = parseOutputShowResponse(fixture("heat/stack-output-show-response.json"));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->key, "output_name");
  EXPECT_EQ(out->value_json, "\"output_value\"");
  EXPECT_EQ(out->error, "error message");

  auto res = parseResourceShowResponse(fixture("heat/resource-show-response.json"));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->name, "random_key_name");
  EXPECT_EQ(res->physical_id, "mystack-random_key_name-pmjmy5pks735");
  EXPECT_EQ(res->type, "OS::Heat::RandomString");
  EXPECT_EQ(res->stack, (StackRef{"mystack", "629a32d0-ac4f-4f63-b58d-f0d047b1ba4c"}));

  auto ev = parseEventShowResponse(fixture("heat/event-show-response.json"));
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->status, "CREATE_IN_PROGRESS");
  EXPECT_EQ(ev->physical_id, "");  // null
  EXPECT_TRUE(ev->time.has_value());
}

TEST(HeatFixtures, RedirectAndAcceptedBodiesYieldAMessage) {
  for (const char* name : {"heat/stack-find-response.json", "heat/events-find-response.json",
                           "heat/stack-find-delete-response.json", "heat/stack-update-response.json"}) {
    EXPECT_FALSE(cloudMessage(fixture(name)).empty()) << name;
  }
}

TEST(HeatFixtures, OurCreateBodyHasTheSampleShape) {
  auto sample = util::parseJson(fixture("heat/stack-create-request.json"));
  ASSERT_TRUE(sample.ok());
  StackCreate c;
  c.name = "teststack";
  c.template_text = "heat_template_version: 2013-05-23\n";
  c.parameters = {{"flavor", "m1.small"}};
  c.timeout_mins = 60;
  c.tags = {"a", "b"};
  auto ours = util::parseJson(stackCreateBody(c));
  ASSERT_TRUE(ours.ok());
  for (auto it = sample->MemberBegin(); it != sample->MemberEnd(); ++it) {
    std::string key = it->name.GetString();
    if (key == "template" || key == "stack_name" || key == "parameters" || key == "timeout_mins") {
      EXPECT_NE(util::member(*ours, key), nullptr) << key;
    }
  }
  EXPECT_EQ(util::stringMember(*ours, "tags").value_or(""), "a,b");  // a string, not an array
}

TEST(NovaFixtures, ServerShowAcrossMicroversions) {
  auto s = parseServerShowResponse(fixture("nova/servers/server-get-resp.json"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->id, "0e44cc9c-e052-415d-afbf-469b0d384170");
  EXPECT_EQ(s->status, "ACTIVE");
  EXPECT_EQ(s->flavor, "1");
  EXPECT_FALSE(s->image_id.empty());
  ASSERT_FALSE(s->addresses.empty());
  EXPECT_EQ(s->addresses[0].network, "private");
  EXPECT_TRUE(s->updated.has_value());

  auto v247 = parseServerShowResponse(fixture("nova/servers/v2.47/server-get-resp.json"));
  ASSERT_TRUE(v247.ok()) << v247.error().message;
  EXPECT_EQ(v247->flavor, "m1.tiny.specs");
  EXPECT_EQ(v247->metadata.at("My Server Name"), "Apache1");
  EXPECT_EQ(v247->addresses[0].type, "fixed");
  EXPECT_EQ(v247->vm_state, "active");
  EXPECT_EQ(v247->task_state, "");

  auto tagged = parseServerShowResponse(fixture("nova/os-server-tags/v2.26/server-tags-show-details-resp.json"));
  ASSERT_TRUE(tagged.ok()) << tagged.error().message;
  EXPECT_EQ(tagged->tags, (std::vector<std::string>{"tag1", "tag2"}));

  for (const char* name : {"nova/servers/server-create-resp.json", "nova/servers/server-update-resp.json",
                           "nova/servers/server-action-rebuild-resp.json"}) {
    auto other = parseServerShowResponse(fixture(name));
    EXPECT_TRUE(other.ok()) << name << ": " << other.error().message;
  }
}

TEST(NovaFixtures, ServerListsAndTheirNextMarkers) {
  struct Case {
    const char* file;
    const char* first_id;
    const char* marker;
  } cases[] = {
      {"nova/servers/servers-details-resp.json", "f5dc173b-6804-445a-a6d8-c705dad5b5eb",
       "f5dc173b-6804-445a-a6d8-c705dad5b5eb"},
      {"nova/servers/v2.47/servers-details-resp.json", "764e369e-a874-4401-b7ce-43e4760888da",
       "764e369e-a874-4401-b7ce-43e4760888da"},
      {"nova/servers/v2.66/servers-details-with-changes-before.json",
       "569f39f9-7c76-42a1-9c2d-8394e2638a6e", ""},
      {"nova/os-server-tags/v2.26/servers-tags-details-resp.json", "f5dc173b-6804-445a-a6d8-c705dad5b5eb", ""},
      {"nova/servers/servers-list-resp.json", "22c91117-08de-4894-9aa9-6ef382400985",
       "22c91117-08de-4894-9aa9-6ef382400985"},
      {"nova/servers/servers-list-status-resp.json", "22c91117-08de-4894-9aa9-6ef382400985",
       "22c91117-08de-4894-9aa9-6ef382400985"},
  };
  for (const auto& c : cases) {
    auto page = parseServerListResponse(fixture(c.file));
    ASSERT_TRUE(page.ok()) << c.file << ": " << page.error().message;
    ASSERT_EQ(page->items.size(), 1u) << c.file;
    EXPECT_EQ(page->items[0].id, c.first_id) << c.file;
    EXPECT_EQ(page->next_marker, c.marker) << c.file;
  }
  auto tagged = parseServerListResponse(fixture("nova/os-server-tags/v2.26/servers-tags-details-resp.json"));
  EXPECT_EQ(tagged->items[0].tags, (std::vector<std::string>{"tag1", "tag2"}));
}

// Whatever a sample holds, no parser may crash on it (each returns a value or an Error).
TEST(Fixtures, NoParserCrashesOnAnySample) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fixturesDir())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();
    (void)parseTokenResponse(body, "t");
    (void)parseCatalogResponse(body);
    (void)parseStackCreateResponse(body);
    (void)parseStackShowResponse(body);
    (void)parseStackListResponse(body);
    (void)parseResourceListResponse(body);
    (void)parseResourceShowResponse(body);
    (void)parseEventListResponse(body);
    (void)parseEventShowResponse(body);
    (void)parseOutputShowResponse(body);
    (void)parseServerShowResponse(body);
    (void)parseServerListResponse(body);
    (void)cloudMessage(body);
    ++files;
  }
  EXPECT_GT(files, 60);
}

}  // namespace
}  // namespace magnumd::drivers::openstack
