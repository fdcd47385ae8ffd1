// `magnumd migrate --from sqlite:PATH --to etcd:URL,...`: copies a stopped magnumd's SQLite
// database into an empty etcd prefix (store/etcd_migrate.h) and prints what it copied per kind.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace magnumd::cmd {

struct MigrateOptions {
  std::string from;  // sqlite:PATH
  std::string to;    // etcd:URL[,URL...]
  std::string etcd_prefix = "/magnumd";
  std::string etcd_ca, etcd_cert, etcd_key;
};

// The `migrate` subcommand of `app`, filling `options`.
CLI::App* addMigrateCommand(CLI::App& app, MigrateOptions& options);

// Runs the migration; returns the process's exit code (0 copied, 1 failed, 2 bad arguments).
int runMigrate(const MigrateOptions& options);

}  // namespace magnumd::cmd
