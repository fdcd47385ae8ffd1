#include "store/sqlite_db.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <set>

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr int64_t kSchemaVersion = 2;

// Every table the store needs; the change log has exactly one row per revision in
// (meta.compacted_revision, meta.revision], which load() checks.
//
// The objects table's rows are found by a row id the store keeps in memory with each object: a
// new object's row id is the revision that created it, so a create appends to the table, and an
// update or delete goes to its row directly. No index on the key: the store holds every key
// in memory and is the only writer, and load() refuses a file with a key twice. (Schema
// version 1 kept the rows in a WITHOUT ROWID table keyed by (kind, namespace, name): a commit
// of creates at many places in the key space then rewrote about a page per create, several
// times the CPU; docs/benchmarks.md.)
constexpr const char* kObjectsTable = R"sql(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  uid TEXT NOT NULL, revision INTEGER NOT NULL, object TEXT NOT NULL
)sql";

constexpr const char* kSchema = R"sql(
CREATE TABLE schema_version(version INTEGER NOT NULL);
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE objects({objects});
CREATE TABLE changes(
  revision INTEGER PRIMARY KEY, type TEXT NOT NULL,
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, object TEXT NOT NULL);
INSERT INTO schema_version(version) VALUES ({version});
INSERT INTO meta(key, value) VALUES ('revision', 0), ('compacted_revision', 0);
)sql";

// Version 1 to 2: the same rows, each with its revision as its row id (a revision is one write
// of one object, so no two rows share one).
constexpr const char* kMigrateFrom1 = R"sql(
CREATE TABLE objects_v2({objects});
INSERT INTO objects_v2(id, kind, namespace, name, uid, revision, object)
  SELECT revision, kind, namespace, name, uid, revision, object FROM objects;
DROP TABLE objects;
ALTER TABLE objects_v2 RENAME TO objects;
UPDATE schema_version SET version = 2;
)sql";

std::string_view typeName(EventType type) {
  switch (type) {
    case EventType::Added:
      return "ADDED";
    case EventType::Modified:
      return "MODIFIED";
    case EventType::Deleted:
      return "DELETED";
  }
  return "MODIFIED";
}

std::optional<EventType> typeFromName(std::string_view name) {
  if (name == "ADDED") return EventType::Added;
  if (name == "MODIFIED") return EventType::Modified;
  if (name == "DELETED") return EventType::Deleted;
  return std::nullopt;
}

}  // namespace

// A prepared statement; reset (and unbound) whenever a use ends.
class SqliteDb::Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  void bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }
  std::string_view text(int column) {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return data ? std::string_view(data, sqlite3_column_bytes(stmt_, column)) : std::string_view();
  }
  // Runs a statement that returns no rows.
  int run() {
    int rc = step();
    reset();
    return rc == SQLITE_ROW ? SQLITE_DONE : rc;
  }

 private:
  sqlite3_stmt* stmt_;
};

SqliteDb::SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

util::Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, Role role,
                                                       int64_t quota_bytes) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (role == Role::Writer) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, path));
  if (rc != SQLITE_OK) return db->sqlError("open", rc);
  sqlite3_extended_result_codes(raw, 1);
  RETURN_IF_ERROR(db->configure(role, quota_bytes));
  if (role == Role::Writer) {
    RETURN_IF_ERROR(db->migrate());
    RETURN_IF_ERROR(db->prepareWriteStatements());
  }
  return db;
}

SqliteDb::~SqliteDb() {
  // Statements first: sqlite3_close refuses to close a connection with live statements.
  insert_object_.reset();
  update_object_.reset();
  delete_object_.reset();
  insert_change_.reset();
  trim_changes_.reset();
  set_meta_.reset();
  read_changes_.reset();
  read_changes_ns_.reset();
  if (db_) sqlite3_close(db_);
}

util::Error SqliteDb::sqlError(std::string_view what, int rc) const {
  const char* detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return makeError(ErrorCode::Internal, fmt::format("store {}: {} failed: {} (sqlite code {})",
                                                    path_, what, detail, rc));
}

util::Status SqliteDb::exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlError(sql, rc);
  return {};
}

util::Status SqliteDb::configure(Role role, int64_t quota_bytes) {
  sqlite3_busy_timeout(db_, 5000);
  if (role == Role::Reader) return exec("PRAGMA query_only = ON");
  // WAL: readers never block the writer; synchronous=FULL: COMMIT returns after the WAL fsync,
  // so an acknowledged write survives power loss, not only a process crash.
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqlError("PRAGMA journal_mode = WAL", rc);
  Stmt mode(raw);
  rc = mode.step();
  std::string got(rc == SQLITE_ROW ? mode.text(0) : std::string_view());
  mode.reset();
  if (got != "wal") {
    return makeError(
        ErrorCode::Internal,
        fmt::format("store {}: cannot switch to WAL journal mode (got \"{}\")", path_, got));
  }
  RETURN_IF_ERROR(exec("PRAGMA synchronous = FULL"));
  // Keep the WAL file from growing without bound after a burst.
  RETURN_IF_ERROR(exec("PRAGMA journal_size_limit = 67108864"));
  quota_bytes_ = quota_bytes;
  if (quota_bytes > 0) {
    // The page size is fixed once the file exists; max_page_count caps the file size.
    sqlite3_stmt* ps = nullptr;
    rc = sqlite3_prepare_v2(db_, "PRAGMA page_size", -1, &ps, nullptr);
    if (rc != SQLITE_OK) return sqlError("PRAGMA page_size", rc);
    Stmt page_size(ps);
    int64_t size = page_size.step() == SQLITE_ROW ? page_size.integer(0) : 4096;
    page_size.reset();
    int64_t pages = std::max<int64_t>(1, quota_bytes / std::max<int64_t>(size, 512));
    RETURN_IF_ERROR(exec(fmt::format("PRAGMA max_page_count = {}", pages).c_str()));
  }
  return {};
}

util::Status SqliteDb::migrate() {
  RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  auto finish = [&](util::Status status) -> util::Status {
    if (!status.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return status;
    }
    return exec("COMMIT");
  };
  sqlite3_stmt* raw = nullptr;
  const char* probe = "SELECT version FROM schema_version";
  if (sqlite3_prepare_v2(db_, probe, -1, &raw, nullptr) != SQLITE_OK) {
    // A new file (or one without our tables): create the schema.
    return finish(exec(fmt::format(fmt::runtime(kSchema), fmt::arg("objects", kObjectsTable),
                                   fmt::arg("version", kSchemaVersion))
                           .c_str()));
  }
  Stmt stmt(raw);
  int64_t version = stmt.step() == SQLITE_ROW ? stmt.integer(0) : 0;
  stmt.reset();
  if (version == 1) {
    return finish(
        exec(fmt::format(fmt::runtime(kMigrateFrom1), fmt::arg("objects", kObjectsTable)).c_str()));
  }
  if (version != kSchemaVersion) {
    return finish(makeError(
        ErrorCode::Internal,
        fmt::format("store {}: database schema version {} is not supported; this magnumd reads "
                    "version {}",
                    path_, version, kSchemaVersion)));
  }
  return finish({});
}

util::Status SqliteDb::prepareWriteStatements() {
  auto prepare = [&](const char* sql, std::unique_ptr<Stmt>& out) -> util::Status {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) return sqlError(sql, rc);
    out = std::make_unique<Stmt>(raw);
    return {};
  };
  RETURN_IF_ERROR(
      prepare("INSERT INTO objects(id, kind, namespace, name, uid, revision, object) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
              insert_object_));
  RETURN_IF_ERROR(prepare("UPDATE objects SET uid = ?2, revision = ?3, object = ?4 WHERE id = ?1",
                          update_object_));
  RETURN_IF_ERROR(prepare("DELETE FROM objects WHERE id = ?1", delete_object_));
  RETURN_IF_ERROR(
      prepare("INSERT INTO changes(revision, type, kind, namespace, name, object) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
              insert_change_));
  RETURN_IF_ERROR(prepare("DELETE FROM changes WHERE revision <= ?1", trim_changes_));
  RETURN_IF_ERROR(prepare("UPDATE meta SET value = ?2 WHERE key = ?1", set_meta_));
  return {};
}

util::Result<LoadedState> SqliteDb::load() {
  LoadedState state;
  auto query = [&](const char* sql, auto&& row) -> util::Status {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
    if (rc != SQLITE_OK) return sqlError(sql, rc);
    Stmt stmt(raw);
    while ((rc = stmt.step()) == SQLITE_ROW) RETURN_IF_ERROR(row(stmt));
    stmt.reset();
    if (rc != SQLITE_DONE) return sqlError(sql, rc);
    return {};
  };
  RETURN_IF_ERROR(query("SELECT key, value FROM meta", [&](Stmt& s) -> util::Status {
    if (s.text(0) == "revision") state.revision = s.integer(1);
    if (s.text(0) == "compacted_revision") state.compacted_revision = s.integer(1);
    return {};
  }));
  int64_t max_object_revision = 0, max_row = 0;
  std::set<api::ObjectKey> keys;
  RETURN_IF_ERROR(query(
      "SELECT kind, namespace, name, revision, object, id FROM objects",
      [&](Stmt& s) -> util::Status {
        auto object = api::decodeObject(s.text(4));
        if (!object.ok() || api::kindInfo(object->kind).name != s.text(0) ||
            object->metadata.namespace_ != s.text(1) || object->metadata.name != s.text(2)) {
          return makeError(
              ErrorCode::Internal,
              fmt::format("store {}: stored object {}/{}/{} is corrupt: {}", path_, s.text(0),
                          s.text(1), s.text(2),
                          object.ok() ? "key does not match its JSON" : object.error().message));
        }
        if (!keys.insert(api::keyOf(*object)).second) {
          return makeError(ErrorCode::Internal,
                           fmt::format("store {}: object {}/{}/{} is stored twice", path_,
                                       s.text(0), s.text(1), s.text(2)));
        }
        max_object_revision = std::max(max_object_revision, s.integer(3));
        max_row = std::max(max_row, s.integer(5));
        state.objects.push_back(
            {std::move(object).value(), static_cast<int64_t>(s.text(4).size()), s.integer(5)});
        return {};
      }));
  int64_t count = 0, low = 0, high = 0;
  RETURN_IF_ERROR(query("SELECT count(*), min(revision), max(revision) FROM changes",
                        [&](Stmt& s) -> util::Status {
                          count = s.integer(0);
                          low = s.integer(1);
                          high = s.integer(2);
                          return {};
                        }));
  int64_t expected = state.revision - state.compacted_revision;
  // A row id is the revision that created the row, so none is beyond the store's revision.
  bool consistent = max_object_revision <= state.revision && max_row <= state.revision &&
                    expected >= 0 && count == expected &&
                    (count == 0 || (low == state.compacted_revision + 1 && high == state.revision));
  if (!consistent) {
    return makeError(ErrorCode::Internal,
                     fmt::format("store {}: inconsistent revisions (revision {}, compacted {}, "
                                 "newest object {}, newest object row {}, change log {} rows "
                                 "{}..{})",
                                 path_, state.revision, state.compacted_revision,
                                 max_object_revision, max_row, count, low, high));
  }
  return state;
}

util::Status SqliteDb::writeRows(std::span<const RowWrite> writes, int64_t revision,
                                 int64_t compact_to) {
  auto check = [&](int rc, std::string_view what) -> util::Status {
    if (rc == SQLITE_DONE || rc == SQLITE_OK) return {};
    if ((rc & 0xff) == SQLITE_FULL && quota_bytes_ > 0) {
      return makeError(
          ErrorCode::Unavailable,
          fmt::format("database space exceeded: {} reached its size limit of {} bytes; "
                      "delete objects or raise the limit",
                      path_, quota_bytes_));
    }
    util::Error error = sqlError(what, rc);
    error.code = ErrorCode::Unavailable;
    return error;
  };
  // An update or delete that finds no row means the store's row ids and the file disagree.
  auto one_row = [&](std::string_view what, const api::Object& o, int64_t row) -> util::Status {
    if (sqlite3_changes(db_) == 1) return {};
    return makeError(
        ErrorCode::Internal,
        fmt::format("store {}: {} {}/{}/{}: row {} is not in the objects table", path_, what,
                    api::kindInfo(o.kind).name, o.metadata.namespace_, o.metadata.name, row));
  };
  for (const RowWrite& w : writes) {
    const api::Object& o = *w.object;
    std::string_view kind = api::kindInfo(o.kind).name;
    if (w.type == EventType::Deleted) {
      delete_object_->bind(1, w.row);
      RETURN_IF_ERROR(check(delete_object_->run(), "delete object"));
      RETURN_IF_ERROR(one_row("delete", o, w.row));
    } else if (w.type == EventType::Added) {
      insert_object_->bind(1, w.row);
      insert_object_->bind(2, kind);
      insert_object_->bind(3, o.metadata.namespace_);
      insert_object_->bind(4, o.metadata.name);
      insert_object_->bind(5, o.metadata.uid);
      insert_object_->bind(6, o.metadata.resource_version);
      insert_object_->bind(7, *w.json);
      RETURN_IF_ERROR(check(insert_object_->run(), "write object"));
    } else {
      update_object_->bind(1, w.row);
      update_object_->bind(2, o.metadata.uid);
      update_object_->bind(3, o.metadata.resource_version);
      update_object_->bind(4, *w.json);
      RETURN_IF_ERROR(check(update_object_->run(), "write object"));
      RETURN_IF_ERROR(one_row("update", o, w.row));
    }
    insert_change_->bind(1, o.metadata.resource_version);
    insert_change_->bind(2, typeName(w.type));
    insert_change_->bind(3, kind);
    insert_change_->bind(4, o.metadata.namespace_);
    insert_change_->bind(5, o.metadata.name);
    insert_change_->bind(6, *w.json);
    RETURN_IF_ERROR(check(insert_change_->run(), "append change log"));
  }
  trim_changes_->bind(1, compact_to);
  RETURN_IF_ERROR(check(trim_changes_->run(), "trim change log"));
  set_meta_->bind(1, std::string_view("revision"));
  set_meta_->bind(2, revision);
  RETURN_IF_ERROR(check(set_meta_->run(), "set revision"));
  set_meta_->bind(1, std::string_view("compacted_revision"));
  set_meta_->bind(2, compact_to);
  return check(set_meta_->run(), "set compacted revision");
}

std::optional<CommitError> SqliteDb::commit(std::span<const RowWrite> writes, int64_t revision,
                                            int64_t compact_to) {
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    util::Error error = sqlError("BEGIN", rc);
    error.code = ErrorCode::Unavailable;
    return CommitError{std::move(error), CommitFailure::RolledBack};
  }
  auto rollback = [&](util::Error error) -> std::optional<CommitError> {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (!sqlite3_get_autocommit(db_))
      return CommitError{std::move(error), CommitFailure::Uncertain};
    return CommitError{std::move(error), CommitFailure::RolledBack};
  };
  if (auto status = writeRows(writes, revision, compact_to); !status.ok()) {
    return rollback(status.takeError());
  }
  rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return std::nullopt;
  util::Error error = sqlError("COMMIT", rc);
  error.code = ErrorCode::Unavailable;
  int primary = rc & 0xff;
  // An I/O error inside COMMIT may have left a complete, checksummed batch in the WAL that a
  // later recovery replays: the outcome is unknown, so the caller must stop trusting memory.
  if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return CommitError{std::move(error), CommitFailure::Uncertain};
  }
  return rollback(std::move(error));
}

util::Result<std::vector<WatchEvent>> SqliteDb::readChanges(int64_t after, int64_t upto,
                                                            api::Kind kind,
                                                            const std::string& namespace_,
                                                            int limit) {
  std::unique_ptr<Stmt>& stmt = namespace_.empty() ? read_changes_ : read_changes_ns_;
  if (!stmt) {
    const char* sql =
        namespace_.empty()
            ? "SELECT revision, type, object FROM changes WHERE revision > ?1 AND revision <= ?2 "
              "AND kind = ?3 ORDER BY revision LIMIT ?4"
            : "SELECT revision, type, object FROM changes WHERE revision > ?1 AND revision <= ?2 "
              "AND kind = ?3 AND namespace = ?5 ORDER BY revision LIMIT ?4";
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) return sqlError("prepare change-log read", rc);
    stmt = std::make_unique<Stmt>(raw);
  }
  stmt->bind(1, after);
  stmt->bind(2, upto);
  stmt->bind(3, api::kindInfo(kind).name);
  stmt->bind(4, static_cast<int64_t>(limit));
  if (!namespace_.empty()) stmt->bind(5, namespace_);
  std::vector<WatchEvent> events;
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    auto type = typeFromName(stmt->text(1));
    auto object = api::decodeObject(stmt->text(2));
    if (!type || !object.ok()) {
      int64_t revision = stmt->integer(0);
      stmt->reset();
      return makeError(ErrorCode::Internal,
                       fmt::format("store {}: change log row {} is corrupt", path_, revision));
    }
    events.push_back(WatchEvent{*type, std::move(object).value()});
  }
  stmt->reset();
  if (rc != SQLITE_DONE) return sqlError("read change log", rc);
  return events;
}

}  // namespace magnumd::store
