// magnumctl's kubeconfig: parsing client-go's layout, choosing a context across the files of
// KUBECONFIG, and the order in which flags, environment variables and the kubeconfig win.
#include "cli/kubeconfig.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace magnumd::cli {
namespace {

// "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" in base64.
constexpr const char* kCaData =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

std::string devKubeconfig(const std::string& server = "https://127.0.0.1:9511") {
  return R"(apiVersion: v1
kind: Config
clusters:
- name: magnumd-dev
  cluster:
    server: )" +
         server + R"(
    certificate-authority-data: )" +
         kCaData + R"(
contexts:
- name: magnumd-dev
  context: {cluster: magnumd-dev, user: admin, namespace: demo}
- name: other
  context: {cluster: elsewhere, user: reader}
current-context: magnumd-dev
users:
- name: admin
  user: {token: admin-token}
- name: reader
  user: {tokenFile: reader.token}
- name: cert-user
  user: {client-certificate-data: AAAA, client-key-data: AAAA}
preferences: {}
)";
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "magnumctl-kube-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::string path_;
};

TEST(ParseKubeconfig, ReadsClustersUsersAndContexts) {
  auto k = parseKubeconfig(devKubeconfig(), "/home/me/.kube/magnumd");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->current_context, "magnumd-dev");
  EXPECT_EQ(k->clusters.at("magnumd-dev").server, "https://127.0.0.1:9511");
  EXPECT_EQ(k->clusters.at("magnumd-dev").ca_pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(k->users.at("admin").token, "admin-token");
  // Files a kubeconfig names are relative to its own directory.
  EXPECT_EQ(k->users.at("reader").token_file, "/home/me/.kube/reader.token");
  EXPECT_TRUE(k->users.at("cert-user").token.empty());
  EXPECT_EQ(k->contexts.at("magnumd-dev").namespace_, "demo");
}

TEST(ParseKubeconfig, ErrorsNameTheFileAndTheEntry) {
  auto bad_ca = parseKubeconfig(
      "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '!!'}}]\n",
      "k.yaml");
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_EQ(bad_ca.error().message,
            "kubeconfig k.yaml: cluster \"c\": certificate-authority-data is not base64");
  auto no_name = parseKubeconfig("users: [{user: {token: x}}]\n", "k.yaml");
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.error().message, "kubeconfig k.yaml: users[0] has no name");
  EXPECT_FALSE(parseKubeconfig("- a\n- b\n", "k.yaml").ok());
  EXPECT_FALSE(parseKubeconfig("clusters: {a: 1}\n", "k.yaml").ok());
  EXPECT_TRUE(parseKubeconfig("", "empty.yaml").ok());
}

TEST(SelectContext, CurrentContextOrTheNamedOneTheFirstFileWins) {
  auto mine = parseKubeconfig(devKubeconfig(), "a");
  auto theirs = parseKubeconfig(R"(current-context: theirs
clusters: [{name: magnumd-dev, cluster: {server: 'https://shadowed'}},
           {name: elsewhere, cluster: {server: 'https://elsewhere:6443'}}]
contexts: [{name: theirs, context: {cluster: elsewhere}}])",
                                "b");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  std::vector<Kubeconfig> files{*mine, *theirs};
  auto current = selectContext(files, "");
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->context, "magnumd-dev");
  EXPECT_EQ((*current)->cluster.server, "https://127.0.0.1:9511");  // a's, not b's
  EXPECT_EQ((*current)->user.token, "admin-token");
  EXPECT_EQ((*current)->file, "a");

  auto other = selectContext(files, "other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->cluster.server, "https://elsewhere:6443");  // defined only in b

  EXPECT_EQ(selectContext(files, "nope").error().code, util::ErrorCode::NotFound);
  EXPECT_FALSE(selectContext({}, "")->has_value());
  auto dangling = parseKubeconfig("current-context: gone\n", "c");
  EXPECT_EQ(selectContext({*dangling}, "").error().code, util::ErrorCode::NotFound);
}

TEST(ResolveConnection, TheKubeconfigAloneIsEnough) {
  TempDir dir;
  ConnectionInputs in;
  in.kubeconfig_env = dir.write("config", devKubeconfig());
  auto c = resolveConnection(in);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server, "https://127.0.0.1:9511");
  EXPECT_EQ(c->token, "admin-token");
  EXPECT_EQ(c->namespace_, "demo");
  EXPECT_EQ(c->ca_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  EXPECT_NE(c->kubeconfig.find("(context magnumd-dev)"), std::string::npos);
}

TEST(ResolveConnection, FlagsBeatEnvironmentBeatsKubeconfig) {
  TempDir dir;
  ConnectionInputs in;
  in.kubeconfig_env = dir.write("config", devKubeconfig());
  in.token_env = "env-token";
  in.namespace_env = "env-ns";
  auto env = resolveConnection(in);
  EXPECT_EQ(env->token, "env-token");
  EXPECT_EQ(env->namespace_, "env-ns");
  EXPECT_EQ(env->server, "https://127.0.0.1:9511");  // still the kubeconfig's, with its CA
  EXPECT_FALSE(env->ca_pem.empty());

  in.token_flag = "flag-token";
  in.namespace_flag = "flag-ns";
  in.ca_file_flag = "/etc/ca.pem";
  auto flags = resolveConnection(in);
  EXPECT_EQ(flags->token, "flag-token");
  EXPECT_EQ(flags->namespace_, "flag-ns");
  EXPECT_EQ(flags->ca_file, "/etc/ca.pem");
  EXPECT_TRUE(flags->ca_pem.empty());

  // MAGNUMD_URL naming the kubeconfig's own server keeps the rest of the kubeconfig.
  ConnectionInputs same;
  same.kubeconfig_env = *in.kubeconfig_env;
  same.url_env = "https://127.0.0.1:9511";
  EXPECT_EQ(resolveConnection(same)->token, "admin-token");
}

TEST(ResolveConnection, AnotherServerGetsNothingOfTheKubeconfig) {
  TempDir dir;
  ConnectionInputs in;
  in.kubeconfig_env = dir.write("config", devKubeconfig());
  in.url_env = "http://127.0.0.1:7000";
  auto c = resolveConnection(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server, "http://127.0.0.1:7000");
  EXPECT_TRUE(c->token.empty());
  EXPECT_EQ(c->namespace_, "default");
  EXPECT_TRUE(c->ca_pem.empty());
  EXPECT_TRUE(c->kubeconfig.empty());
  in.url_env.reset();
  in.server_flag = "https://10.0.0.1:9511";
  EXPECT_TRUE(resolveConnection(in)->token.empty());
}

TEST(ResolveConnection, ContextFlagKubeconfigFlagAndTheColonList) {
  TempDir dir;
  std::string dev = dir.write("dev", devKubeconfig());
  dir.write("reader.token", "reader-token\n");
  std::string other = dir.write("other",
                                "current-context: x\ncontexts: [{name: x, context: {cluster: "
                                "y}}]\nclusters: [{name: y, cluster: {server: 'https://y'}}]\n");
  ConnectionInputs in;
  in.kubeconfig_env = dev + ".absent:" + dev + ":" + other;  // missing files are skipped
  auto first = resolveConnection(in);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->server, "https://127.0.0.1:9511");

  in.context_flag = "other";  // cluster "elsewhere" is defined nowhere
  EXPECT_EQ(resolveConnection(in).error().code, util::ErrorCode::NotFound);

  ConnectionInputs explicit_file;
  explicit_file.kubeconfig_env = dev;
  explicit_file.kubeconfig_flag = other;  // --kubeconfig wins over KUBECONFIG
  EXPECT_EQ(resolveConnection(explicit_file)->server, "https://y");
  explicit_file.kubeconfig_flag = dev + ".absent";
  EXPECT_EQ(resolveConnection(explicit_file).error().code, util::ErrorCode::NotFound);

  // A user's tokenFile is read, relative to the kubeconfig.
  std::string reader =
      dir.write("reader",
                "current-context: r\ncontexts: [{name: r, context: {cluster: c, user: u}}]\n"
                "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
                "users: [{name: u, user: {tokenFile: reader.token}}]\n");
  ConnectionInputs token_file;
  token_file.kubeconfig_flag = reader;
  EXPECT_EQ(resolveConnection(token_file)->token, "reader-token");

  ConnectionInputs nothing;
  nothing.context_flag = "magnumd-dev";
  EXPECT_EQ(resolveConnection(nothing).error().code, util::ErrorCode::BadRequest);
  auto defaults = resolveConnection({});
  EXPECT_EQ(defaults->server, kDefaultServer);
  EXPECT_EQ(defaults->namespace_, "default");
}

}  // namespace
}  // namespace magnumd::cli
