// Durability with real kills: store_crash_writer writes from many threads and prints every
// acknowledged write; we SIGKILL it mid-storm, reopen the database, and check that every
// printed write is there, the file passes PRAGMA integrity_check and revisions are consistent.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "store_test_util.h"
#include "util/json.h"

namespace magnumd::store {
namespace {

using namespace testing;
using namespace std::chrono_literals;

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of the child's stdout
};

Child spawnWriter(const std::string& db, const std::string& prefix, int threads) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::string n = std::to_string(threads);
    ::execl(STORE_CRASH_WRITER, STORE_CRASH_WRITER, db.c_str(), prefix.c_str(), n.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// What the writer acknowledged about one object, from its last printed line.
struct Acked {
  std::string ns;
  int64_t revision = 0;
  int value = 0;  // spec.v
  bool deleted = false;
};

std::string integrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) = values[0] ? values[0] : "";
          return 0;
        },
        &result, nullptr);
  }
  sqlite3_close(db);
  return result;
}

TEST(StoreCrashTest, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  std::string db = dir.file("crash.db");
  std::mt19937 rng(std::random_device{}());
  int64_t previous_revision = 0;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Child child = spawnWriter(db, "r" + std::to_string(round) + "-", 8);
    ASSERT_GT(child.pid, 0);
    std::string output;
    std::mutex output_mu;
    std::thread reader([&] {
      char buffer[4096];
      ssize_t n;
      while ((n = ::read(child.out, buffer, sizeof buffer)) > 0) {
        std::lock_guard lock(output_mu);
        output.append(buffer, static_cast<size_t>(n));
      }
    });
    // Kill once the storm is under way, at a random point after that.
    size_t want_lines = 50 + rng() % 400;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      size_t lines;
      {
        std::lock_guard lock(output_mu);
        lines = static_cast<size_t>(std::count(output.begin(), output.end(), '\n'));
      }
      if (lines >= want_lines || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 50));
    ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    reader.join();
    ::close(child.out);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer exited by itself (status " << status << ")";

    std::map<std::string, Acked> acked;
    std::set<int64_t> revisions;
    std::istringstream lines(output.substr(0, output.rfind('\n') + 1));
    std::string line;
    size_t count = 0;
    while (std::getline(lines, line)) {
      std::istringstream in(line);
      std::string op, ns, name;
      in >> op >> ns >> name;
      Acked& a = acked[name];
      a.ns = ns;
      if (op == "U") in >> a.value;
      if (op == "D") a.deleted = true;
      in >> a.revision;
      ASSERT_TRUE(in && (op == "C" || op == "U" || op == "D")) << line;
      EXPECT_TRUE(revisions.insert(a.revision).second) << "revision reused: " << line;
      ++count;
    }
    ASSERT_GE(count, want_lines);

    EXPECT_EQ(integrityCheck(db), "ok");
    StorePtr store = openOrDie(SqliteOptions{.path = db, .change_log_retention = 500});
    ASSERT_TRUE(store);
    EXPECT_GE(store->currentRevision(), *revisions.rbegin());
    EXPECT_GT(*revisions.begin(), previous_revision);
    previous_revision = store->currentRevision();
    for (const auto& [name, a] : acked) {
      auto got = store->get({api::Kind::Cluster, a.ns, name});
      if (a.deleted) {
        EXPECT_FALSE(got.ok()) << name << " was deleted (acknowledged) but is back";
        continue;
      }
      if (!got.ok() && name.rfind("del-", 0) == 0) continue;  // deleted, ack not printed yet
      ASSERT_TRUE(got.ok()) << name << " acknowledged at revision " << a.revision << " is lost";
      EXPECT_GE(got->metadata.resource_version, a.revision) << name;
      auto spec = util::parseJson(got->spec);
      ASSERT_TRUE(spec.ok());
      EXPECT_GE(util::intMember(*spec, "v").value_or(0), a.value) << name;
    }
    // The change log still covers what it claims (a watch can resume right after the crash).
    EventSink sink;
    int64_t from = store->compactedRevision();
    auto handle = store->watch({api::Kind::Cluster, "", from}, sink.callback(), sink.endCallback());
    ASSERT_TRUE(handle.ok());
    ASSERT_TRUE(sink.waitFor(static_cast<size_t>(store->currentRevision() - from)));
    EXPECT_EQ(sink.revisions(), range(from, store->currentRevision()));
  }
}

}  // namespace
}  // namespace magnumd::store
