#include "drivers/openstack/cloud_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace magnumd::drivers::openstack {
namespace {

namespace fs = std::filesystem;

constexpr char kClouds[] = R"(
clouds:
  devstack:
    auth:
      auth_url: http://10.0.0.1/identity
      username: demo
      project_name: demo
      user_domain_name: Default
      project_domain_id: default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.com:5000/v3/
      application_credential_id: 423f19a4
      application_credential_secret: rEaqvJka48mpv
    verify: false
  numeric:
    auth:
      auth_url: http://k/v3
      user_id: 12345
      password: 67890
      project_id: 424242
)";

constexpr char kSecure[] = R"(
clouds:
  devstack:
    auth:
      password: s3cret
)";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / fs::path("magnumd-cloudcfg-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << text;
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

TEST(CloudConfig, SecureYamlIsMergedIntoTheNamedCloud) {
  auto c = cloudConfigFromYaml("devstack", kClouds, kSecure, "clouds.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->auth_url, "http://10.0.0.1/identity/v3");
  EXPECT_EQ(c->username, "demo");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->project_name, "demo");
  EXPECT_EQ(c->user_domain_name, "Default");
  EXPECT_EQ(c->project_domain_id, "default");
  EXPECT_EQ(c->region_name, "RegionOne");
  EXPECT_EQ(c->interface, "internal");
  EXPECT_FALSE(c->isApplicationCredential());
  EXPECT_FALSE(c->insecure);
}

TEST(CloudConfig, ApplicationCredentialAndVerifyFalse) {
  auto c = cloudConfigFromYaml("appcred", kClouds, "", "clouds.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->isApplicationCredential());
  EXPECT_EQ(c->auth_url, "https://keystone.example.com:5000/v3");
  EXPECT_EQ(c->application_credential_id, "423f19a4");
  EXPECT_TRUE(c->insecure);
}

TEST(CloudConfig, NumericYamlScalarsAreIds) {
  auto c = cloudConfigFromYaml("numeric", kClouds, "", "clouds.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->user_id, "12345");
  EXPECT_EQ(c->password, "67890");
  EXPECT_EQ(c->project_id, "424242");
}

TEST(CloudConfig, UnknownCloudListsTheDefinedOnes) {
  auto c = cloudConfigFromYaml("nope", kClouds, "", "/etc/openstack/clouds.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, util::ErrorCode::NotFound);
  EXPECT_NE(c.error().message.find("\"nope\" not found"), std::string::npos);
  EXPECT_NE(c.error().message.find("devstack, appcred, numeric"), std::string::npos) << c.error().message;
}

TEST(CloudConfig, MissingPasswordIsNamed) {
  auto c = cloudConfigFromYaml("devstack", kClouds, "", "clouds.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("password"), std::string::npos) << c.error().message;
}

TEST(CloudConfig, MalformedYamlIsAnErrorNotACrash) {
  for (const char* text : {"clouds: [unclosed", "- just\n- a list\n", "clouds: 3\n", "{]"}) {
    auto c = cloudConfigFromYaml("x", text, "", "clouds.yaml");
    EXPECT_FALSE(c.ok()) << text;
  }
}

TEST(CloudConfig, DiscoveryOrderFollowsOpenstacksdk) {
  TempDir home, cwd, explicit_dir;
  ConfigEnvironment env;
  env.home = home.path();
  env.cwd = cwd.path();
  auto candidates = cloudsFileCandidates(env);
  ASSERT_GE(candidates.size(), 5u);
  EXPECT_EQ(candidates[0], cwd.path() + "/clouds.yaml");
  EXPECT_EQ(candidates[2], home.path() + "/.config/openstack/clouds.yaml");
  EXPECT_EQ(candidates[4], "/etc/openstack/clouds.yaml");

  // ~/.config/openstack is used when ./clouds.yaml is absent; secure.yaml beside it is merged.
  home.write(".config/openstack/clouds.yaml", kClouds);
  home.write(".config/openstack/secure.yaml", kSecure);
  auto c = loadCloudConfig("devstack", env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->password, "s3cret");

  // ./clouds.yaml wins over the home directory.
  cwd.write("clouds.yaml", "clouds:\n  devstack:\n    auth: {auth_url: 'http://cwd/v3', user_id: u, "
                           "password: p, project_id: x}\n");
  c = loadCloudConfig("devstack", env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->auth_url, "http://cwd/v3");

  // OS_CLIENT_CONFIG_FILE wins over everything; OS_CLOUD selects the cloud.
  explicit_dir.write("my.yaml", kClouds);
  env.vars["OS_CLIENT_CONFIG_FILE"] = explicit_dir.path() + "/my.yaml";
  env.vars["OS_CLOUD"] = "appcred";
  c = loadCloudConfig("", env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "appcred");
}

TEST(CloudConfig, NoFileFoundSaysWhereItLooked) {
  TempDir home, cwd;
  ConfigEnvironment env;
  env.home = home.path();
  env.cwd = cwd.path();
  env.vars["OS_CLIENT_CONFIG_FILE"] = cwd.path() + "/absent.yaml";
  auto c = loadCloudConfig("devstack", env);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("absent.yaml"), std::string::npos) << c.error().message;
}

TEST(CloudConfig, FromEnvironmentVariables) {
  ConfigEnvironment env;
  env.vars = {{"OS_AUTH_URL", "http://127.0.0.1:5000/v3"}, {"OS_USERNAME", "admin"},
              {"OS_PASSWORD", "pw"},  {"OS_PROJECT_NAME", "admin"},
              {"OS_USER_DOMAIN_NAME", "Default"}, {"OS_PROJECT_DOMAIN_NAME", "Default"},
              {"OS_REGION_NAME", "RegionTwo"}, {"OS_INTERFACE", "internal"},
              {"OS_CACERT", "/tmp/ca.pem"}, {"OS_INSECURE", "true"}};
  auto c = loadCloudConfig("", env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "envvars");
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->region_name, "RegionTwo");
  EXPECT_EQ(c->interface, "internal");
  EXPECT_EQ(c->cacert, "/tmp/ca.pem");
  EXPECT_TRUE(c->insecure);

  ConfigEnvironment appcred;
  appcred.vars = {{"OS_AUTH_URL", "http://k:5000"}, {"OS_AUTH_TYPE", "v3applicationcredential"},
                  {"OS_APPLICATION_CREDENTIAL_ID", "id1"}, {"OS_APPLICATION_CREDENTIAL_SECRET", "s"}};
  c = loadCloudConfig("", appcred);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->isApplicationCredential());
  EXPECT_EQ(c->auth_url, "http://k:5000/v3");
}

TEST(CloudConfig, NothingSelectedIsAClearError) {
  ConfigEnvironment env;
  auto c = loadCloudConfig("", env);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("--os-cloud"), std::string::npos);
}

TEST(CloudConfig, InvalidInterfaceAndAuthType) {
  auto c = cloudConfigFromYaml("x", "clouds: {x: {interface: private, auth: {auth_url: 'http://k', "
                                    "user_id: u, password: p, project_id: q}}}", "", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("\"private\" is not one of public, internal, admin"), std::string::npos)
      << c.error().message;
  c = cloudConfigFromYaml("x", "clouds: {x: {auth_type: token, auth: {auth_url: 'http://k'}}}", "", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("auth_type \"token\""), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace magnumd::drivers::openstack
