// SqliteStore: the write pipeline around SqliteDb.
//
// A write is planned (mutation.h) under write_mu_ against the newest state of its key: the
// committed state overlaid with the writes still queued. It gets the next revision there and
// joins the queue; nothing else is visible yet. The committer thread takes everything queued (up
// to max_batch writes), commits it in one transaction, and only after COMMIT returned applies it
// to the in-memory state, publishes its watch events and runs the callbacks, in submission order.
// If a commit fails, that batch and every write queued behind it (they were planned on top of it)
// fail, and the revision counter and the overlay go back to the committed state.
//
// Limits (quota.h) are checked where a write is planned, against `admitted_`: the committed usage
// plus every queued write. Concurrent writers therefore cannot race past a limit, and a failed
// commit resets `admitted_` to the committed usage along with the overlay.
#include "store/sqlite_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "store/mutation.h"
#include "store/object_index.h"
#include "store/quota.h"
#include "store/rw_lock.h"
#include "store/sqlite_db.h"
#include "store/watch_hub.h"
#include "util/log.h"

namespace magnumd::store {
namespace {

using util::ErrorCode;
using util::makeError;

// One submitted operation, in submission order. Only `write` ops carry a revision.
struct Op {
  ObjectCallback done;
  std::optional<util::Error> error;  // rejected when planned
  bool write = false;
  EventType type = EventType::Modified;
  ObjectPtr object;  // written state, last state (Deleted) or the unchanged stored object
  std::string json;
  int64_t row = 0;  // the object's row in the objects table (a new object's: its revision)
};

// How a write is charged against the limits; see WriteCharge::checked.
enum class Limits { Checked, Exempt };

// Runs a write callback; one that throws must not take the committer thread down with it.
void reply(ObjectCallback& done, util::Result<api::Object> result) {
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    LOG_ERROR("store", "a write callback threw: {}", e.what());
  } catch (...) {
    LOG_ERROR("store", "a write callback threw");
  }
}

// The newest queued state of a key; null `object` means a queued delete.
struct Overlay {
  StoredObject stored;
  int64_t revision = 0;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(SqliteOptions options, int lock_fd, std::unique_ptr<SqliteDb> db, LoadedState state);
  ~SqliteStore() override;

  util::Result<api::Object> get(const api::ObjectKey& key) const override;
  util::Result<std::shared_ptr<const api::Object>> getShared(
      const api::ObjectKey& key) const override;
  util::Result<ListResult> list(const ListOptions& options) const override;
  int64_t currentRevision() const override { return revision_.load(); }
  void create(api::Object object, ObjectCallback done) override;
  void update(api::Object object, int64_t expected_rv, ObjectCallback done) override;
  void updateStatus(api::Object object, int64_t expected_rv, ObjectCallback done) override;
  void remove(api::ObjectKey key, int64_t expected_rv, ObjectCallback done) override;
  util::Result<WatchHandlePtr> watch(const WatchOptions& options, WatchCallback callback,
                                     WatchEndCallback on_end) override;
  int64_t compactedRevision() const override { return hub_->compactedRevision(); }
  StoreUsage usage() const override;
  void flush() override;

 private:
  template <typename Plan>
  void submit(const api::ObjectKey& key, Limits limits, Plan plan, ObjectCallback done);
  StoredObject newest(const api::ObjectKey& key) const;  // write_mu_ held
  // Checks the limits, then gives the write its revision and queues it; write_mu_ held.
  void admitAndQueue(const api::ObjectKey& key, Limits limits, const StoredObject& current,
                     Mutation m, Op& op);
  std::string now() const { return util::formatRfc3339(clock_->now()); }
  void commitLoop();
  void commitBatch(std::vector<Op>& batch);
  void failPending(std::vector<Op>& batch, const CommitError& failure);
  void answered(size_t ops);  // ops whose callbacks returned; wakes flush()

  const SqliteOptions options_;
  const QuotaLimits limits_;
  std::shared_ptr<const util::Clock> clock_;
  int lock_fd_;
  std::unique_ptr<SqliteDb> db_;  // the committer thread's, once it runs

  // committed_ (what reads see: durable state only); writer-preferring so reads can't starve
  // the committer.
  mutable WriterPreferringSharedMutex state_mu_;
  ObjectIndex committed_;
  std::atomic<int64_t> revision_;

  std::mutex write_mu_;  // everything below, up to hub_
  std::condition_variable write_cv_;
  std::deque<Op> queue_;
  size_t queued_writes_ = 0;
  uint64_t ops_queued_ = 0;    // every op ever queued,
  uint64_t ops_answered_ = 0;  // and those whose callback has returned (flush())
  std::condition_variable answered_cv_;
  std::map<api::ObjectKey, Overlay> overlay_;
  Usage admitted_;  // committed_'s usage plus every queued write
  int64_t next_revision_;
  std::optional<util::Error> broken_;
  bool stopping_ = false;

  std::unique_ptr<WatchHub> hub_;
  std::thread committer_;
};

SqliteStore::SqliteStore(SqliteOptions options, int lock_fd, std::unique_ptr<SqliteDb> db,
                         LoadedState state)
    : options_(std::move(options)),
      limits_{options_.quota_bytes, options_.max_objects_per_namespace},
      clock_(options_.clock ? options_.clock : std::make_shared<util::RealClock>()),
      lock_fd_(lock_fd),
      db_(std::move(db)),
      revision_(state.revision),
      next_revision_(state.revision) {
  for (auto& loaded : state.objects) {
    committed_.put(std::make_shared<const api::Object>(std::move(loaded.object)), loaded.bytes,
                   loaded.row);
  }
  admitted_ = committed_.usage();
  std::string path = options_.path;
  hub_ =
      std::make_unique<WatchHub>([path] { return SqliteDb::open(path, SqliteDb::Role::Reader, 0); },
                                 options_.watch_cache_events, state.revision,
                                 state.compacted_revision, options_.on_watch_failed);
  committer_ = std::thread([this] { commitLoop(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(write_mu_);
    stopping_ = true;
  }
  write_cv_.notify_one();
  committer_.join();  // commits (and acknowledges) everything queued
  hub_.reset();       // delivers everything committed
  db_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

util::Result<api::Object> SqliteStore::get(const api::ObjectKey& key) const {
  ObjectPtr object;
  {
    std::shared_lock lock(state_mu_);
    object = committed_.find(key);
  }
  if (!object) return notFoundError(key);
  return *object;
}

util::Result<std::shared_ptr<const api::Object>> SqliteStore::getShared(
    const api::ObjectKey& key) const {
  ObjectPtr object;
  {
    std::shared_lock lock(state_mu_);
    object = committed_.find(key);
  }
  if (!object) return notFoundError(key);
  return std::shared_ptr<const api::Object>(std::move(object));
}

util::Result<ListResult> SqliteStore::list(const ListOptions& options) const {
  util::Result<ListPage> page = ListPage{};
  int64_t revision;
  {
    std::shared_lock lock(state_mu_);
    revision = revision_.load();
    page = committed_.list(options, revision);
  }
  if (!page.ok()) return page.takeError();
  if (page->revision < compactedRevision()) {
    // As kube-apiserver: the changes since the list's revision are gone, so a watch from it
    // could not complete the picture.
    return makeError(ErrorCode::Expired,
                     fmt::format("the continue token is too old (revision {}, the change log starts "
                                 "after {}): list again without continue",
                                 page->revision, compactedRevision()));
  }
  ListResult result;
  result.items.reserve(page->items.size());
  for (const auto& object : page->items) result.items.push_back(*object);
  result.revision = page->revision;
  result.continue_token = std::move(page->continue_token);
  result.remaining = page->remaining;
  return result;
}

StoreUsage SqliteStore::usage() const {
  std::shared_lock lock(state_mu_);
  const Usage& usage = committed_.usage();
  return StoreUsage{usage.bytes(), usage.objects(), limits_.quota_bytes,
                    limits_.max_objects_per_namespace};
}

StoredObject SqliteStore::newest(const api::ObjectKey& key) const {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return it->second.stored;
  std::shared_lock lock(state_mu_);
  return committed_.findStored(key);
}

void SqliteStore::admitAndQueue(const api::ObjectKey& key, Limits limits,
                                const StoredObject& current, Mutation m, Op& op) {
  // The size depends on the revision's digits, so encode with the revision this write will get.
  m.object.metadata.resource_version = next_revision_ + 1;
  std::string json = api::encodeObject(m.object);
  const bool deleted = m.type == EventType::Deleted;
  const int64_t bytes = deleted ? 0 : static_cast<int64_t>(json.size());
  WriteCharge charge{bytes - current.bytes, m.type == EventType::Added ? 1 : (deleted ? -1 : 0),
                     limits == Limits::Checked};
  if (util::Status admitted = admit(limits_, admitted_, key, charge); !admitted.ok()) {
    op.error = admitted.takeError();
    return;
  }
  admitted_.add(key.kind, key.namespace_, charge.bytes, charge.objects);
  op.write = true;
  op.type = m.type;
  op.object = std::make_shared<const api::Object>(std::move(m.object));
  op.json = std::move(json);
  ++next_revision_;
  op.row = m.type == EventType::Added ? next_revision_ : current.row;
  overlay_[key] =
      Overlay{StoredObject{deleted ? nullptr : op.object, bytes, op.row}, next_revision_};
  ++queued_writes_;
}

template <typename Plan>
void SqliteStore::submit(const api::ObjectKey& key, Limits limits, Plan plan, ObjectCallback done) {
  Op op;
  op.done = done ? std::move(done) : [](util::Result<api::Object>) {};
  bool shutting_down = false;
  {
    std::lock_guard lock(write_mu_);
    shutting_down = stopping_;
    if (stopping_) {
      op.error = makeError(ErrorCode::Unavailable, "store: shutting down");
    } else if (broken_) {
      op.error = *broken_;
    } else if (queued_writes_ >= options_.max_pending) {
      op.error = makeError(ErrorCode::Unavailable,
                           fmt::format("store: {} writes are waiting to be committed (the limit); "
                                       "retry later",
                                       queued_writes_));
    } else {
      StoredObject current = newest(key);
      util::Result<Mutation> planned = plan(current.object.get());
      if (!planned.ok()) {
        op.error = planned.takeError();
      } else if (!planned->write) {
        op.object = std::move(current.object);
      } else {
        admitAndQueue(key, limits, current, std::move(planned).value(), op);
      }
    }
    if (!shutting_down) {
      queue_.push_back(std::move(op));
      ++ops_queued_;
    }
  }
  if (shutting_down) {  // no store thread is left to run the callback
    op.done(std::move(*op.error));
    return;
  }
  write_cv_.notify_one();
}

void SqliteStore::create(api::Object object, ObjectCallback done) {
  api::ObjectKey key = keyOf(object);
  std::string ts = now();
  submit(
      key, Limits::Checked,
      [&](const api::Object* current) { return planCreate(std::move(object), current, ts); },
      std::move(done));
}

void SqliteStore::update(api::Object object, int64_t expected_rv, ObjectCallback done) {
  api::ObjectKey key = keyOf(object);
  submit(
      key, Limits::Checked,
      [&](const api::Object* current) {
        return planUpdate(std::move(object), current, expected_rv);
      },
      std::move(done));
}

void SqliteStore::updateStatus(api::Object object, int64_t expected_rv, ObjectCallback done) {
  api::ObjectKey key = keyOf(object);
  submit(
      key, Limits::Exempt,
      [&](const api::Object* current) {
        return planUpdateStatus(std::move(object), current, expected_rv);
      },
      std::move(done));
}

void SqliteStore::remove(api::ObjectKey key, int64_t expected_rv, ObjectCallback done) {
  std::string ts = now();
  submit(
      key, Limits::Exempt,
      [&](const api::Object* current) { return planRemove(key, current, expected_rv, ts); },
      std::move(done));
}

util::Result<WatchHandlePtr> SqliteStore::watch(const WatchOptions& options, WatchCallback callback,
                                                WatchEndCallback on_end) {
  return hub_->watch(options, std::move(callback), std::move(on_end), revision_.load());
}

void SqliteStore::commitLoop() {
  for (;;) {
    std::vector<Op> batch;
    {
      std::unique_lock lock(write_mu_);
      write_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      size_t writes = 0;
      while (!queue_.empty() && (writes < options_.max_batch || !queue_.front().write)) {
        if (queue_.front().write) ++writes;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_writes_ -= writes;
    }
    commitBatch(batch);
    answered(batch.size());
  }
}

void SqliteStore::answered(size_t ops) {
  {
    std::lock_guard lock(write_mu_);
    ops_answered_ += ops;
  }
  answered_cv_.notify_all();
}

void SqliteStore::flush() {
  std::unique_lock lock(write_mu_);
  const uint64_t target = ops_queued_;
  answered_cv_.wait(lock, [&] { return ops_answered_ >= target; });
}

void SqliteStore::commitBatch(std::vector<Op>& batch) {
  std::vector<RowWrite> rows;
  for (const Op& op : batch) {
    if (op.write) rows.push_back(RowWrite{op.type, op.object.get(), &op.json, op.row});
  }
  if (!rows.empty()) {
    int64_t last = rows.back().object->metadata.resource_version;
    int64_t previous_compacted = hub_->compactedRevision();
    int64_t compact_to = hub_->beginCompaction(last - options_.change_log_retention);
    auto started = std::chrono::steady_clock::now();
    std::optional<CommitError> failure = db_->commit(rows, last, compact_to);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    if (failure) {
      hub_->abortCompaction(previous_compacted);
      if (options_.on_commit) options_.on_commit(CommitInfo{rows.size(), took.count(), false});
      failPending(batch, *failure);
      return;
    }
    std::vector<WatchEvent> events;
    events.reserve(rows.size());
    {
      std::unique_lock lock(state_mu_);
      for (const Op& op : batch) {
        if (!op.write) continue;
        if (op.type == EventType::Deleted) {
          committed_.erase(keyOf(*op.object));
        } else {
          committed_.put(op.object, static_cast<int64_t>(op.json.size()), op.row);
        }
      }
      revision_ = last;
    }
    {
      std::lock_guard lock(write_mu_);
      for (const Op& op : batch) {
        if (!op.write) continue;
        auto it = overlay_.find(keyOf(*op.object));
        if (it != overlay_.end() && it->second.revision <= last) overlay_.erase(it);
      }
    }
    for (const Op& op : batch) {
      if (!op.write) continue;
      events.push_back(WatchEvent{op.type, *op.object,
                                  op.type == EventType::Deleted ? nullptr : op.object});
    }
    hub_->publish(std::move(events));
    // After the state is applied: an observer sees what a reader would.
    if (options_.on_commit) options_.on_commit(CommitInfo{rows.size(), took.count(), true});
  }
  for (Op& op : batch) {
    if (op.error) {
      reply(op.done, std::move(*op.error));
    } else {
      reply(op.done, *op.object);
    }
  }
}

void SqliteStore::failPending(std::vector<Op>& batch, const CommitError& failure) {
  LOG_ERROR("store", "commit of {} operations failed: {}", batch.size(), failure.error.message);
  std::deque<Op> behind;
  {
    std::lock_guard lock(write_mu_);
    if (failure.failure == CommitFailure::Uncertain) {
      broken_ = makeError(ErrorCode::Unavailable,
                          fmt::format("store: refusing writes until restart: a commit failed and "
                                      "its outcome is unknown ({})",
                                      failure.error.message));
    }
    behind.swap(queue_);
    queued_writes_ = 0;
    overlay_.clear();
    next_revision_ = revision_.load();
    std::shared_lock state_lock(state_mu_);
    admitted_ = committed_.usage();
  }
  util::Error not_applied = failure.error;
  not_applied.message = "not applied: " + failure.error.message;
  util::Error earlier = makeError(
      ErrorCode::Unavailable,
      "store: not applied because an earlier write failed to commit: " + failure.error.message);
  for (Op& op : batch) reply(op.done, op.error ? std::move(*op.error) : not_applied);
  for (Op& op : behind) reply(op.done, op.error ? std::move(*op.error) : earlier);
  answered(behind.size());
}

util::Result<int> lockDatabase(const std::string& path) {
  std::string lock_path = path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(ErrorCode::Internal, fmt::format("store {}: cannot open lock file {}: {}",
                                                      path, lock_path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    return makeError(ErrorCode::Unavailable,
                     fmt::format("store {}: in use by another process (it holds {}): {}", path,
                                 lock_path, std::strerror(err)));
  }
  return fd;
}

}  // namespace

util::Result<StorePtr> openSqliteStore(const SqliteOptions& options) {
  if (options.path.empty()) return makeError(ErrorCode::BadRequest, "store: path is required");
  if (options.change_log_retention < 1 || options.max_batch < 1 || options.max_pending < 1 ||
      options.quota_bytes < 0 || options.max_objects_per_namespace < 0 ||
      options.max_database_bytes < 0) {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("store {}: change_log_retention, max_batch and max_pending must be at least 1, "
                    "quota_bytes, max_objects_per_namespace and max_database_bytes not negative "
                    "(got {}, {}, {}, {}, {}, {})",
                    options.path, options.change_log_retention, options.max_batch,
                    options.max_pending, options.quota_bytes, options.max_objects_per_namespace,
                    options.max_database_bytes));
  }
  ASSIGN_OR_RETURN(int lock_fd, lockDatabase(options.path));
  auto db = SqliteDb::open(options.path, SqliteDb::Role::Writer, options.max_database_bytes);
  util::Result<LoadedState> state = db.ok() ? (*db)->load() : util::Result<LoadedState>(db.error());
  if (!state.ok()) {
    db = util::Error{};  // close the database before releasing the lock
    ::close(lock_fd);
    return state.takeError();
  }
  LOG_INFO("store", "opened {} at revision {} ({} objects, change log from revision {})",
           options.path, state->revision, state->objects.size(), state->compacted_revision);
  return StorePtr(
      new SqliteStore(options, lock_fd, std::move(db).value(), std::move(state).value()));
}

}  // namespace magnumd::store
