// The servers create_bench and store_compare_bench start and what they send them: magnumd (on
// SQLite or on etcd) with the bench's token and encryption key, a one-member etcd 3.4, and the
// JSON bodies of etcd's HTTP/JSON gateway (keys and values base64, as its proto bytes fields).
#pragma once

#include <boost/beast/core/detail/base64.hpp>
#include <filesystem>
#include <memory>
#include <optional>

#include "bench/api/bench_http.h"

namespace bench {

inline constexpr const char* kToken = "bench-admin-token-0001";

inline std::string base64(const std::string& in) {
  std::string out(beast::detail::base64::encoded_size(in.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}

// The end of etcd's range holding every key that starts with `prefix`.
inline std::string prefixEnd(std::string prefix) {
  ++prefix.back();
  return prefix;
}

// What a create is in etcd: put the key only if it does not exist yet (POST /v3/kv/txn).
inline std::string etcdCreate(const std::string& key, const std::string& value) {
  const std::string k = base64(key);
  return fmt::format(
      R"({{"compare":[{{"key":"{0}","target":"CREATE","result":"EQUAL","create_revision":"0"}}],"success":[{{"request_put":{{"key":"{0}","value":"{1}"}}}}]}})",
      k, base64(value));
}

// POST /v3/kv/put
inline std::string etcdPut(const std::string& key, const std::string& value) {
  return fmt::format(R"({{"key":"{}","value":"{}"}})", base64(key), base64(value));
}

// POST /v3/kv/range: one key, or with `prefix` every key under it, at most `limit`.
inline std::string etcdRange(const std::string& key, bool prefix = false, int limit = 0) {
  if (!prefix) return fmt::format(R"({{"key":"{}"}})", base64(key));
  return fmt::format(R"({{"key":"{}","range_end":"{}","limit":{}}})", base64(key),
                     base64(prefixEnd(key)), limit);
}

// The number after `marker` in `body` (etcd's int64s are JSON strings: `"revision":"42"`); -1.
inline int64_t numberAfter(const std::string& body, const std::string& marker) {
  auto at = body.find(marker);
  if (at == std::string::npos) return -1;
  return std::atoll(body.c_str() + at + marker.size());
}

struct Server {
  std::unique_ptr<Process> process;
  tcp::endpoint endpoint;
  std::string url() const { return fmt::format("http://127.0.0.1:{}", endpoint.port()); }
};

// One etcd member with its data in `dir` (on the disk under test), defaults otherwise.
inline std::optional<Server> startEtcd(const std::string& binary, const std::filesystem::path& dir,
                                       const std::string& log) {
  const uint16_t port = freePort(), peer_port = freePort();
  const std::string client_url = fmt::format("http://127.0.0.1:{}", port);
  const std::string peer_url = fmt::format("http://127.0.0.1:{}", peer_port);
  Server e{std::make_unique<Process>(
               std::vector<std::string>{
                   binary, "--name", "bench", "--data-dir", dir.string(), "--listen-client-urls",
                   client_url, "--advertise-client-urls", client_url, "--listen-peer-urls",
                   peer_url, "--initial-advertise-peer-urls", peer_url, "--initial-cluster",
                   "bench=" + peer_url, "--log-level", "warn"},
               log),
           tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)};
  if (!e.process->waitReady(e.endpoint, "/health")) return std::nullopt;
  return e;
}

// magnumd --no-controllers with its files in `dir`, the bench token an admin; `extra` arguments
// last (`--store etcd ...`). nullopt if it did not become ready.
inline std::optional<Server> startMagnumd(const std::string& binary,
                                          const std::filesystem::path& dir,
                                          std::vector<std::string> extra) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  std::ofstream(dir / "tokens.csv") << kToken << ",bench,*,admin\n";
  // Production magnumd needs an encryption key file (mode 0600): a fixed one is fine here.
  const fs::path key = dir / "encryption.key";
  std::ofstream(key) << "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  const uint16_t port = freePort();
  std::vector<std::string> argv = {binary, "--listen", fmt::format("127.0.0.1:{}", port),
                                   "--data-dir", (dir / "data").string(), "--token-file",
                                   (dir / "tokens.csv").string(), "--encryption-key-file",
                                   key.string(), "--log-level", "warn", "--no-controllers",
                                   // The create rows make more than the default 10,000.
                                   "--max-objects-per-namespace", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Server m{std::make_unique<Process>(argv, (dir / "magnumd.log").string()),
           tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)};
  if (!m.process->waitReady(m.endpoint, "/readyz")) return std::nullopt;
  return m;
}

}  // namespace bench
