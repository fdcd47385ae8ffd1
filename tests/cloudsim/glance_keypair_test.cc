// Glance v2 images and Nova key pairs as clients see them: filters, paging, properties, and
// Nova's bodies and status codes per microversion.
#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

class GlanceTest : public SimTest {
 protected:
  void SetUp() override { token = login(); }
  Reply createImage(const std::string& body, const std::string& as = "") {
    return call("POST", "/image/v2/images", body, as.empty() ? token : as);
  }
  std::string token;
};

TEST_F(GlanceTest, SeededImagesCarryOsDistro) {
  Reply r = call("GET", "/image/v2/images?name=fedora-coreos-38", "", token);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["images"].Size(), 1u);
  EXPECT_EQ(str(r.json["images"][0]["os_distro"]), "fedora-coreos");
  EXPECT_EQ(str(r.json["images"][0]["status"]), "active");
  std::string id = str(r.json["images"][0]["id"]);
  Reply one = call("GET", "/image/v2/images/" + id, "", token);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(str(one.json["name"]), "fedora-coreos-38");
}

TEST_F(GlanceTest, CreateKeepsPropertiesAndFiltersByThem) {
  Reply r = createImage(
      R"({"name":"coreos-x","disk_format":"qcow2","container_format":"bare","os_distro":"fedora-coreos","hw_rng_model":"virtio"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(str(r.json["status"]), "queued");
  EXPECT_EQ(str(r.json["visibility"]), "shared");
  EXPECT_EQ(str(r.json["os_distro"]), "fedora-coreos");
  EXPECT_EQ(str(r.json["owner"]), projectId());
  std::string id = str(r.json["id"]);
  Reply listed =
      call("GET", "/image/v2/images?os_distro=fedora-coreos&hw_rng_model=virtio", "", token);
  ASSERT_EQ(listed.json["images"].Size(), 1u) << listed.body;
  EXPECT_EQ(str(listed.json["images"][0]["id"]), id);

  Reply upload = call("PUT", "/image/v2/images/" + id + "/file", "qcow2 bytes", token,
                      {{"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(upload.status, 204) << upload.body;
  EXPECT_EQ(str(call("GET", "/image/v2/images/" + id, "", token).json["status"]), "active");

  // Another project does not see a shared image it is not a member of.
  Reply other = call("GET", "/image/v2/images/" + id, "", login("admin", "admin"));
  EXPECT_EQ(other.status, 200) << "admin sees every image";
  EXPECT_EQ(call("DELETE", "/image/v2/images/" + id, "", token).status, 204);
  Reply gone = call("GET", "/image/v2/images/" + id, "", token);
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(str(gone.json["message"]).find(id), std::string::npos) << gone.body;
}

TEST_F(GlanceTest, RefusesReadOnlyAndMistypedAttributes) {
  EXPECT_EQ(createImage(R"({"name":"x","status":"active"})").status, 403);
  EXPECT_EQ(createImage(R"({"name":"x","os_distro":5})").status, 400);
  EXPECT_EQ(createImage(R"({"name":"x","visibility":"public"})").status, 403)
      << "members cannot publicize";
  EXPECT_EQ(createImage(R"({"name":"x","visibility":"public"})", login("admin", "admin")).status,
            201);
}

TEST_F(GlanceTest, PagesWithLimitMarkerAndNext) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(createImage(R"({"name":"page-)" + std::to_string(i) + R"("})").status, 201);
  }
  std::vector<std::string> names;
  std::string next = "/v2/images?limit=2";
  int pages = 0;
  while (!next.empty() && pages < 10) {
    Reply r = call("GET", "/image" + next, "", token);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& image : r.json["images"].GetArray()) names.push_back(str(image["name"]));
    next = r.json.HasMember("next") ? str(r.json["next"]) : "";
    ++pages;
  }
  // Newest first; 5 created + 3 seeded public images.
  ASSERT_EQ(names.size(), 8u);
  EXPECT_EQ(names[0], "page-4");
  EXPECT_EQ(names[4], "page-0");
  // As Glance: every full page links a next one, so 8 images in pages of 2 end with an empty page.
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(call("GET", "/image/v2/images?marker=nope", "", token).status, 400);
}

class KeypairTest : public SimTest {
 protected:
  void SetUp() override { token = login(); }
  Reply nova(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& version = "2.2") {
    return call(method, "/compute/v2.1" + path, body, token,
                {{"OpenStack-API-Version", "compute " + version}});
  }
  std::string token;
};

TEST_F(KeypairTest, EveryUserStartsWithDemoKey) {
  Reply r = nova("GET", "/os-keypairs/demo-key");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json["keypair"]["type"]), "ssh");
  EXPECT_EQ(str(r.json["keypair"]["fingerprint"]).size(), 47u);  // 16 bytes, colon-separated
}

TEST_F(KeypairTest, GeneratedKeyReturnsThePrivateKeyOnce) {
  Reply r = nova("POST", "/os-keypairs", R"({"keypair":{"name":"gen"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(str(r.json["keypair"]["private_key"]).find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(str(r.json["keypair"]["public_key"]).rfind("ssh-rsa AAAA", 0), 0u);
  Reply shown = nova("GET", "/os-keypairs/gen");
  ASSERT_EQ(shown.status, 200);
  EXPECT_FALSE(shown.json["keypair"].HasMember("private_key"));
  EXPECT_EQ(str(shown.json["keypair"]["public_key"]), str(r.json["keypair"]["public_key"]));
  // The key Nova generated parses as the key whose fingerprint it shows.
  EXPECT_EQ(KeypairStore::fingerprint(str(shown.json["keypair"]["public_key"])).value(),
            str(shown.json["keypair"]["fingerprint"]));
}

TEST_F(KeypairTest, ImportDuplicateListDeleteWithNovaCodes) {
  const std::string pub =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAryRm/JJuIzw4uI3eOqPVeGzGyXb0vYtCLNUKzecsRU me";
  std::string body = R"({"keypair":{"name":"mine","public_key":")" + pub + R"("}})";
  Reply r = nova("POST", "/os-keypairs", body, "2.1");
  EXPECT_EQ(r.status, 200) << "2.1 answers 200: " << r.body;
  EXPECT_FALSE(r.json["keypair"].HasMember("private_key"));
  Reply dup = nova("POST", "/os-keypairs", body);
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(str(dup.json["conflictingRequest"]["message"]), "Key pair 'mine' already exists.");
  Reply bad =
      nova("POST", "/os-keypairs", R"({"keypair":{"name":"b","public_key":"ssh-rsa notbase64!"}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  Reply list = nova("GET", "/os-keypairs");
  ASSERT_EQ(list.json["keypairs"].Size(), 2u) << list.body;
  EXPECT_EQ(str(list.json["keypairs"][0]["keypair"]["name"]), "demo-key");
  EXPECT_EQ(str(list.json["keypairs"][1]["keypair"]["name"]), "mine");
  // Key pairs are the user's own.
  Reply admin = call("GET", "/compute/v2.1/os-keypairs/mine", "", login("admin", "admin"));
  EXPECT_EQ(admin.status, 404);
  EXPECT_EQ(nova("DELETE", "/os-keypairs/mine").status, 204);
  EXPECT_EQ(nova("DELETE", "/os-keypairs/demo-key", "", "2.1").status, 202);
  Reply missing = nova("GET", "/os-keypairs/mine");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(str(missing.json["itemNotFound"]["message"]).find("mine"), std::string::npos);
  EXPECT_EQ(nova("GET", "/os-keypairs").json["keypairs"].Size(), 0u);
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
