// Crash-test helper: opens the store and writes from many threads as fast as it can, printing
// each acknowledged write to stdout the moment its callback reports success. The crash test
// SIGKILLs this process mid-storm and then checks every printed write survived.
//
// Usage: store_crash_writer DB_PATH NAME_PREFIX THREADS
// Lines: "C name rv" (created), "U name value rv" (spec.v = value), "D name rv" (deleted).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"

namespace {

using magnumd::api::Kind;
using magnumd::api::Object;

// One write(2) per line: atomic on a pipe, so a kill never leaves half a line behind.
void emit(const std::string& line) {
  if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) std::_Exit(3);
}

void storm(magnumd::store::Store& store, const std::string& prefix, int thread) {
  for (int i = 0;; ++i) {
    // Every fourth object is deleted again, so deletes are part of the storm too.
    bool doomed = i % 4 == 3;
    Object o;
    o.kind = Kind::Cluster;
    o.metadata.namespace_ = fmt::format("ns{}", thread % 3);
    o.metadata.name = fmt::format("{}{}-t{}-{}", doomed ? "del-" : "", prefix, thread, i);
    auto created = magnumd::store::createSync(store, o);
    if (!created.ok()) std::_Exit(4);
    emit(fmt::format("C {} {} {}\n", o.metadata.namespace_, o.metadata.name,
                     created->metadata.resource_version));
    for (int v = 1; v <= 2; ++v) {
      Object next = *created;
      next.spec = fmt::format(R"({{"v":{}}})", v);
      auto updated = magnumd::store::updateSync(store, next, 0);
      if (!updated.ok()) std::_Exit(5);
      emit(fmt::format("U {} {} {} {}\n", o.metadata.namespace_, o.metadata.name, v,
                       updated->metadata.resource_version));
    }
    if (doomed) {
      auto removed = magnumd::store::removeSync(store, keyOf(o), 0);
      if (!removed.ok()) std::_Exit(6);
      emit(fmt::format("D {} {} {}\n", o.metadata.namespace_, o.metadata.name,
                       removed->metadata.resource_version));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DB_PATH NAME_PREFIX THREADS\n", argv[0]);
    return 2;
  }
  magnumd::store::SqliteOptions options;
  options.path = argv[1];
  options.change_log_retention = 500;  // compaction runs during the storm too
  auto store = magnumd::store::openSqliteStore(options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  int n = std::max(1, std::atoi(argv[3]));
  for (int t = 0; t < n; ++t) threads.emplace_back([&, t] { storm(**store, argv[2], t); });
  for (auto& t : threads) t.join();  // never returns: the test kills us
  return 0;
}
