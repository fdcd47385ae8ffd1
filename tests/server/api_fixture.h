// A real store behind an ApiServer, driven without sockets: requests go straight into
// ApiServer::handle on an io_context running in a background thread. ApiTest's store is SQLite in
// a temporary directory; ApiBackendTest runs a suite on SQLite and on etcd
// (tests/support/store_backend.h).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pki/kek.h"
#include "secrets/cluster_secrets.h"
#include "server/api_server.h"
#include "store/sqlite_store.h"
#include "tests/support/store_backend.h"
#include "util/json.h"
#include "util/time.h"

namespace magnumd::server::testing {

namespace asio = boost::asio;
namespace http = net::http;

inline constexpr const char* kAdmin = "admin-token-0001";
inline constexpr const char* kMemberA = "member-token-team-a";
inline constexpr const char* kReaderAll = "reader-token-0001";
inline constexpr const char* kAdminA = "admin-token-team-a";
inline constexpr const char* kHealerA = "healer-token-team-a";
inline constexpr const char* kBase = "/apis/container-infra/v1";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "magnumd-server-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Reply {
  unsigned code = 0;
  std::string content_type;
  std::string cache_control;
  std::string body;
  util::JsonDoc json;  // parsed body when it is JSON

  std::string str(const char* pointer) const;  // "/metadata/name" -> value as text ("" if absent)
  std::string reason() const { return str("/reason"); }
};

// Collects what a watch stream writes; thread-safe.
class RecordingWriter final : public net::ChunkWriter {
 public:
  asio::awaitable<bool> write(std::string data) override;
  bool stopping() const override { return stopping_; }

  // Parsed events written so far.
  std::vector<std::pair<std::string, util::JsonDoc>> events() const;
  // Polls until `predicate(events)` holds or the deadline passes.
  bool waitFor(const std::function<bool(const std::vector<std::pair<std::string, util::JsonDoc>>&)>& predicate,
               std::chrono::milliseconds deadline = std::chrono::seconds(10)) const;

  std::atomic<bool> stopping_{false};
  // While set, write() waits (a client that stopped reading).
  std::atomic<bool> stalled{false};
  std::atomic<bool> done{false};

 private:
  mutable std::mutex mutex_;
  std::string text_;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { start(WatchOptions{}); }
  void TearDown() override { stop(); }

  void start(WatchOptions watch_options);
  void stop();

  using Headers = std::vector<std::pair<std::string, std::string>>;
  Reply call(http::verb method, const std::string& target, const std::string& body = {},
             const std::string& token = kAdmin,
             const std::string& content_type = "application/json", const std::string& accept = {},
             const Headers& headers = {});
  // The last call's response headers.
  std::map<std::string, std::string> last_headers_;
  // A request carrying a Keystone token in X-Auth-Token (and no Authorization header).
  Reply keystoneCall(http::verb method, const std::string& target, const std::string& x_auth_token,
                     const std::string& body = {});
  Reply send(net::Request request);
  net::Reply rawCall(http::verb method, const std::string& target,
                     const std::string& token = kAdmin, const std::string& accept = {});
  // Starts a watch; the returned writer records its events. Ends when the test stops.
  std::shared_ptr<RecordingWriter> watch(const std::string& target, const std::string& token = kAdmin,
                                         Reply* error = nullptr, const std::string& accept = {});

  // Fixtures with valid specs.
  Reply createTemplate(const std::string& ns, const std::string& name, bool is_public = false);
  Reply createCluster(const std::string& ns, const std::string& name, const std::string& tmpl,
                      const std::string& labels_json = "{}");

  TempDir dir_;
  // The backend start() opens the store on (SQLite unless ApiBackendTest prepared another).
  ::magnumd::testing::BackendStores stores_;
  int64_t store_quota_bytes_ = 0;  // BackendConfig::quota_bytes at the next start()
  int64_t store_max_objects_ = 0;  // BackendConfig::max_objects_per_namespace
  int64_t store_retention_ = 100000;
  size_t store_cache_events_ = 4096;
  store::StorePtr store_;
  int64_t opened_revision_ = 0;  // the store's revision when start() opened it
  // The cluster secrets behind the credentials endpoints; with_secrets_ = false starts the API
  // without them (ApiServerOptions::secrets null).
  bool with_secrets_ = true;
  CredentialObserver on_credential_issued_;
  // Validates X-Auth-Token at the next start(); null: Keystone tokens are not accepted.
  std::shared_ptr<KeystoneAuthenticator> keystone_;
  // The cloud admission checks against (ApiServerOptions::cloud); null: none, as without a cloud.
  drivers::NamespaceLookups* cloud_lookups_ = nullptr;
  // This replica's role at the next start() (ApiServerOptions::role); null: no election.
  std::function<ReplicaRole()> role_;
  // The controllers' heartbeat at the next start() (ApiServerOptions::heartbeat); null: none.
  const ServiceHeartbeat* heartbeat_ = nullptr;
  // Since when reads may be stale, at the next start() (ApiServerOptions::stale_since); null:
  // they never are.
  std::function<std::optional<util::SystemTime>()> stale_since_;
  // Magnum's policy at the next start() (ApiServerOptions::magnum_policy); null: the defaults.
  std::shared_ptr<const magnum::Policy> magnum_policy_;
  util::RealClock clock_;
  std::unique_ptr<pki::KeyEncryptionKey> kek_;
  std::unique_ptr<secrets::ClusterSecretStore> secrets_;
  std::unique_ptr<util::MetricsRegistry> registry_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::vector<std::shared_ptr<RecordingWriter>> writers_;
};

// ApiTest on each store backend: a TEST_P suite instantiated with INSTANTIATE_STORE_BACKENDS.
class ApiBackendTest : public ApiTest,
                       public ::testing::WithParamInterface<::magnumd::testing::Backend> {
 protected:
  void SetUp() override {
    if (std::string why = stores_.prepare(GetParam()); !why.empty()) GTEST_SKIP() << why;
    ApiTest::SetUp();
  }
};

std::string templateJson(const std::string& ns, const std::string& name, bool is_public = false);
std::string clusterJson(const std::string& ns, const std::string& name, const std::string& tmpl,
                        const std::string& labels_json = "{}");

}  // namespace magnumd::server::testing
