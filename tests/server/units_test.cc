// Pieces that need no store: metrics exposition, merge/JSON patch, body codecs, routing, config.
#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cmd/config.h"
#include "server/codec.h"
#include "server/object_json.h"
#include "server/patch.h"
#include "server/route.h"
#include "util/metrics.h"

namespace magnumd::server {
namespace {

TEST(Metrics, TextExpositionWithLabelsAndHistograms) {
  util::MetricsRegistry registry;
  auto& requests = registry.counter("x_requests_total", "Requests.", {"verb", "code"});
  requests.with({"get", "200"}).inc();
  requests.with({"get", "200"}).inc(2);
  requests.with({"put", "409"}).inc();
  registry.gauge("x_open", "Open.").with({}).set(3);
  auto& latency = registry.histogram("x_seconds", "Latency.", {"op"}, {0.1, 1});
  latency.with({"a\"b"}).observe(0.05);
  latency.with({"a\"b"}).observe(0.5);
  latency.with({"a\"b"}).observe(5);
  std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE x_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("x_requests_total{verb=\"get\",code=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_requests_total{verb=\"put\",code=\"409\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_open 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{op=\"a\\\"b\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{op=\"a\\\"b\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{op=\"a\\\"b\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_count{op=\"a\\\"b\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_sum{op=\"a\\\"b\"} 5.55\n"), std::string::npos) << text;
  EXPECT_THROW(requests.with({"only-one"}), std::logic_error);
}

std::string merged(const char* target, const char* patch) {
  auto t = util::parseJson(target);
  auto p = util::parseJson(patch);
  EXPECT_TRUE(applyMergePatch(*t, *p, t->GetAllocator()).ok());
  return util::toJson(*t);
}

TEST(MergePatch, Rfc7386AppendixA) {
  EXPECT_EQ(merged(R"({"a":"b"})", R"({"a":"c"})"), R"({"a":"c"})");
  EXPECT_EQ(merged(R"({"a":"b"})", R"({"b":"c"})"), R"({"a":"b","b":"c"})");
  EXPECT_EQ(merged(R"({"a":"b"})", R"({"a":null})"), R"({})");
  EXPECT_EQ(merged(R"({"a":"b","b":"c"})", R"({"a":null})"), R"({"b":"c"})");
  EXPECT_EQ(merged(R"({"a":["b"]})", R"({"a":"c"})"), R"({"a":"c"})");
  EXPECT_EQ(merged(R"({"a":"c"})", R"({"a":["b"]})"), R"({"a":["b"]})");
  EXPECT_EQ(merged(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})"), R"({"a":{"b":"d"}})");
  EXPECT_EQ(merged(R"({"a":[{"b":"c"}]})", R"({"a":[1]})"), R"({"a":[1]})");
  EXPECT_EQ(merged(R"({"e":null})", R"({"a":1})"), R"({"e":null,"a":1})");
  EXPECT_EQ(merged(R"([1,2])", R"({"a":"b","c":null})"), R"({"a":"b"})");
  EXPECT_EQ(merged(R"({})", R"({"a":{"bb":{"ccc":null}}})"), R"({"a":{"bb":{}}})");
}

TEST(JsonPatch, OperationsAndErrors) {
  auto doc = util::parseJson(R"({"a":{"b":[1,2]},"c":1})");
  auto ops = util::parseJson(R"([
    {"op":"add","path":"/a/b/1","value":9},
    {"op":"add","path":"/a/b/-","value":3},
    {"op":"remove","path":"/c"},
    {"op":"copy","from":"/a/b","path":"/d"},
    {"op":"move","from":"/d","path":"/e"},
    {"op":"replace","path":"/a/b/0","value":"x"},
    {"op":"add","path":"/a~1b","value":true}])");
  auto status = applyJsonPatch(*doc, *ops, doc->GetAllocator());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(util::toJson(*doc), R"({"a":{"b":["x",9,2,3]},"e":[1,9,2,3],"a/b":true})");
  auto missing = util::parseJson(R"([{"op":"replace","path":"/nope","value":1}])");
  auto bad = applyJsonPatch(*doc, *missing, doc->GetAllocator());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "json patch [0] replace /nope: path does not exist");
  auto not_list = util::parseJson(R"({"op":"add"})");
  EXPECT_FALSE(applyJsonPatch(*doc, *not_list, doc->GetAllocator()).ok());
}

TEST(Codec, NegotiationAndBodies) {
  EXPECT_EQ(*negotiateOutput(""), Format::Json);
  EXPECT_EQ(*negotiateOutput("application/yaml"), Format::Yaml);
  EXPECT_EQ(*negotiateOutput("text/html, application/json;q=0.9"), Format::Json);
  EXPECT_EQ(negotiateOutput("text/html").error().code, util::ErrorCode::NotAcceptable);
  EXPECT_EQ(mediaType(" Application/JSON ; charset=utf-8"), "application/json");
  EXPECT_TRUE(decodeBody("application/json", R"({"a":1})").ok());
  EXPECT_TRUE(decodeBody("", "a: 1\n").ok());
  EXPECT_TRUE(decodeBody("application/x-www-form-urlencoded", R"({"a":1})").ok());
  EXPECT_EQ(decodeBody("application/xml", "<a/>").error().code, util::ErrorCode::UnsupportedMediaType);
  // Apostrophes in plain scalars and brackets inside strings do not confuse the depth check.
  EXPECT_TRUE(decodeBody("application/yaml", "a: it's fine\nb: [1, [2]]\n").ok());
  auto hidden = decodeBody("application/yaml", "a: it's\nb: " + std::string(100, '[') + "\n");
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, util::ErrorCode::BadRequest);
  std::string nested = std::string(70, '[') + std::string(70, ']');
  EXPECT_EQ(decodeBody("application/json", nested).error().code, util::ErrorCode::BadRequest);
  std::string quoted = "{\"a\":\"" + std::string(100, '[') + "\"}";
  EXPECT_TRUE(decodeBody("application/json", quoted).ok());
}

TEST(Route, ResourcePaths) {
  auto p = parseResourcePath("/apis/container-infra/v1/namespaces/demo/clusters/prod/status");
  ASSERT_TRUE(p && p->ok());
  EXPECT_EQ((*p)->kind, api::Kind::Cluster);
  EXPECT_EQ((*p)->namespace_, "demo");
  EXPECT_EQ((*p)->name, "prod");
  EXPECT_TRUE((*p)->status());
  EXPECT_EQ((*p)->resource(), "clusters/status");
  auto kubeconfig =
      parseResourcePath("/apis/container-infra/v1/namespaces/demo/clusters/prod/kubeconfig");
  ASSERT_TRUE(kubeconfig && kubeconfig->ok());
  EXPECT_EQ((*kubeconfig)->subresource, Subresource::Kubeconfig);
  EXPECT_TRUE((*kubeconfig)->credentials());
  EXPECT_EQ((*kubeconfig)->resource(), "clusters/kubeconfig");
  // Credentials belong to clusters only.
  EXPECT_FALSE(
      parseResourcePath("/apis/container-infra/v1/namespaces/demo/nodegroups/a/certificates")->ok());
  auto all = parseResourcePath("/apis/container-infra/v1/nodegroups");
  ASSERT_TRUE(all && all->ok());
  EXPECT_TRUE((*all)->allNamespaces());
  EXPECT_FALSE(parseResourcePath("/api/v1/pods").has_value());
  EXPECT_FALSE(parseResourcePath("/apis/container-infra/v1x").has_value());
  EXPECT_FALSE(parseResourcePath("/apis/container-infra/v1/namespaces/demo/clusters/a/spec")->ok());
  EXPECT_FALSE(parseResourcePath("/apis/container-infra/v1/namespaces//clusters")->ok());
  auto target = parseTarget("/x?labelSelector=a%3Db&watch");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->query.at("labelSelector"), "a=b");
  EXPECT_EQ(*boolParam(target->query, "watch"), true);
  EXPECT_FALSE(parseTarget("http://[bad").ok());
}

TEST(ObjectJson, SameBytesAsTheApiEncoder) {
  api::Object o;
  o.kind = api::Kind::NodeGroup;
  o.metadata.name = "big \"workers\"";
  o.metadata.namespace_ = "demo";
  o.metadata.uid = "u-1";
  o.metadata.resource_version = 42;
  o.metadata.generation = 3;
  o.metadata.creation_timestamp = "2026-11-25T11:57:21Z";
  o.metadata.deletion_timestamp = "2026-11-25T12:00:00Z";
  o.metadata.labels = {{"a", "1"}, {"b\n", "2"}};
  o.metadata.annotations = {{"note", "x\ty"}};
  o.metadata.finalizers = {"magnumd.io/cloud"};
  o.spec = R"({"cluster":"prod","nodeCount":2,"labels":{"k":"v"}})";
  o.status = R"({"phase":"CREATE_COMPLETE","conditions":[{"type":"Ready"}]})";
  EXPECT_EQ(objectJson(o), api::encodeObject(o));
  api::Object bare;
  bare.metadata.name = "x";
  EXPECT_EQ(objectJson(bare), api::encodeObject(bare));
}

TEST(Config, FileSetsWhatTheCommandLineDidNotAndNothingElse) {
  std::string path = std::filesystem::temp_directory_path() / "magnumd-config-test.yaml";
  auto write = [&](const char* text) {
    std::ofstream f(path);
    f << text;
  };
  struct Settings {
    std::string listen = "127.0.0.1:9511";
    unsigned io_threads = 0;
    bool dev = false;
    double sync_interval = 10;
  };
  auto parse = [&](Settings& s, std::vector<std::string> args) {
    auto app = std::make_unique<CLI::App>();
    app->add_option("--listen", s.listen);
    app->add_option("--io-threads", s.io_threads);
    app->add_flag("--dev", s.dev);
    app->add_option("--sync-interval", s.sync_interval)->check(CLI::Range(0.05, 3600.0));
    std::reverse(args.begin(), args.end());
    app->parse(args);
    return app;
  };

  write("listen: 127.0.0.1:9999\nio-threads: 3\ndev: true\nsync-interval: 2.5\n");
  Settings s;
  auto app = parse(s, {"--io-threads", "5"});
  auto status = cmd::applyConfigFile(path, *app);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(s.listen, "127.0.0.1:9999");
  EXPECT_EQ(s.io_threads, 5u) << "the command line wins";
  EXPECT_TRUE(s.dev);
  EXPECT_EQ(s.sync_interval, 2.5);

  write("listen: 127.0.0.1:9999\nlisten-port: 1\n");
  Settings u;
  auto unknown = cmd::applyConfigFile(path, *parse(u, {}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown setting \"listen-port\"; known: listen, io-threads, "
                                         "dev, sync-interval"),
            std::string::npos)
      << unknown.error().message;

  write("sync-interval: 0\n");
  Settings r;
  auto rejected = cmd::applyConfigFile(path, *parse(r, {}));
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.error().message.find("sync-interval"), std::string::npos) << rejected.error().message;

  write("listen: [a, b]\n");
  Settings l;
  EXPECT_FALSE(cmd::applyConfigFile(path, *parse(l, {})).ok());
  std::filesystem::remove(path);

  cmd::DaemonConfig production;
  auto refused = cmd::validateConfig(production);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("--token-file"), std::string::npos);
  EXPECT_NE(refused.error().message.find("--keystone-auth"), std::string::npos);
  // Keystone users alone are enough authentication (with an encryption key).
  cmd::DaemonConfig keystone_only;
  keystone_only.keystone_auth = true;
  keystone_only.encryption_key_file = "kek";
  EXPECT_TRUE(cmd::validateConfig(keystone_only).ok());
  production.dev = true;
  EXPECT_TRUE(cmd::validateConfig(production).ok());
  production.tls_cert = "c.pem";
  EXPECT_FALSE(cmd::validateConfig(production).ok());
  production.tls_cert.clear();
  production.store_quota_bytes = -1;
  auto negative = cmd::validateConfig(production);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("--store-quota-bytes (-1)"), std::string::npos)
      << negative.error().message;
  production.store_quota_bytes = 0;
  production.max_watches_per_user = 0;
  auto no_watches = cmd::validateConfig(production);
  ASSERT_FALSE(no_watches.ok());
  EXPECT_NE(no_watches.error().message.find("--max-watches-per-user"), std::string::npos);
  production.max_watches_per_user = 1;
  EXPECT_TRUE(cmd::validateConfig(production).ok());
  // Leader election's timing follows client-go's rule, and the errors name the flags.
  production.leader_renew_deadline = "20s";
  auto renew = cmd::validateConfig(production);
  ASSERT_FALSE(renew.ok());
  EXPECT_NE(renew.error().message.find("--leader-lease-duration (15000 ms) must be longer than "
                                       "--leader-renew-deadline (20000 ms)"),
            std::string::npos)
      << renew.error().message;
  production.leader_renew_deadline = "10s";
  production.leader_retry_period = "often";
  EXPECT_NE(cmd::validateConfig(production).error().message.find("--leader-retry-period"),
            std::string::npos);
  production.leader_retry_period = "2s";
  EXPECT_TRUE(cmd::validateConfig(production).ok());
  // --dev-plain-http: only with --dev, and not with the operator's own certificate.
  production.dev_plain_http = true;
  EXPECT_TRUE(cmd::validateConfig(production).ok());
  production.tls_cert = "c.pem";
  production.tls_key = "k.pem";
  EXPECT_NE(cmd::validateConfig(production).error().message.find("contradict"), std::string::npos);
  production.tls_cert.clear();
  production.tls_key.clear();
  production.dev = false;
  production.token_file = "tokens.csv";
  production.encryption_key_file = "kek";
  EXPECT_NE(cmd::validateConfig(production).error().message.find("only applies with --dev"),
            std::string::npos);

  // --max-connections keeps 256 descriptors free of connections.
  EXPECT_EQ(cmd::connectionCap(0, 20000).connections, 19744u);
  EXPECT_EQ(cmd::connectionCap(0, 300).connections, 150u);
  EXPECT_EQ(cmd::connectionCap(4096, 20000).connections, 4096u);
  EXPECT_TRUE(cmd::connectionCap(4096, 20000).warning.empty());
  auto lowered = cmd::connectionCap(50000, 20000);
  EXPECT_EQ(lowered.connections, 19744u);
  EXPECT_EQ(lowered.warning,
            "--max-connections 50000 is more than the file-descriptor limit (20000) allows; using "
            "19744 (raise the limit, e.g. LimitNOFILE= in the systemd unit)");
  EXPECT_EQ(cmd::connectionCap(100, 0).connections, 100u);
  EXPECT_FALSE(cmd::parseListen("127.0.0.1").ok());
  EXPECT_FALSE(cmd::parseListen("127.0.0.1:99999").ok());
  EXPECT_EQ(cmd::parseListen("[::1]:80")->host, "::1");
}

TEST(Config, StoreIsSqliteOrEtcdWithItsEndpoints) {
  cmd::DaemonConfig config;
  config.dev = true;
  ASSERT_TRUE(cmd::validateConfig(config).ok());  // sqlite by default
  config.etcd_endpoints = {"http://127.0.0.1:2379"};
  EXPECT_NE(cmd::validateConfig(config).error().message.find("only apply with --store etcd"),
            std::string::npos);
  config.store = "etcd3";
  EXPECT_EQ(cmd::validateConfig(config).error().message,
            "--store \"etcd3\" is not one of sqlite, etcd");
  config.store = "etcd";
#ifdef MAGNUMD_WITH_ETCD
  EXPECT_TRUE(cmd::validateConfig(config).ok());
  config.etcd_cert = "client.pem";
  EXPECT_EQ(cmd::validateConfig(config).error().message,
            "--etcd-cert and --etcd-key must be given together");
  config.etcd_key = "client.key";
  EXPECT_TRUE(cmd::validateConfig(config).ok());
  config.etcd_prefix = "magnumd";
  EXPECT_NE(cmd::validateConfig(config).error().message.find("must start with '/'"),
            std::string::npos);
  config.etcd_prefix = "/magnumd";
  config.etcd_endpoints.clear();
  EXPECT_NE(cmd::validateConfig(config).error().message.find("needs --etcd-endpoints"),
            std::string::npos);
#else
  EXPECT_NE(cmd::validateConfig(config).error().message.find("built without the etcd backend"),
            std::string::npos);
#endif
}

}  // namespace
}  // namespace magnumd::server
