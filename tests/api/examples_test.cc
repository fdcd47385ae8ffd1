// The YAML in examples/ is what a new user applies first: it must pass admission as written.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/api/helpers.h"
#include "util/yaml.h"

namespace magnumd::api {
namespace {

TEST(Examples, EveryExampleObjectIsAdmitted) {
  std::filesystem::path dir = std::filesystem::path(MAGNUMD_SOURCE_DIR) / "examples";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<Object> objects;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto docs = util::parseYamlDocuments(text.str());
    ASSERT_TRUE(docs.ok()) << entry.path() << ": " << docs.error().message;
    for (const auto& doc : *docs) {
      auto object = decodeObject(static_cast<const util::Json&>(doc));
      ASSERT_TRUE(object.ok()) << entry.path() << ": " << object.error().message;
      objects.push_back(*object);
    }
  }
  ASSERT_FALSE(objects.empty());
  // Templates first, so clusters and node groups are checked against the template they name.
  std::stable_sort(objects.begin(), objects.end(),
                   [](const Object& a, const Object& b) { return a.kind < b.kind; });
  std::optional<std::string> tmpl;
  for (const auto& o : objects) {
    auto meta = validateMetadata(o.metadata, o.kind);
    EXPECT_TRUE(meta.ok()) << o.metadata.name << ": " << testing::describe(meta.error());
    auto spec = admitSpec(o.kind, o.spec, o.kind == Kind::ClusterTemplate ? std::nullopt : tmpl);
    ASSERT_TRUE(spec.ok()) << o.metadata.name << ": " << testing::describe(spec.error());
    if (o.kind == Kind::ClusterTemplate) tmpl = *spec;
    EXPECT_TRUE(validateCreate(o.kind, o.metadata, *spec).ok()) << o.metadata.name;
  }
}

}  // namespace
}  // namespace magnumd::api
