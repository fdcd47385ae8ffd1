// The OpenAPI schema says what admission does: every field of every record, with the enums,
// bounds, defaults, required fields and immutability that decoding, defaulting and validation
// apply. The agreement tests drive admission with values the schema allows and refuses.
#include "api/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/event.h"
#include "api/labels.h"
#include "api/nodegroup.h"
#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using util::Json;

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v3_.SetObject();
    schema::addDefinitions(v3_, v3_.GetAllocator(), schema::Dialect::V3);
    v2_.SetObject();
    schema::addDefinitions(v2_, v2_.GetAllocator(), schema::Dialect::V2);
  }

  const Json& kind(Kind k) const { return v3_[schema::definitionName(k).c_str()]; }
  const Json& spec(Kind k) const { return kind(k)["properties"]["spec"]; }
  const Json& status(Kind k) const { return kind(k)["properties"]["status"]; }

  util::JsonDoc v3_;
  util::JsonDoc v2_;
};

std::vector<std::string> names(const Json& object) {
  std::vector<std::string> out;
  for (const auto& m : object.GetObject()) out.emplace_back(m.name.GetString());
  return out;
}

std::vector<std::string> strings(const Json& array) {
  std::vector<std::string> out;
  for (const auto& v : array.GetArray()) out.emplace_back(v.GetString());
  return out;
}

std::vector<std::string> strings(const std::vector<std::string_view>& values) {
  return {values.begin(), values.end()};
}

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

// Every field of record R is a property of `schema` with the JSON type of its C++ type, nested
// records and lists of records included; no property is left over.
template <codec::Record R>
void expectCovers(const Json& schema, const std::string& path, bool described);

template <class T>
void expectType(const Json& property, const std::string& path, bool described) {
  using V = typename Unwrap<T>::type;
  ASSERT_TRUE(property.HasMember("type")) << path;
  std::string type = property["type"].GetString();
  if constexpr (std::is_same_v<V, std::string>) {
    EXPECT_EQ(type, "string") << path;
  } else if constexpr (std::is_same_v<V, int64_t>) {
    EXPECT_EQ(type, "integer") << path;
    EXPECT_STREQ(property["format"].GetString(), "int64") << path;
  } else if constexpr (std::is_same_v<V, bool>) {
    EXPECT_EQ(type, "boolean") << path;
  } else if constexpr (std::is_same_v<V, StringMap>) {
    EXPECT_EQ(type, "object") << path;
    EXPECT_STREQ(property["additionalProperties"]["type"].GetString(), "string") << path;
  } else if constexpr (codec::IsVector<V>::value) {
    EXPECT_EQ(type, "array") << path;
    ASSERT_TRUE(property.HasMember("x-kubernetes-list-type")) << path;
    expectType<typename V::value_type>(property["items"], path + "[]", false);
  } else {
    EXPECT_EQ(type, "object") << path;
    expectCovers<V>(property, path, described);
  }
}

template <codec::Record R>
void expectCovers(const Json& schema, const std::string& path, bool described) {
  ASSERT_TRUE(schema.HasMember("properties")) << path;
  const Json& properties = schema["properties"];
  std::set<std::string> fields;
  R probe{};
  auto visit = [&](std::string_view name, const auto& field, const FieldDoc& = {}) {
    std::string field_path = path + "." + std::string(name);
    fields.emplace(name);
    ASSERT_TRUE(properties.HasMember(std::string(name).c_str())) << field_path << " is missing";
    const Json& property = properties[std::string(name).c_str()];
    if (described) {
      EXPECT_TRUE(property.HasMember("description") &&
                  property["description"].GetStringLength() > 0)
          << field_path << " has no description";
    }
    expectType<std::decay_t<decltype(field)>>(property, field_path, described);
  };
  R::fields(probe, visit);
  for (const auto& name : names(properties)) {
    EXPECT_TRUE(fields.count(name)) << path << "." << name << " is not a field of the record";
  }
}

TEST_F(SchemaTest, EveryFieldOfEverySpecAndStatusIsInTheSchema) {
  expectCovers<ClusterTemplateSpec>(spec(Kind::ClusterTemplate), "spec", true);
  expectCovers<ClusterSpec>(spec(Kind::Cluster), "spec", true);
  expectCovers<ClusterStatus>(status(Kind::Cluster), "status", false);
  expectCovers<NodeGroupSpec>(spec(Kind::NodeGroup), "spec", true);
  expectCovers<NodeGroupStatus>(status(Kind::NodeGroup), "status", false);
  expectCovers<EventSpec>(spec(Kind::Event), "spec", false);
}

TEST_F(SchemaTest, EveryKindAndListCarriesItsGroupVersionKind) {
  for (const auto& info : allKinds()) {
    for (bool list : {false, true}) {
      std::string name = schema::definitionName(info.kind, list);
      ASSERT_TRUE(v3_.HasMember(name.c_str())) << name;
      const Json& gvk = v3_[name.c_str()]["x-kubernetes-group-version-kind"];
      ASSERT_EQ(gvk.Size(), 1u) << name;
      EXPECT_STREQ(gvk[0]["group"].GetString(), "container-infra");
      EXPECT_STREQ(gvk[0]["version"].GetString(), "v1");
      EXPECT_EQ(gvk[0]["kind"].GetString(), std::string(info.name) + (list ? "List" : ""));
    }
  }
  EXPECT_EQ(schema::definitionName(Kind::Cluster), "container-infra.v1.Cluster");
}

TEST_F(SchemaTest, MetadataIsKubernetesObjectMetaInBothDialects) {
  const Json& v3 = kind(Kind::Cluster)["properties"]["metadata"];
  EXPECT_STREQ(v3["allOf"][0]["$ref"].GetString(),
               "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  const Json& v2 = v2_["container-infra.v1.Cluster"]["properties"]["metadata"];
  EXPECT_STREQ(v2["$ref"].GetString(),
               "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_STREQ(
      v2_["container-infra.v1.ClusterList"]["properties"]["items"]["items"]["$ref"].GetString(),
      "#/definitions/container-infra.v1.Cluster");
  ASSERT_TRUE(v3_.HasMember(std::string(schema::kListMeta).c_str()));
}

// ObjectMeta lists exactly what the server's decoder takes: a property of its type is accepted, a
// field kube has and magnumd does not (generateName) is refused.
TEST_F(SchemaTest, ObjectMetaListsTheFieldsTheDecoderTakes) {
  const Json& meta = v3_[std::string(schema::kObjectMeta).c_str()]["properties"];
  for (const auto& m : meta.GetObject()) {
    std::string name = m.name.GetString();
    std::string type = m.value["type"].GetString();
    std::string value = type == "string"    ? "\"2024-01-02T03:04:05Z\""
                        : type == "integer" ? "3"
                        : type == "object"  ? "{\"a\":\"b\"}"
                                            : "[\"example.com/x\"]";
    if (name == "name") value = "\"x\"";
    if (name == "resourceVersion") value = "\"7\"";
    if (name == "managedFields") {
      value = R"([{"manager":"m","operation":"Update","apiVersion":"container-infra/v1",)"
              R"("time":"2024-01-02T03:04:05Z","fieldsType":"FieldsV1","fieldsV1":{}}])";
    }
    std::string object =
        R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"x",)" +
        ("\"" + name + "\":" + value) + "}}";
    if (name == "name")
      object = R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"x"}})";
    auto decoded = decodeObject(object);
    EXPECT_TRUE(decoded.ok()) << name << ": " << (decoded.ok() ? "" : decoded.error().message);
  }
  EXPECT_FALSE(
      decodeObject(
          R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"generateName":"x-"}})")
          .ok());
  EXPECT_FALSE(meta.HasMember("generateName"));
}

TEST_F(SchemaTest, EnumsAreTheListsValidationChecks) {
  EXPECT_EQ(strings(spec(Kind::ClusterTemplate)["properties"]["coe"]["enum"]), strings(coes()));
  EXPECT_EQ(strings(spec(Kind::ClusterTemplate)["properties"]["dockerStorageDriver"]["enum"]),
            strings(dockerStorageDrivers()));
  EXPECT_EQ(strings(spec(Kind::ClusterTemplate)["properties"]["serverType"]["enum"]),
            strings(serverTypes()));
  EXPECT_EQ(strings(status(Kind::Cluster)["properties"]["phase"]["enum"]), strings(phases()));
  EXPECT_EQ(strings(status(Kind::Cluster)["properties"]["healthStatus"]["enum"]),
            strings(healthStatuses()));
  EXPECT_EQ(
      strings(status(
          Kind::Cluster)["properties"]["conditions"]["items"]["properties"]["status"]["enum"]),
      strings(conditionStatuses()));
  EXPECT_EQ(strings(spec(Kind::Event)["properties"]["type"]["enum"]), strings(eventTypes()));
}

TEST_F(SchemaTest, LabelsListTheLabelsTableWithItsValues) {
  for (Kind k : {Kind::ClusterTemplate, Kind::Cluster, Kind::NodeGroup}) {
    const Json& labels = spec(k)["properties"]["labels"];
    EXPECT_EQ(labels["maxProperties"].GetInt64(), static_cast<int64_t>(kMaxLabels));
    EXPECT_EQ(labels["additionalProperties"]["maxLength"].GetInt64(),
              static_cast<int64_t>(kMaxLabelValue));
    const Json& known = labels["properties"];
    EXPECT_EQ(known.MemberCount(), labelRules().size());
    for (const LabelRule& rule : labelRules()) {
      std::string key(rule.key);
      ASSERT_TRUE(known.HasMember(key.c_str())) << key;
      const Json& label = known[key.c_str()];
      if (rule.type == LabelType::Enum) {
        EXPECT_EQ(strings(label["enum"]), strings(rule.values)) << key;
      } else {
        EXPECT_FALSE(label.HasMember("enum")) << key;
      }
      if (!rule.default_value.empty()) {
        std::string description = label["description"].GetString();
        EXPECT_NE(description.find(std::string(rule.default_value)), std::string::npos) << key;
      }
    }
  }
  std::string flannel = spec(Kind::ClusterTemplate)["properties"]["labels"]["properties"]
                                                   ["flannel_backend"]["description"]
                                                       .GetString();
  EXPECT_EQ(flannel, "With networkDriver flannel; default vxlan.");
  std::string kube_tag =
      spec(Kind::ClusterTemplate)["properties"]["labels"]["properties"]["kube_tag"]["description"]
          .GetString();
  EXPECT_NE(kube_tag.find(std::string(kDefaultKubernetesVersion)), std::string::npos) << kube_tag;
}

TEST_F(SchemaTest, DescriptionsSayTheBoundsDefaultsAndImmutability) {
  const Json& node_count = spec(Kind::Cluster)["properties"]["nodeCount"];
  EXPECT_STREQ(node_count["description"].GetString(),
               "Servers in the default-worker node group. From 0 to 10000. Default: 1.");
  EXPECT_EQ(node_count["minimum"].GetInt64(), 0);
  EXPECT_EQ(node_count["maximum"].GetInt64(), kMaxNodeCount);
  EXPECT_EQ(node_count["default"].GetInt64(), 1);
  const Json& masters = spec(Kind::Cluster)["properties"]["masterCount"];
  std::string text = masters["description"].GetString();
  EXPECT_NE(text.find("Immutable: create a new cluster to change the number of masters."),
            std::string::npos)
      << text;
  EXPECT_STREQ(masters["x-kubernetes-validations"][0]["rule"].GetString(), "self == oldSelf");
  EXPECT_STREQ(spec(Kind::ClusterTemplate)["properties"]["flavor"]["default"].GetString(),
               std::string(kDefaultFlavor).c_str());
  std::string timeout =
      spec(Kind::Cluster)["properties"]["nodeStartupTimeout"]["description"].GetString();
  EXPECT_NE(timeout.find(std::string(kNodeStartupTimeoutForm)), std::string::npos) << timeout;
  // A status shows no defaults: controllers write all of it.
  EXPECT_FALSE(status(Kind::Cluster)["properties"]["observedGeneration"].HasMember("default"));
}

// Merge keys of map lists are required in their items, as structured merge needs.
TEST_F(SchemaTest, ListsCarryTheirTypeAndMergeKeys) {
  const Json& conditions = status(Kind::Cluster)["properties"]["conditions"];
  EXPECT_STREQ(conditions["x-kubernetes-list-type"].GetString(), "map");
  EXPECT_EQ(strings(conditions["x-kubernetes-list-map-keys"]), std::vector<std::string>{"type"});
  EXPECT_STREQ(
      spec(Kind::NodeGroup)["properties"]["nodesToRemove"]["x-kubernetes-list-type"].GetString(),
      "set");
  EXPECT_STREQ(
      status(Kind::Cluster)["properties"]["masterAddresses"]["x-kubernetes-list-type"].GetString(),
      "atomic");
  std::function<void(const Json&, const std::string&)> walk = [&](const Json& s,
                                                                  const std::string& path) {
    if (!s.IsObject()) return;
    if (s.HasMember("x-kubernetes-list-map-keys")) {
      for (const auto& key : s["x-kubernetes-list-map-keys"].GetArray()) {
        ASSERT_TRUE(s["items"].HasMember("required")) << path;
        auto required = strings(s["items"]["required"]);
        EXPECT_NE(std::find(required.begin(), required.end(), key.GetString()), required.end())
            << path << ": merge key " << key.GetString() << " is not required";
      }
    }
    for (const auto& m : s.GetObject()) walk(m.value, path + "/" + m.name.GetString());
  };
  walk(v3_, "");
}

// The bases the agreement tests vary one field of.
struct Base {
  Kind kind;
  std::string spec;
};
const std::vector<Base>& bases() {
  static const std::vector<Base> kBases = {
      {Kind::ClusterTemplate,
       R"({"coe":"kubernetes","image":"i","externalNetwork":"e","dockerStorageDriver":"overlay2"})"},
      {Kind::Cluster, R"({"clusterTemplate":"t"})"},
      {Kind::NodeGroup, R"({"cluster":"c"})"},
      {Kind::Event, R"({"involvedObject":{"kind":"Cluster","name":"c"},"reason":"Created"})"},
  };
  return kBases;
}

std::string with(const std::string& spec, const std::string& name, const std::string& value) {
  util::JsonDoc doc;
  doc.Parse(spec.c_str());
  util::JsonDoc v;
  v.Parse(value.c_str());
  if (doc.HasMember(name.c_str())) doc.RemoveMember(name.c_str());
  doc.AddMember(util::str(name, doc.GetAllocator()), Json(v, doc.GetAllocator()),
                doc.GetAllocator());
  return util::toJson(doc);
}

std::string without(const std::string& spec, const std::string& name) {
  util::JsonDoc doc;
  doc.Parse(spec.c_str());
  doc.RemoveMember(name.c_str());
  return util::toJson(doc);
}

std::optional<std::string> causeAt(Kind kind, const std::string& spec, const std::string& field) {
  auto r = admitSpec(kind, spec);
  if (r.ok()) return std::nullopt;
  return testing::causeAt(r.error(), field);
}

// A cause at `field` or at a field inside it (a missing record is reported at its fields).
bool causeUnder(Kind kind, const std::string& spec, const std::string& field) {
  auto r = admitSpec(kind, spec);
  if (r.ok()) return false;
  return std::any_of(r.error().causes.begin(), r.error().causes.end(), [&](const util::Cause& c) {
    return c.field == field || c.field.rfind(field + ".", 0) == 0;
  });
}

// A value outside a property's bounds is refused at that field; the bounds themselves are not.
TEST_F(SchemaTest, AdmissionEnforcesTheBoundsTheSchemaStates) {
  int checked = 0;
  for (const auto& base : bases()) {
    for (const auto& m : spec(base.kind)["properties"].GetObject()) {
      std::string name = m.name.GetString();
      const Json& p = m.value;
      std::string field = "spec." + name;
      if (p.HasMember("minimum")) {
        int64_t min = p["minimum"].GetInt64();
        EXPECT_TRUE(causeAt(base.kind, with(base.spec, name, std::to_string(min - 1)), field))
            << field;
        EXPECT_FALSE(causeAt(base.kind, with(base.spec, name, std::to_string(min)), field))
            << field << " = " << min;
        ++checked;
      }
      if (p.HasMember("maximum")) {
        int64_t max = p["maximum"].GetInt64();
        EXPECT_TRUE(causeAt(base.kind, with(base.spec, name, std::to_string(max + 1)), field))
            << field;
        EXPECT_FALSE(causeAt(base.kind, with(base.spec, name, std::to_string(max)), field))
            << field << " = " << max;
        ++checked;
      }
      if (p.HasMember("maxLength")) {
        std::string text(static_cast<size_t>(p["maxLength"].GetInt64()) + 1, 'a');
        EXPECT_TRUE(causeAt(base.kind, with(base.spec, name, "\"" + text + "\""), field)) << field;
        ++checked;
      }
      if (p.HasMember("maxItems")) {
        // Items of a list of objects are empty objects: the count is what is checked.
        const bool objects = p.HasMember("items") && p["items"].HasMember("type") &&
                             std::string_view(p["items"]["type"].GetString()) == "object";
        std::string items = "[";
        for (int64_t i = 0; i <= p["maxItems"].GetInt64(); ++i) {
          if (i) items += ",";
          items += objects ? std::string("{}") : "\"n" + std::to_string(i) + "\"";
        }
        EXPECT_TRUE(causeAt(base.kind, with(base.spec, name, items + "]"), field)) << field;
        ++checked;
      }
      if (p.HasMember("maxProperties")) {
        std::string map = "{";
        for (int64_t i = 0; i <= p["maxProperties"].GetInt64(); ++i) {
          map += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
        }
        EXPECT_TRUE(causeAt(base.kind, with(base.spec, name, map + "}"), field)) << field;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
  // Nested records: the bounds of healthCheck and rolloutStrategy.
  const Json& health = spec(Kind::Cluster)["properties"]["healthCheck"]["properties"];
  int64_t max = health["maxRemediationsPerHour"]["maximum"].GetInt64();
  EXPECT_TRUE(causeAt(Kind::Cluster,
                      with(bases()[1].spec, "healthCheck",
                           "{\"maxRemediationsPerHour\":" + std::to_string(max + 1) + "}"),
                      "spec.healthCheck.maxRemediationsPerHour"));
  int64_t batch =
      spec(Kind::Cluster)["properties"]["rolloutStrategy"]["properties"]["maxBatchSize"]["maximum"]
          .GetInt64();
  EXPECT_TRUE(causeAt(Kind::Cluster,
                      with(bases()[1].spec, "rolloutStrategy",
                           "{\"maxBatchSize\":" + std::to_string(batch + 1) + "}"),
                      "spec.rolloutStrategy.maxBatchSize"));
  EXPECT_FALSE(causeAt(
      Kind::Cluster,
      with(bases()[1].spec, "rolloutStrategy", "{\"maxBatchSize\":" + std::to_string(batch) + "}"),
      "spec.rolloutStrategy.maxBatchSize"));
}

// A value outside an enum is refused at that field. Every value of an enum is accepted, except
// where validation also looks at the COE (networkDriver, volumeDriver, clusterDistro list every
// COE's values; the description says which go with which).
TEST_F(SchemaTest, AdmissionEnforcesTheEnumsTheSchemaStates) {
  const std::set<std::string> per_coe = {"networkDriver", "volumeDriver", "clusterDistro"};
  int checked = 0;
  for (const auto& base : bases()) {
    for (const auto& m : spec(base.kind)["properties"].GetObject()) {
      if (!m.value.HasMember("enum")) continue;
      std::string name = m.name.GetString();
      std::string field = "spec." + name;
      EXPECT_TRUE(causeAt(base.kind, with(base.spec, name, "\"no-such-value\""), field)) << field;
      if (per_coe.count(name)) continue;
      for (const auto& value : strings(m.value["enum"])) {
        EXPECT_FALSE(causeAt(base.kind, with(base.spec, name, "\"" + value + "\""), field))
            << field << " = " << value;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);
}

TEST_F(SchemaTest, AdmissionRequiresTheRequiredFields) {
  for (const auto& base : bases()) {
    const Json& s = spec(base.kind);
    ASSERT_TRUE(s.HasMember("required")) << kindInfo(base.kind).name;
    for (const auto& name : strings(s["required"])) {
      EXPECT_TRUE(causeUnder(base.kind, without(base.spec, name), "spec." + name))
          << kindInfo(base.kind).name << " spec." << name;
    }
  }
}

// What admission fills into a spec that leaves a field out is the schema's default.
TEST_F(SchemaTest, AdmissionFillsTheDefaultsTheSchemaStates) {
  for (const auto& base : bases()) {
    util::JsonDoc admitted = testing::admitted(base.kind, base.spec);
    int defaults = 0;
    for (const auto& m : spec(base.kind)["properties"].GetObject()) {
      if (!m.value.HasMember("default")) continue;
      std::string name = m.name.GetString();
      util::JsonDoc parsed;
      parsed.Parse(base.spec.c_str());
      if (parsed.HasMember(name.c_str())) continue;
      ASSERT_TRUE(admitted.HasMember(name.c_str())) << name;
      EXPECT_EQ(admitted[name.c_str()], m.value["default"])
          << kindInfo(base.kind).name << " spec." << name;
      ++defaults;
    }
    EXPECT_GT(defaults, 0) << kindInfo(base.kind).name;
  }
}

// The fields the schema marks immutable are the ones an update may not change.
TEST_F(SchemaTest, UpdatesRefuseChangesToTheImmutableFields) {
  int checked = 0;
  for (const auto& base : bases()) {
    auto old_spec = admitSpec(base.kind, base.spec);
    ASSERT_TRUE(old_spec.ok());
    for (const auto& m : spec(base.kind)["properties"].GetObject()) {
      std::string name = m.name.GetString();
      std::string type = m.value["type"].GetString();
      std::string changed = type == "integer" ? "3" : type == "string" ? "\"changed\"" : "";
      if (changed.empty()) continue;
      std::string next = with(*old_spec, name, changed);
      auto status = validateSpecUpdate(base.kind, *old_spec, next);
      bool immutable = m.value.HasMember("x-kubernetes-validations");
      EXPECT_EQ(!status.ok() && testing::causeAt(status.error(), "spec." + name).has_value(),
                immutable)
          << kindInfo(base.kind).name << " spec." << name;
      checked += immutable;
    }
  }
  EXPECT_EQ(checked, 4);  // Cluster masterCount, discoveryUrl; NodeGroup cluster, role
}

}  // namespace
}  // namespace magnumd::api
