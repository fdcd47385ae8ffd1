#include "cmd/migrate.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "store/sqlite_store.h"
#ifdef MAGNUMD_WITH_ETCD
#include "store/etcd_migrate.h"
#endif

namespace magnumd::cmd {

CLI::App* addMigrateCommand(CLI::App& app, MigrateOptions& options) {
  CLI::App* command = app.add_subcommand(
      "migrate",
      "copy every object of a stopped magnumd's SQLite database into an empty etcd prefix, "
      "for --store etcd");
  command->add_option("--from", options.from, "sqlite:PATH (magnumd's is DATA_DIR/magnumd.db)")
      ->required();
  command->add_option("--to", options.to, "etcd:URL[,URL...] (http://IP:2379 or https://IP:2379)")
      ->required();
  command
      ->add_option("--etcd-prefix", options.etcd_prefix,
                   "the key prefix to copy under; it must be empty")
      ->capture_default_str();
  command->add_option("--etcd-ca", options.etcd_ca, "PEM CA that signed etcd's certificate");
  command->add_option("--etcd-cert", options.etcd_cert, "PEM client certificate");
  command->add_option("--etcd-key", options.etcd_key, "PEM key of --etcd-cert");
  return command;
}

#ifdef MAGNUMD_WITH_ETCD

namespace {

std::vector<std::string> splitEndpoints(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

void printSummary(const MigrateOptions& options, const store::MigrationSummary& summary) {
  fmt::print("magnumd migrate: copied {} (revision {}) to {} under {} (etcd revision {})\n",
             options.from, summary.source_revision, options.to, options.etcd_prefix,
             summary.revision);
  fmt::print("  {:<16} {:>8} {:>12}\n", "KIND", "OBJECTS", "BYTES");
  int64_t objects = 0, bytes = 0;
  for (const auto& kind : summary.kinds) {
    fmt::print("  {:<16} {:>8} {:>12}\n", api::kindInfo(kind.kind).name, kind.objects, kind.bytes);
    objects += kind.objects;
    bytes += kind.bytes;
  }
  fmt::print("  {:<16} {:>8} {:>12}\n", "total", objects, bytes);
  fmt::print(
      "Start magnumd with --store etcd --etcd-endpoints {} --etcd-prefix {} (and the same "
      "--encryption-key-file); keep {} as the backup of the state before the move.\n",
      options.to.substr(5), options.etcd_prefix, options.from.substr(7));
}

}  // namespace

int runMigrate(const MigrateOptions& options) {
  auto bad = [](std::string_view why) {
    fmt::print(stderr, "magnumd migrate: {}\n", why);
    return 2;
  };
  if (!options.from.starts_with("sqlite:") || options.from.size() == 7) {
    return bad(
        fmt::format("--from \"{}\": expected sqlite:PATH (e.g. "
                    "sqlite:/var/lib/magnumd/magnumd.db)",
                    options.from));
  }
  if (!options.to.starts_with("etcd:") || options.to.size() == 5) {
    return bad(
        fmt::format("--to \"{}\": expected etcd:URL[,URL...] (e.g. "
                    "etcd:https://10.0.0.5:2379,https://10.0.0.6:2379)",
                    options.to));
  }
  if (options.etcd_cert.empty() != options.etcd_key.empty()) {
    return bad("--etcd-cert and --etcd-key must be given together");
  }
  const std::string path = options.from.substr(7);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    // Opening would create an empty database, and an empty copy would look like success.
    return bad(
        fmt::format("--from: no SQLite database at {} (magnumd's is DATA_DIR/magnumd.db)", path));
  }
  store::SqliteOptions source_options;
  source_options.path = path;
  auto source = store::openSqliteStore(source_options);
  if (!source.ok()) {
    fmt::print(stderr, "magnumd migrate: {} (stop magnumd before migrating its database)\n",
               source.error().message);
    return 1;
  }
  store::MigrationTarget target;
  target.etcd.endpoints = splitEndpoints(std::string_view(options.to).substr(5));
  target.etcd.prefix = options.etcd_prefix;
  target.etcd.ca_file = options.etcd_ca;
  target.etcd.cert_file = options.etcd_cert;
  target.etcd.key_file = options.etcd_key;
  target.progress = [](std::string_view line) {
    fmt::print(stderr, "magnumd migrate: {}\n", line);
  };
  auto summary = store::migrateToEtcd(**source, target);
  if (!summary.ok()) {
    fmt::print(stderr, "magnumd migrate: {}\n", summary.error().message);
    return 1;
  }
  printSummary(options, *summary);
  return 0;
}

#else

int runMigrate(const MigrateOptions&) {
  fmt::print(stderr,
             "magnumd migrate: this magnumd was built without the etcd backend "
             "(-DMAGNUMD_ETCD=OFF)\n");
  return 2;
}

#endif

}  // namespace magnumd::cmd
