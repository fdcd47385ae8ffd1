// The only file that speaks SQL: schema, loading, one-transaction batch commits, change-log reads.
// Not thread-safe; each SqliteDb is a connection owned by exactly one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/object.h"
#include "store/change_reader.h"
#include "store/store.h"
#include "util/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace magnumd::store {

// A change as the committer hands it to the database: the object's new state (for Deleted, its
// last state), the object's JSON, encoded before the commit, and its row in the objects table.
// The store keeps each object's row id in memory and gives a new object the revision of its
// creation, so a create appends to the table and nothing is looked up by key.
struct RowWrite {
  EventType type = EventType::Added;
  const api::Object* object = nullptr;  // metadata.resource_version is the change's revision
  const std::string* json = nullptr;
  int64_t row = 0;  // Added: a new row id (the revision); otherwise the object's row
};

struct LoadedObject {
  api::Object object;
  int64_t bytes = 0;  // the size of its stored JSON, what the quota counts
  int64_t row = 0;    // its row id in the objects table
};

struct LoadedState {
  std::vector<LoadedObject> objects;
  int64_t revision = 0;
  int64_t compacted_revision = 0;
};

// Why a commit failed decides what the store can still trust.
enum class CommitFailure {
  RolledBack,  // nothing was written: the batch can be failed and the store keeps going
  Uncertain,   // COMMIT itself failed (I/O error): the file may or may not hold the batch
};

struct CommitError {
  util::Error error;
  CommitFailure failure = CommitFailure::RolledBack;
};

class SqliteDb final : public ChangeReader {
 public:
  enum class Role { Writer, Reader };

  // Writer: creates the file and schema when absent, WAL + synchronous=FULL, optional quota.
  // Reader: query-only connection to an existing database (for change-log replay).
  static util::Result<std::unique_ptr<SqliteDb>> open(const std::string& path, Role role,
                                                      int64_t quota_bytes);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  util::Result<LoadedState> load();

  // One transaction: the writes (in revision order), meta.revision = `revision`, and the change
  // log trimmed to revisions > `compact_to` (meta.compacted_revision = compact_to).
  // Returns only after COMMIT returned: with synchronous=FULL the batch is then durable.
  std::optional<CommitError> commit(std::span<const RowWrite> writes, int64_t revision,
                                    int64_t compact_to);

  // Change-log events with after < revision <= upto of one kind (and namespace unless empty),
  // in revision order, at most `limit`.
  util::Result<std::vector<WatchEvent>> readChanges(int64_t after, int64_t upto, api::Kind kind,
                                                    const std::string& namespace_,
                                                    int limit) override;

 private:
  class Stmt;
  SqliteDb(sqlite3* db, std::string path);
  util::Status exec(const char* sql);
  util::Status configure(Role role, int64_t quota_bytes);
  util::Status migrate();
  util::Status prepareWriteStatements();
  util::Error sqlError(std::string_view what, int rc) const;
  util::Status writeRows(std::span<const RowWrite> writes, int64_t revision, int64_t compact_to);

  sqlite3* db_ = nullptr;
  std::string path_;
  int64_t quota_bytes_ = 0;
  std::unique_ptr<Stmt> insert_object_, update_object_, delete_object_, insert_change_,
      trim_changes_, set_meta_, read_changes_, read_changes_ns_;
};

}  // namespace magnumd::store
