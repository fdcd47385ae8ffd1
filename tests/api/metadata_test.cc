// validateMetadata: names, namespaces, label and annotation syntax, finalizers.
#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::expectInvalid;

ObjectMeta named(std::string name) {
  ObjectMeta m;
  m.name = std::move(name);
  m.namespace_ = "demo";
  return m;
}

TEST(Metadata, NamesAreDns1123Labels) {
  for (const char* ok : {"prod", "k8s-small", "a", "0abc"}) EXPECT_TRUE(validateMetadata(named(ok)).ok()) << ok;
  for (const char* bad : {"Prod", "-prod", "prod-", "pr_od", "pr.od", "prod cluster"}) {
    expectInvalid(validateMetadata(named(bad)), "metadata.name", "DNS-1123");
  }
  expectInvalid(validateMetadata(named(std::string(64, 'a'))), "metadata.name", "at most 63");
  expectInvalid(validateMetadata(named("")), "metadata.name", "required");
}

TEST(Metadata, EventNamesMayBeSubdomains) {
  EXPECT_TRUE(validateMetadata(named("prod.17a3f0c2"), Kind::Event).ok());
  expectInvalid(validateMetadata(named("prod.17a3f0c2"), Kind::Cluster), "metadata.name");
}

TEST(Metadata, Namespace) {
  ObjectMeta m = named("prod");
  m.namespace_ = "Demo";
  expectInvalid(validateMetadata(m), "metadata.namespace", "DNS-1123");
}

TEST(Metadata, LabelKeysAndValues) {
  ObjectMeta m = named("prod");
  m.labels = {{"team", "platform"}, {"example.com/tier", "gold"}, {"empty", ""}};
  EXPECT_TRUE(validateMetadata(m).ok());
  m.labels = {{"bad key", "x"}, {"ok", "bad value!"}, {"Example.com/x", "y"}, {"a/", "y"}};
  auto s = validateMetadata(m);
  expectInvalid(s, "metadata.labels.bad key", "key");
  expectInvalid(s, "metadata.labels.ok", R"("bad value!")");
  expectInvalid(s, "metadata.labels.Example.com/x", "prefix");
  expectInvalid(s, "metadata.labels.a/", "name part");
  m.labels = {{"k", std::string(64, 'v')}};
  expectInvalid(validateMetadata(m), "metadata.labels.k", "at most 63");
}

TEST(Metadata, AnnotationsAllowAnyValueButAreBounded) {
  ObjectMeta m = named("prod");
  m.annotations = {{"note", "any text, even with spaces: ok"}};
  EXPECT_TRUE(validateMetadata(m).ok());
  m.annotations = {{"big", std::string(300 * 1024, 'x')}};
  expectInvalid(validateMetadata(m), "metadata.annotations", "limit");
}

TEST(Metadata, Finalizers) {
  ObjectMeta m = named("prod");
  m.finalizers = {"magnumd.io/cluster"};
  EXPECT_TRUE(validateMetadata(m).ok());
  m.finalizers = {"not a finalizer"};
  expectInvalid(validateMetadata(m), "metadata.finalizers[0]", "qualified name");
}

}  // namespace
}  // namespace magnumd::api
