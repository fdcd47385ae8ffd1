// Write semantics: server-assigned fields, generation, status, preconditions, finalizers,
// durability across reopen, the database lock, quota failures.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "store/sqlite_store.h"
#include "store_backend.h"
#include "store_test_util.h"
#include "util/time.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;

class StoreCrudTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped()) return;
    config_.clock = clock_;
    openMain();
  }

  std::shared_ptr<FixedClock> clock_ = std::make_shared<FixedClock>();
};

TEST_P(StoreCrudTest, CreateAssignsServerFields) {
  api::Object in = cluster("ns", "a", R"({ "nodeCount": 3 })");
  in.metadata.uid = "client-chosen";
  in.metadata.generation = 7;
  in.metadata.labels = {{"team", "x"}};
  api::Object out = mustCreate(*store_, in);
  EXPECT_EQ(out.metadata.resource_version, rev(1));
  EXPECT_EQ(out.metadata.generation, 1);
  EXPECT_EQ(out.metadata.uid.size(), 36u);
  EXPECT_NE(out.metadata.uid, "client-chosen");
  EXPECT_EQ(out.metadata.creation_timestamp, util::formatRfc3339(clock_->now()));
  EXPECT_EQ(out.spec, R"({"nodeCount":3})");  // stored compact
  EXPECT_EQ(out.metadata.labels, in.metadata.labels);
  EXPECT_EQ(store_->currentRevision(), rev(1));
  auto got = store_->get({api::Kind::Cluster, "ns", "a"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, out);
}

TEST_P(StoreCrudTest, CreateRejectsDuplicatesAndBadInput) {
  mustCreate(*store_, cluster("ns", "a"));
  auto dup = createSync(*store_, cluster("ns", "a"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(dup.error().message, "clusters \"a\" already exists");
  // Same name, other namespace or kind: a different object.
  EXPECT_TRUE(createSync(*store_, cluster("other", "a")).ok());
  EXPECT_TRUE(createSync(*store_, object(api::Kind::ClusterTemplate, "ns", "a")).ok());

  auto unnamed = createSync(*store_, cluster("ns", ""));
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(unnamed.error().message, "metadata.name: required");
  auto bad_spec = createSync(*store_, cluster("ns", "b", "[1,2]"));
  ASSERT_FALSE(bad_spec.ok());
  EXPECT_EQ(bad_spec.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(bad_spec.error().message, "spec: must be an object, got array");
  EXPECT_EQ(store_->currentRevision(), rev(3));  // rejected writes take no revision
}

TEST_P(StoreCrudTest, GenerationBumpsOnlyOnSpecChange) {
  api::Object o = mustCreate(*store_, cluster("ns", "a", R"({"n":1})"));
  o.metadata.labels["l"] = "v";
  auto labelled = updateSync(*store_, o, o.metadata.resource_version);
  ASSERT_TRUE(labelled.ok());
  EXPECT_EQ(labelled->metadata.generation, 1);
  EXPECT_EQ(labelled->metadata.resource_version, rev(2));

  api::Object changed = *labelled;
  changed.spec = R"({"n":2})";
  auto respecced = updateSync(*store_, changed, rev(2));
  ASSERT_TRUE(respecced.ok());
  EXPECT_EQ(respecced->metadata.generation, 2);
  EXPECT_EQ(respecced->metadata.resource_version, rev(3));

  api::Object status = *respecced;
  status.status = R"({"phase":"Ready"})";
  auto stat = updateStatusSync(*store_, status, rev(3));
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->metadata.generation, 2);
  EXPECT_EQ(stat->status, R"({"phase":"Ready"})");
  EXPECT_EQ(stat->metadata.resource_version, rev(4));
}

TEST_P(StoreCrudTest, UpdateKeepsStatusAndUpdateStatusKeepsEverythingElse) {
  api::Object o = mustCreate(*store_, cluster("ns", "a", R"({"n":1})"));
  api::Object with_status = o;
  with_status.status = R"({"phase":"Creating"})";
  ASSERT_TRUE(updateStatusSync(*store_, with_status, 0).ok());

  api::Object update = o;
  update.spec = R"({"n":2})";
  update.status = R"({"phase":"Hacked"})";
  auto updated = updateSync(*store_, update, 0);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->status, R"({"phase":"Creating"})");
  EXPECT_EQ(updated->spec, R"({"n":2})");

  api::Object status_only = *updated;
  status_only.spec = R"({"n":99})";
  status_only.metadata.labels = {{"sneaky", "yes"}};
  status_only.status = R"({"phase":"Ready"})";
  auto stat = updateStatusSync(*store_, status_only, 0);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->spec, R"({"n":2})");
  EXPECT_TRUE(stat->metadata.labels.empty());
  EXPECT_EQ(stat->status, R"({"phase":"Ready"})");
}

TEST_P(StoreCrudTest, StaleResourceVersionIsConflict) {
  api::Object o = mustCreate(*store_, cluster("ns", "x"));
  o.spec = R"({"n":1})";
  ASSERT_TRUE(updateSync(*store_, o, rev(1)).ok());
  for (auto result : {updateSync(*store_, o, rev(1)), updateStatusSync(*store_, o, rev(1)),
                      removeSync(*store_, keyOf(o), rev(1))}) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::Conflict);
    EXPECT_EQ(result.error().message,
              "Operation cannot be fulfilled on clusters \"x\": the object has been modified; "
              "please apply your changes to the latest version and try again");
  }
  EXPECT_EQ(store_->get(keyOf(o))->metadata.resource_version, rev(2));
}

TEST_P(StoreCrudTest, MissingObjectIsNotFound) {
  api::Object ghost = cluster("ns", "ghost");
  for (auto result : {updateSync(*store_, ghost, 0), updateStatusSync(*store_, ghost, 0),
                      removeSync(*store_, keyOf(ghost), 0), store_->get(keyOf(ghost))}) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::NotFound);
    EXPECT_EQ(result.error().message, "clusters \"ghost\" not found");
  }
}

TEST_P(StoreCrudTest, NoOpUpdateIsNotWritten) {
  api::Object o = mustCreate(*store_, cluster("ns", "a", R"({"n":1})"));
  api::Object same = o;
  same.spec = R"({ "n" : 1 })";  // same content, other formatting
  auto result = updateSync(*store_, same, rev(1));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, o);
  auto status = updateStatusSync(*store_, o, rev(1));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->metadata.resource_version, rev(1));
  EXPECT_EQ(store_->currentRevision(), rev(1));
}

TEST_P(StoreCrudTest, RemoveWithoutFinalizersDeletes) {
  mustCreate(*store_, cluster("ns", "a"));
  auto removed = removeSync(*store_, {api::Kind::Cluster, "ns", "a"}, 0);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->metadata.resource_version, rev(2));  // the delete's revision
  EXPECT_EQ(removed->metadata.name, "a");
  EXPECT_FALSE(store_->get({api::Kind::Cluster, "ns", "a"}).ok());
  EXPECT_TRUE(createSync(*store_, cluster("ns", "a")).ok());  // the name is free again
}

// Shutdown relies on it: after flush() no callback of an earlier write is still to come, so the
// executor those callbacks post to may go.
TEST_P(StoreCrudTest, FlushReturnsOnceEveryEarlierWriteWasAnswered) {
  std::atomic<int> answered{0};
  constexpr int kWrites = 20;
  for (int i = 0; i < kWrites; ++i) {
    store_->create(cluster("ns", "c" + std::to_string(i)), [&answered](util::Result<api::Object>) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a slow consumer
      answered++;
    });
  }
  // Refused writes (a duplicate) are answered too.
  store_->create(cluster("ns", "c0"), [&answered](util::Result<api::Object>) { answered++; });
  store_->flush();
  EXPECT_EQ(answered.load(), kWrites + 1);
  store_->flush();  // nothing pending: returns at once
}

TEST_P(StoreCrudTest, FinalizersHoldDeletionUntilRemoved) {
  api::Object o = cluster("ns", "a");
  o.metadata.finalizers = {"magnumd.io/cloud", "magnumd.io/other"};
  o = mustCreate(*store_, o);
  auto marked = removeSync(*store_, keyOf(o), 0);
  ASSERT_TRUE(marked.ok());
  ASSERT_TRUE(marked->deleting());
  EXPECT_EQ(*marked->metadata.deletion_timestamp, util::formatRfc3339(clock_->now()));
  EXPECT_EQ(marked->metadata.resource_version, rev(2));

  auto again = removeSync(*store_, keyOf(o), 0);  // already deleting: nothing to do
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *marked);

  api::Object add = *marked;
  add.metadata.finalizers.push_back("magnumd.io/new");
  auto added = updateSync(*store_, add, 0);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, ErrorCode::Invalid);
  ASSERT_EQ(added.error().causes.size(), 1u);
  EXPECT_EQ(added.error().causes[0].field, "metadata.finalizers");

  api::Object one_left = *marked;
  one_left.metadata.finalizers = {"magnumd.io/other"};
  auto kept = updateSync(*store_, one_left, rev(2));
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(store_->get(keyOf(o)).ok());

  api::Object none_left = *kept;
  none_left.metadata.finalizers.clear();
  auto gone = updateSync(*store_, none_left, kept->metadata.resource_version);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->metadata.resource_version, rev(4));
  EXPECT_TRUE(gone->metadata.finalizers.empty());
  auto get = store_->get(keyOf(o));
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, ErrorCode::NotFound);
}

TEST_P(StoreCrudTest, EverythingSurvivesReopen) {
  api::Object a = mustCreate(*store_, cluster("ns", "a", R"({"n":1,"s":"x"})"));
  a.metadata.labels = {{"k", "v"}};
  a.metadata.annotations = {{"note", "with \"quotes\""}};
  a.metadata.finalizers = {"f"};
  a = *updateSync(*store_, a, 0);
  a.status = R"({"conditions":[{"type":"Ready","status":"True"}]})";
  a = *updateStatusSync(*store_, a, 0);
  a = *removeSync(*store_, keyOf(a), 0);
  mustCreate(*store_, object(api::Kind::NodeGroup, "ns", "workers"));
  api::Object gone = mustCreate(*store_, cluster("ns", "gone"));
  ASSERT_TRUE(removeSync(*store_, keyOf(gone), 0).ok());
  int64_t revision = store_->currentRevision();

  reopen();
  const int64_t reopened_at = store_->currentRevision();
  EXPECT_EQ(reopened_at, revision + openWrites());
  auto got = store_->get(keyOf(a));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, a);
  EXPECT_TRUE(store_->get({api::Kind::NodeGroup, "ns", "workers"}).ok());
  EXPECT_FALSE(store_->get(keyOf(gone)).ok());
  // The revision counter continues; it never reuses a revision.
  EXPECT_EQ(mustCreate(*store_, cluster("ns", "next")).metadata.resource_version, reopened_at + 1);
}

// Kinds the API does not serve (ClusterSecret) are stored like the others.
TEST_P(StoreCrudTest, EveryKindIsReadBackAndSurvivesReopen) {
  std::vector<api::Object> created;
  for (size_t k = 0; k < api::kKindCount; ++k) {
    auto written = createSync(*store_, object(static_cast<api::Kind>(k), "ns", "one"));
    ASSERT_TRUE(written.ok()) << api::kindInfo(static_cast<api::Kind>(k)).name << ": "
                              << written.error().message;
    created.push_back(std::move(written).value());
  }
  reopen();
  for (const api::Object& o : created) {
    auto got = store_->get(keyOf(o));
    ASSERT_TRUE(got.ok()) << api::kindInfo(o.kind).name << ": " << got.error().message;
    EXPECT_EQ(*got, o);
  }
}

TEST(StoreOpenTest, SecondOpenIsRefusedWhileTheFirstHoldsTheDatabase) {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("magnumd.db");
  StorePtr first = openOrDie(options);
  auto second = openSqliteStore(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::Unavailable);
  EXPECT_NE(second.error().message.find("in use by another process"), std::string::npos);
  first.reset();
  EXPECT_TRUE(openSqliteStore(options).ok());
}

// Runs `sql` on the database at `path` with SQLite itself (the store closed); fails the test on
// an error. Returns the first column of the last row, if any.
std::string rawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  std::string last;
  char* message = nullptr;
  int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) = values[0] ? values[0] : "";
        return 0;
      },
      &last, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "") << " in " << sql;
  sqlite3_free(message);
  sqlite3_close(db);
  return last;
}

// Schema version 1 kept the objects in a WITHOUT ROWID table; opening such a file moves them.
TEST(StoreOpenTest, AVersionOneDatabaseIsMigratedWithEveryObject) {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("magnumd.db");
  std::vector<api::Object> written;
  {
    StorePtr store = openOrDie(options);
    for (const char* name : {"b", "a", "c"})
      written.push_back(mustCreate(*store, cluster("ns", name)));
    written.push_back(mustCreate(*store, object(api::Kind::NodeGroup, "ns", "workers")));
  }
  // The same file as version 1 wrote it.
  rawSql(options.path, R"sql(
    BEGIN;
    CREATE TABLE objects_v1(
      kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
      uid TEXT NOT NULL, revision INTEGER NOT NULL, object TEXT NOT NULL,
      PRIMARY KEY(kind, namespace, name)) WITHOUT ROWID;
    INSERT INTO objects_v1 SELECT kind, namespace, name, uid, revision, object FROM objects;
    DROP TABLE objects;
    ALTER TABLE objects_v1 RENAME TO objects;
    UPDATE schema_version SET version = 1;
    COMMIT;)sql");
  ASSERT_NE(rawSql(options.path, "SELECT sql FROM sqlite_master WHERE name = 'objects'")
                .find("WITHOUT ROWID"),
            std::string::npos);

  {
    StorePtr store = openOrDie(options);
    for (const api::Object& o : written) {
      auto got = store->get(keyOf(o));
      ASSERT_TRUE(got.ok()) << o.metadata.name << ": " << got.error().message;
      EXPECT_EQ(*got, o);
    }
    written.push_back(mustCreate(*store, cluster("ns", "after")));
    ASSERT_TRUE(removeSync(*store, keyOf(written[0]), 0).ok());
  }
  EXPECT_EQ(rawSql(options.path, "SELECT version FROM schema_version"), "2");
  EXPECT_EQ(rawSql(options.path, "SELECT sql FROM sqlite_master WHERE name = 'objects'")
                .find("WITHOUT ROWID"),
            std::string::npos);
  StorePtr store = openOrDie(options);
  EXPECT_FALSE(store->get(keyOf(written[0])).ok());
  for (size_t i = 1; i < written.size(); ++i) {
    auto got = store->get(keyOf(written[i]));
    ASSERT_TRUE(got.ok()) << written[i].metadata.name;
    EXPECT_EQ(*got, written[i]);
  }
}

// Rows are found by row id, with no unique index on the key: a file holding a key twice, or a
// row id the next create would reuse, is refused when opened instead of served.
TEST(StoreOpenTest, AFileWithAKeyTwiceOrARowIdAheadOfItsRevisionIsRefused) {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("magnumd.db");
  {
    StorePtr store = openOrDie(options);
    mustCreate(*store, cluster("ns", "a"));
    mustCreate(*store, cluster("ns", "b"));
  }
  const std::string copy =
      "INSERT INTO objects(id, kind, namespace, name, uid, revision, object) "
      "SELECT {}, kind, namespace, name, uid, revision, object FROM objects "
      "WHERE name = 'a'";
  rawSql(options.path, fmt::format(fmt::runtime(copy), 2000) +
                           "; DELETE FROM objects WHERE name = 'a' AND id < 2000");
  auto ahead = openSqliteStore(options);
  ASSERT_FALSE(ahead.ok());
  EXPECT_NE(ahead.error().message.find("newest object row 2000"), std::string::npos)
      << ahead.error().message;

  rawSql(options.path,
         "UPDATE objects SET id = 1 WHERE id = 2000; " + fmt::format(fmt::runtime(copy), 3));
  auto twice = openSqliteStore(options);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("Cluster/ns/a is stored twice"), std::string::npos)
      << twice.error().message;
}

TEST(StoreOpenTest, GarbageFileIsAnErrorNamingTheFile) {
  TempDir dir;
  std::string path = dir.file("garbage.db");
  std::ofstream(path) << std::string(8192, 'x');
  SqliteOptions options;
  options.path = path;
  auto store = openSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error().message;
}

TEST(StoreOpenTest, MissingDirectoryAndBadOptionsAreErrors) {
  SqliteOptions options;
  options.path = "/nonexistent-dir-for-magnumd/x.db";
  EXPECT_FALSE(openSqliteStore(options).ok());
  TempDir dir;
  options.path = dir.file("x.db");
  options.max_batch = 0;
  auto store = openSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::BadRequest);
}

TEST(StoreQuotaTest, FullDatabaseFailsTheWriteAndKeepsAcknowledgedState) {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("small.db");
  options.max_database_bytes = 160 * 1024;
  std::string big = R"({"blob":")" + std::string(6000, 'z') + R"("})";
  std::vector<std::string> acked;
  util::Error failure;
  {
    StorePtr store = openOrDie(options);
    for (int i = 0; i < 200; ++i) {
      std::string name = "c" + std::to_string(i);
      auto result = createSync(*store, cluster("ns", name, big));
      if (!result.ok()) {
        failure = result.error();
        break;
      }
      acked.push_back(name);
    }
    ASSERT_FALSE(acked.empty());
    ASSERT_LT(acked.size(), 200u) << "the quota never filled";
    EXPECT_EQ(failure.code, ErrorCode::Unavailable);
    EXPECT_NE(failure.message.find("database space exceeded"), std::string::npos)
        << failure.message;
    // The failed write took no revision and is invisible; the store still answers.
    EXPECT_EQ(store->currentRevision(), static_cast<int64_t>(acked.size()));
    EXPECT_FALSE(store->get({api::Kind::Cluster, "ns", "c" + std::to_string(acked.size())}).ok());
  }
  options.max_database_bytes = 0;
  StorePtr store = openOrDie(options);
  for (size_t i = 0; i < acked.size(); ++i) {
    EXPECT_TRUE(store->get({api::Kind::Cluster, "ns", acked[i]}).ok()) << acked[i];
  }
  EXPECT_FALSE(store->get({api::Kind::Cluster, "ns", "c" + std::to_string(acked.size())}).ok());
  EXPECT_EQ(store->currentRevision(), static_cast<int64_t>(acked.size()));
}

INSTANTIATE_STORE_BACKENDS(StoreCrudTest);

}  // namespace
}  // namespace magnumd::store
