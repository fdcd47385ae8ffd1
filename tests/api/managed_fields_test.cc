// Server-side apply's bookkeeping, without a server: which fields a configuration sets (FieldsV1),
// how lists merge by the schema's list types, conflicts between managers and force, removal of
// what an applier stops setting, the Update entries other writes leave, and the limits.
#include "api/managed_fields.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api/fieldpath.h"
#include "api/typed_value.h"

namespace magnumd::api::managed {
namespace {

using util::ErrorCode;

constexpr const char* kT0 = "2026-01-01T00:00:00Z";
constexpr const char* kT1 = "2026-01-01T00:01:00Z";
constexpr const char* kT2 = "2026-01-01T00:02:00Z";

util::JsonDoc json(std::string_view text) {
  auto doc = util::parseJson(text);
  EXPECT_TRUE(doc.ok()) << text;
  return doc.ok() ? std::move(doc).value() : util::JsonDoc{};
}

std::string fieldsOf(std::string_view view, Kind kind = Kind::Cluster) {
  auto set = typed::toFieldSet(json(view), typed::typeOf(kind));
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  return set.ok() ? fieldpath::toFieldsV1(*set) : "";
}

Object cluster(std::string_view spec, std::vector<ManagedFieldsEntry> managed = {}) {
  Object o;
  o.kind = Kind::Cluster;
  o.metadata.name = "prod";
  o.metadata.namespace_ = "demo";
  o.spec = util::toJson(json(spec));
  o.metadata.managed_fields = std::move(managed);
  return o;
}

// Applies `config` over `live` as `manager` and returns the object as it would be stored.
util::Result<Object> applied(const Object* live, std::string_view config, std::string_view manager,
                             bool force = false, std::string_view now = kT1,
                             const Limits& limits = {}) {
  auto doc = json(config);
  ASSIGN_OR_RETURN(Applied result, apply(Kind::Cluster, live, doc, manager, force, limits));
  Object out = live != nullptr ? *live : cluster("{}");
  out.spec = util::toJson(result.view["spec"]);
  out.metadata.labels.clear();
  if (const auto* labels = util::member(result.view["metadata"], "labels")) {
    for (const auto& m : labels->GetObject())
      out.metadata.labels[m.name.GetString()] = m.value.GetString();
  }
  Manager touched{std::string(manager), true, "", "", {}};
  ASSIGN_OR_RETURN(out.metadata.managed_fields,
                   encode(std::move(result.managers), &touched, now, limits));
  return out;
}

const ManagedFieldsEntry* entryOf(const Object& o, std::string_view manager,
                                  std::string_view operation = kApply) {
  for (const auto& e : o.metadata.managed_fields) {
    if (e.manager == manager && e.operation == operation) return &e;
  }
  return nullptr;
}

TEST(FieldSet, RecordsAreGranularAndMapsOwnTheirKeys) {
  EXPECT_EQ(
      fieldsOf(R"({"metadata":{"labels":{"app":"web"}},)"
               R"("spec":{"nodeCount":2,"labels":{"kube_tag":"v1.32.4"},)"
               R"("rolloutStrategy":{"maxBatchSize":1},"healthCheck":{}}})"),
      R"({"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:healthCheck":{},)"
      R"("f:labels":{"f:kube_tag":{}},"f:nodeCount":{},"f:rolloutStrategy":{"f:maxBatchSize":{}}}})");
}

TEST(FieldSet, SetsOwnEachValueAndRefuseAValueTwice) {
  EXPECT_EQ(fieldsOf(R"({"metadata":{"finalizers":["example.com/a"]},)"
                     R"("spec":{"cluster":"prod","nodesToRemove":["n-1","n-2"]}})",
                     Kind::NodeGroup),
            R"({"f:metadata":{"f:finalizers":{"v:\"example.com/a\"":{}}},)"
            R"("f:spec":{"f:cluster":{},"f:nodesToRemove":{"v:\"n-1\"":{},"v:\"n-2\"":{}}}})");
  auto twice = typed::toFieldSet(json(R"({"spec":{"nodesToRemove":["n-1","n-1"]}})"),
                                 typed::typeOf(Kind::NodeGroup));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::Invalid);
  EXPECT_EQ(twice.error().causes.at(0).field, "spec.nodesToRemove");
  EXPECT_NE(twice.error().message.find("[=\"n-1\"] is given twice"), std::string::npos)
      << twice.error().message;
}

// Cluster status.conditions is a list of type map keyed by type: entries are merged and owned
// one by one, and compared by key, not by position.
TEST(FieldSet, ListMapsAreKeyedByTheSchemasMergeKeys) {
  const typed::TypeNode& status = typed::typeOf(Kind::Cluster).member("status");
  auto live = json(R"({"conditions":[{"type":"Ready","status":"False"},)"
                   R"({"type":"StackReady","status":"True"}]})");
  auto config = json(R"({"conditions":[{"type":"Ready","status":"True","reason":"Done"}]})");
  auto set = typed::toFieldSet(config, status);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(fieldpath::toFieldsV1(*set),
            R"({"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:reason":{},"f:status":{},)"
            R"("f:type":{}}}})");
  util::JsonDoc merged;
  typed::merge(live, config, status, merged, merged.GetAllocator());
  EXPECT_EQ(util::toJson(merged),
            R"({"conditions":[{"type":"Ready","status":"True","reason":"Done"},)"
            R"({"type":"StackReady","status":"True"}]})");
  auto reordered = json(R"({"conditions":[{"type":"StackReady","status":"True"},)"
                        R"({"type":"Ready","status":"False"}]})");
  auto same = typed::compare(live, reordered, status);
  EXPECT_TRUE(same.added.empty() && same.modified.empty() && same.removed.empty());
  auto changes = typed::compare(live, merged, status);
  std::vector<std::string> modified, added;
  changes.modified.forEach([&](const auto& p) { modified.push_back(fieldpath::toString(p)); });
  changes.added.forEach([&](const auto& p) { added.push_back(fieldpath::toString(p)); });
  EXPECT_EQ(modified, std::vector<std::string>{".conditions[type=\"Ready\"].status"});
  EXPECT_EQ(added, std::vector<std::string>{".conditions[type=\"Ready\"].reason"});
  auto keyless = typed::toFieldSet(json(R"({"conditions":[{"status":"True"}]})"), status);
  ASSERT_FALSE(keyless.ok());
  EXPECT_NE(keyless.error().message.find("conditions: every entry needs its key field \"type\""),
            std::string::npos)
      << keyless.error().message;
}

TEST(FieldSet, AtomicListsAreOneField) {
  const typed::TypeNode& status = typed::typeOf(Kind::Cluster).member("status");
  auto set = typed::toFieldSet(json(R"({"masterAddresses":["10.0.0.1","10.0.0.2"]})"), status);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(fieldpath::toFieldsV1(*set), R"({"f:masterAddresses":{}})");
  util::JsonDoc merged;
  typed::merge(json(R"({"masterAddresses":["10.0.0.1","10.0.0.2"]})"),
               json(R"({"masterAddresses":["10.0.0.3"]})"), status, merged, merged.GetAllocator());
  EXPECT_EQ(util::toJson(merged), R"({"masterAddresses":["10.0.0.3"]})");
}

TEST(FieldsV1, ParsesWhatItWritesAndNamesWhatIsWrong) {
  const char* text =
      R"({"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:nodesToRemove":{"v:\"n1\"":{}}}})";
  auto set = fieldpath::fromFieldsV1(text, "fieldsV1", 100);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->size(), 3u);  // labels, labels.app, nodesToRemove[="n1"]
  EXPECT_EQ(fieldpath::toFieldsV1(*set), text);
  EXPECT_TRUE(set->has(
      {fieldpath::PathElement::field("metadata"), fieldpath::PathElement::field("labels")}));

  auto bad = fieldpath::fromFieldsV1(R"({"spec":{}})", "metadata.managedFields[0].fieldsV1", 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::Invalid);
  EXPECT_EQ(bad.error().causes.at(0).field, "metadata.managedFields[0].fieldsV1");
  EXPECT_NE(bad.error().message.find("\"spec\" is not a field set key"), std::string::npos);
  auto big = fieldpath::fromFieldsV1(R"({"f:a":{},"f:b":{},"f:c":{}})", "fieldsV1", 2);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::TooLarge);
  EXPECT_NE(big.error().message.find("at most 2"), std::string::npos) << big.error().message;
}

TEST(Apply, ASecondManagerChangingAnOwnedFieldConflictsUntilForced) {
  auto a = applied(nullptr, R"({"spec":{"clusterTemplate":"k8s","nodeCount":2}})", "a");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_NE(entryOf(*a, "a"), nullptr);
  EXPECT_EQ(entryOf(*a, "a")->fields_v1, R"({"f:spec":{"f:clusterTemplate":{},"f:nodeCount":{}}})");
  EXPECT_EQ(entryOf(*a, "a")->time, kT1);

  auto b = applied(&*a, R"({"spec":{"nodeCount":3}})", "b", false, kT2);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::Conflict);
  EXPECT_EQ(b.error().message,
            "Apply failed with 1 conflict: conflict with \"a\": .spec.nodeCount");
  ASSERT_EQ(b.error().causes.size(), 1u);
  EXPECT_EQ(b.error().causes[0].field, ".spec.nodeCount");
  EXPECT_EQ(b.error().causes[0].message, "conflict with \"a\"");
  EXPECT_EQ(b.error().causes[0].reason, "FieldManagerConflict");

  // The same value is no conflict: both own it.
  auto shared = applied(&*a, R"({"spec":{"nodeCount":2}})", "b", false, kT2);
  ASSERT_TRUE(shared.ok()) << shared.error().message;
  EXPECT_EQ(entryOf(*shared, "b")->fields_v1, R"({"f:spec":{"f:nodeCount":{}}})");
  EXPECT_EQ(entryOf(*shared, "a")->fields_v1, entryOf(*a, "a")->fields_v1);

  auto forced = applied(&*a, R"({"spec":{"nodeCount":3}})", "b", true, kT2);
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_EQ(forced->spec, R"({"clusterTemplate":"k8s","nodeCount":3})");
  EXPECT_EQ(entryOf(*forced, "a")->fields_v1, R"({"f:spec":{"f:clusterTemplate":{}}})");
  EXPECT_EQ(entryOf(*forced, "b")->fields_v1, R"({"f:spec":{"f:nodeCount":{}}})");
  // a applying its old value again now conflicts with b.
  auto back = applied(&*forced, R"({"spec":{"clusterTemplate":"k8s","nodeCount":2}})", "a");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().message,
            "Apply failed with 1 conflict: conflict with \"b\": .spec.nodeCount");
}

TEST(Apply, ConflictsWithSeveralFieldsAndUpdatersAreListedByManager) {
  Object live = cluster(R"({"clusterTemplate":"k8s","nodeCount":2,"flavor":"m1.small"})");
  auto recorded = recordUpdate(Kind::Cluster, nullptr, live, {}, "kubectl-client-side-apply", kT0);
  ASSERT_TRUE(recorded.ok());
  live.metadata.managed_fields = *recorded;
  auto b = applied(&live, R"({"spec":{"nodeCount":3,"flavor":"m1.large"}})", "b");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message,
            "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using "
            "container-infra/v1 at 2026-01-01T00:00:00Z:\n- .spec.flavor\n- .spec.nodeCount");
  EXPECT_EQ(b.error().causes.size(), 2u);
}

TEST(Apply, OmittingAFieldTheManagerOwnedRemovesItUnlessAnotherOwnsIt) {
  auto first = applied(nullptr,
                       R"({"metadata":{"labels":{"team":"x","tier":"web"}},)"
                       R"("spec":{"clusterTemplate":"k8s","flavor":"m1.small",)"
                       R"("rolloutStrategy":{"maxBatchSize":2}}})",
                       "a");
  ASSERT_TRUE(first.ok()) << first.error().message;
  // b also sets tier (same value): it stays when a stops setting it.
  auto shared = applied(&*first, R"({"metadata":{"labels":{"tier":"web"}}})", "b");
  ASSERT_TRUE(shared.ok()) << shared.error().message;
  auto second =
      applied(&*shared, R"({"metadata":{"labels":{"team":"x"}},"spec":{"clusterTemplate":"k8s"}})",
              "a", false, kT2);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->spec, R"({"clusterTemplate":"k8s"})");  // flavor and the emptied record went
  EXPECT_EQ(second->metadata.labels, (StringMap{{"team", "x"}, {"tier", "web"}}));
  EXPECT_EQ(entryOf(*second, "a")->fields_v1,
            R"({"f:metadata":{"f:labels":{"f:team":{}}},"f:spec":{"f:clusterTemplate":{}}})");
  EXPECT_EQ(entryOf(*second, "a")->time, kT2);
  EXPECT_EQ(entryOf(*second, "b")->time, kT1);

  // Fields nobody manages (defaults, a controller's) are never removed by an apply.
  Object defaulted = *second;
  defaulted.spec = R"({"clusterTemplate":"k8s","nodeCount":1,"masterCount":1})";
  auto third = applied(&defaulted, R"({"spec":{"clusterTemplate":"k8s"}})", "a");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->spec, defaulted.spec);
}

TEST(Apply, StringMapValuesCompareAsTheDecoderStoresThem) {
  Object live = cluster(R"({"clusterTemplate":"k8s","labels":{"auto_healing_enabled":"true"}})");
  auto recorded = recordUpdate(Kind::Cluster, nullptr, live, {}, "kubectl-create", kT0);
  ASSERT_TRUE(recorded.ok());
  live.metadata.managed_fields = *recorded;
  auto same = applied(&live, R"({"spec":{"labels":{"auto_healing_enabled":true}}})", "a");
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->spec, live.spec);
}

TEST(Update, TheWriterOwnsWhatItChangedAndOthersLoseIt) {
  Object created = cluster(R"({"clusterTemplate":"k8s","nodeCount":2,"labels":{"a":"1"}})");
  created.metadata.labels = {{"app", "web"}};
  auto entries = recordUpdate(Kind::Cluster, nullptr, created, {}, "kubectl-create", kT0);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].operation, "Update");
  EXPECT_EQ((*entries)[0].api_version, "container-infra/v1");
  EXPECT_EQ((*entries)[0].fields_type, "FieldsV1");
  // A map an update brings into being is owned itself ("."), as kube-apiserver records it.
  EXPECT_EQ((*entries)[0].fields_v1,
            R"({"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:clusterTemplate":{},)"
            R"("f:labels":{".":{},"f:a":{}},"f:nodeCount":{}}})");
  created.metadata.managed_fields = *entries;

  Object edited = created;
  edited.spec = R"({"clusterTemplate":"k8s","nodeCount":5,"labels":{"a":"1"}})";
  auto after = recordUpdate(Kind::Cluster, &created, edited, {}, "kubectl-edit", kT1);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].manager, "kubectl-create");
  EXPECT_EQ((*after)[0].fields_v1,
            R"({"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:clusterTemplate":{},)"
            R"("f:labels":{".":{},"f:a":{}}}})");
  EXPECT_EQ((*after)[0].time, kT0);
  EXPECT_EQ((*after)[1].manager, "kubectl-edit");
  EXPECT_EQ((*after)[1].fields_v1, R"({"f:spec":{"f:nodeCount":{}}})");
  EXPECT_EQ((*after)[1].time, kT1);

  // A write that changes nothing leaves the entries as they were, times included.
  auto none = recordUpdate(Kind::Cluster, &created, created, {}, "kubectl-edit", kT2);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, created.metadata.managed_fields);
}

TEST(Update, ClientsMayReplaceOrClearTheEntriesButOnlyWithValidOnes) {
  Object live = cluster(R"({"clusterTemplate":"k8s"})");
  live.metadata.managed_fields = *recordUpdate(Kind::Cluster, nullptr, live, {}, "a", kT0);
  ManagedFieldsEntry forged{"gitops", "Apply",    "container-infra/v1",
                            kT1,      "FieldsV1", R"({"f:spec":{"f:clusterTemplate":{}}})"};
  auto replaced = recordUpdate(Kind::Cluster, &live, live, {forged}, "kubectl-patch", kT2);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(*replaced, std::vector<ManagedFieldsEntry>{forged});

  auto cleared = recordUpdate(Kind::Cluster, &live, live, {ManagedFieldsEntry{}}, "x", kT2);
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->empty());

  ManagedFieldsEntry wrong = forged;
  wrong.operation = "Create";
  auto refused = recordUpdate(Kind::Cluster, &live, live, {forged, wrong}, "x", kT2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::Invalid);
  EXPECT_EQ(refused.error().causes.at(0).field, "metadata.managedFields[1].operation");
  auto twice = recordUpdate(Kind::Cluster, &live, live, {forged, forged}, "x", kT2);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("listed twice"), std::string::npos);
  wrong = forged;
  wrong.fields_v1 = R"({"f:spec":{"f:a":"b"}})";
  auto bad_set = recordUpdate(Kind::Cluster, &live, live, {wrong}, "x", kT2);
  ASSERT_FALSE(bad_set.ok());
  EXPECT_EQ(bad_set.error().causes.at(0).field, "metadata.managedFields[0].fieldsV1");
}

TEST(Update, TheOldestUpdatersMergeIntoAncientChangesBeyondTen) {
  Object live = cluster(R"({"clusterTemplate":"k8s"})");
  Object next = live;
  for (int i = 0; i < 12; ++i) {
    next.metadata.labels[fmt::format("l{}", i)] = "x";
    auto entries = recordUpdate(Kind::Cluster, &live, next, {}, fmt::format("m{}", i),
                                fmt::format("2026-01-01T00:00:{:02}Z", i));
    ASSERT_TRUE(entries.ok()) << entries.error().message;
    next.metadata.managed_fields = *entries;
    live = next;
  }
  ASSERT_EQ(live.metadata.managed_fields.size(), 10u);
  const ManagedFieldsEntry* ancient = entryOf(live, "ancient-changes", kUpdate);
  ASSERT_NE(ancient, nullptr);
  EXPECT_EQ(ancient->fields_v1,
            R"({"f:metadata":{"f:labels":{".":{},"f:l0":{},"f:l1":{},"f:l2":{}}}})");
  EXPECT_EQ(entryOf(live, "m2", kUpdate), nullptr);
  EXPECT_NE(entryOf(live, "m3", kUpdate), nullptr);
}

TEST(Limits, AppliersFieldsAndBytesAreBoundedAndTheErrorNamesTheLimit) {
  Limits limits;
  limits.max_apply_managers = 2;
  auto one = applied(nullptr, R"({"spec":{"nodeCount":2}})", "a", false, kT1, limits);
  ASSERT_TRUE(one.ok());
  auto two = applied(&*one, R"({"spec":{"nodeCount":2}})", "b", false, kT1, limits);
  ASSERT_TRUE(two.ok());
  auto three = applied(&*two, R"({"spec":{"nodeCount":2}})", "c", false, kT1, limits);
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(three.error().code, ErrorCode::TooLarge);
  EXPECT_NE(three.error().message.find("2 managers have applied to this object, the most allowed"),
            std::string::npos)
      << three.error().message;
  // Appliers already there still may.
  EXPECT_TRUE(applied(&*two, R"({"spec":{"nodeCount":2}})", "a", false, kT2, limits).ok());

  limits = {};
  limits.max_fields_per_manager = 3;
  auto many = applied(nullptr, R"({"metadata":{"labels":{"a":"1","b":"2","c":"3","d":"4"}}})", "a",
                      false, kT1, limits);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::TooLarge);
  EXPECT_NE(many.error().message.find("manager \"a\" would own 4 fields; at most 3 per manager"),
            std::string::npos)
      << many.error().message;

  limits = {};
  limits.max_fields_bytes = 60;
  auto big = applied(nullptr, R"({"metadata":{"labels":{"a-long-label-name":"1","another":"2"}}})",
                     "a", false, kT1, limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::TooLarge);
  EXPECT_NE(big.error().message.find("at most 60 are allowed"), std::string::npos)
      << big.error().message;
}

TEST(Managers, NamesComeFromFieldManagerOrTheUserAgentsProduct) {
  EXPECT_EQ(managerFromUserAgent("kubectl/v1.32.4 (linux/amd64) kubernetes/abc"), "kubectl");
  EXPECT_EQ(managerFromUserAgent("argocd-application-controller/v2.13"),
            "argocd-application-controller");
  EXPECT_EQ(managerFromUserAgent(std::string(300, 'x')).size(), kMaxManagerLength);
  EXPECT_TRUE(checkManagerName("kubectl-edit", "fieldManager").ok());
  auto tab = checkManagerName("a\tb", "fieldManager");
  ASSERT_FALSE(tab.ok());
  EXPECT_EQ(tab.error().causes.at(0).field, "fieldManager");
  EXPECT_FALSE(checkManagerName(std::string(129, 'x'), "fieldManager").ok());
}

}  // namespace
}  // namespace magnumd::api::managed
