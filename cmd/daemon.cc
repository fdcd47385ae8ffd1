#include "cmd/daemon.h"

#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <system_error>

#include "cmd/dev_mode.h"
#include "store/sqlite_store.h"
#ifdef MAGNUMD_WITH_ETCD
#include "store/etcd_store.h"
#endif
#include "util/log.h"
#include "util/time.h"

namespace magnumd::cmd {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using util::ErrorCode;
using util::makeError;

namespace {

// Each I/O thread runs an io_context of its own, and connections are dealt to them in turn: a
// connection's coroutines then never resume on another thread than the one they suspended on.
// Clang 16 miscompiles coroutines that do, once optimising: the smallest Beast coroutine server
// (bench/api/ceiling_server: one io_context on two threads, a strand per connection) aborts
// within seconds under 64 connections when built by Clang 16 at -O1 or -O2 (Beast's "two reads in
// flight" assertion, heap corruption, a null frame resumed; LLVM issues of this kind: #63022,
// #65018, #72006, fixed in later releases), and serves the same load with a context per thread.
constexpr unsigned kMaxIoThreads = 256;

// --max-connections under this process's file-descriptor limit (see connectionCap).
size_t connectionLimit(size_t requested) {
  rlimit limit{};
  uint64_t descriptors = 0;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    descriptors = limit.rlim_cur;
  }
  ConnectionCap cap = connectionCap(requested, descriptors);
  if (!cap.warning.empty()) LOG_WARN("magnumd", "{}", cap.warning);
  return cap.connections;
}

}  // namespace

Daemon::Daemon(DaemonConfig config) : config_(std::move(config)) {}

Daemon::~Daemon() { shutdown(); }

void Daemon::addComponent(std::unique_ptr<Component> component) {
  components_.push_back(std::move(component));
}

uint16_t Daemon::port() const { return http_ ? http_->port() : 0; }

util::Status Daemon::prepareDataDir() {
  std::error_code ec;
  fs::create_directories(config_.data_dir, ec);
  if (ec) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("--data-dir {}: cannot create it: {}", config_.data_dir, ec.message()));
  }
  if (!fs::is_directory(config_.data_dir, ec)) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("--data-dir {}: is not a directory", config_.data_dir));
  }
  if (::access(config_.data_dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("--data-dir {}: not readable and writable by this user: {}",
                                 config_.data_dir, std::strerror(errno)));
  }
  return {};
}

util::Status Daemon::prepareDevTls() {
  if (!config_.dev || config_.dev_plain_http || !config_.tls_cert.empty()) return {};
  ASSIGN_OR_RETURN(auto listen, parseListen(config_.listen));
  // Loopback by every name a local client uses, and the address it listens on when specific.
  std::vector<std::string> hosts{"127.0.0.1", "::1", "localhost"};
  if (listen.host != "0.0.0.0" && listen.host != "::" &&
      std::find(hosts.begin(), hosts.end(), listen.host) == hosts.end()) {
    hosts.push_back(listen.host);
  }
  ASSIGN_OR_RETURN(DevTls tls, ensureDevTls(config_.data_dir, hosts, clock_.now()));
  if (tls.ca_created) LOG_INFO("magnumd", "development mode: created the CA {}", tls.ca_path);
  if (tls.cert_issued) {
    LOG_INFO("magnumd", "development mode: issued the serving certificate {} for {}", tls.cert_path,
             fmt::join(hosts, ", "));
  }
  config_.tls_cert = tls.cert_path;
  config_.tls_key = tls.key_path;
  std::error_code ec;
  auto absolute = fs::absolute(tls.ca_path, ec);
  dev_ca_path_ = ec ? tls.ca_path : absolute.string();
  dev_ca_pem_ = tls.ca_pem;
  return {};
}

util::Status Daemon::writeDevClientConfig(uint16_t port) {
  if (!config_.dev || !dev_token_) return {};
  ASSIGN_OR_RETURN(auto listen, parseListen(config_.listen));
  std::string host = listen.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::string url =
      fmt::format("{}://{}:{}", config_.tls_cert.empty() ? "http" : "https", host, port);
  ASSIGN_OR_RETURN(std::string path,
                   writeDevKubeconfig(config_.data_dir, url, dev_ca_pem_, dev_token_->token));
  std::error_code ec;
  auto absolute = fs::absolute(path, ec);
  DevEndpoint endpoint{url, ec ? path : absolute.string(), dev_ca_path_};
  fmt::print(stderr, "{}", devInstructions(*dev_token_, endpoint));
  return {};
}

util::Status Daemon::openStore() {
  auto& watches_failed = metrics_.counter("magnumd_store_watches_failed_total",
                                          "Watches the store ended by itself, by reason "
                                          "(callback_threw|replay_failed).",
                                          {"reason"});
  auto on_watch_failed = [&watches_failed](std::string_view reason) {
    watches_failed.with({std::string(reason)}).inc();
  };
#ifdef MAGNUMD_WITH_ETCD
  if (config_.store == "etcd") {
    store::EtcdOptions options;
    options.endpoints = config_.etcd_endpoints;
    options.prefix = config_.etcd_prefix;
    options.ca_file = config_.etcd_ca;
    options.cert_file = config_.etcd_cert;
    options.key_file = config_.etcd_key;
    options.quota_bytes = config_.store_quota_bytes;
    options.max_objects_per_namespace = config_.max_objects_per_namespace;
    options.on_watch_failed = on_watch_failed;
    etcd_contact_ = std::make_shared<store::EtcdLeaderContact>();
    options.leader_contact = etcd_contact_;
    ASSIGN_OR_RETURN(store_, store::openEtcdStore(options));  // the store logs what it loaded
    store::EtcdServiceReportsOptions reports{options.endpoints, options.ca_file, options.cert_file,
                                             options.key_file, options.prefix};
    ASSIGN_OR_RETURN(service_reports_, store::makeEtcdServiceReports(std::move(reports)));
    return {};
  }
#endif
  // Two processes on one database would each keep their own cache and revision counter, and
  // both run the controllers.
  auto lock = util::FileLock::acquire(config_.data_dir + "/magnumd.lock");
  if (!lock.ok()) {
    return makeError(lock.error().code,
                     fmt::format("--data-dir {}: another magnumd is using it ({}); one process "
                                 "per SQLite data dir: several replicas need --store etcd",
                                 config_.data_dir, lock.error().message));
  }
  data_dir_lock_ = std::move(*lock);
  store::SqliteOptions options;
  options.path = config_.data_dir + "/magnumd.db";
  options.quota_bytes = config_.store_quota_bytes;
  options.max_objects_per_namespace = config_.max_objects_per_namespace;
  auto& commit_seconds = metrics_.histogram("magnumd_store_commit_duration_seconds",
                                            "One store transaction, BEGIN to COMMIT, fsync included.")
                             .with({});
  auto& commit_writes = metrics_.histogram("magnumd_store_commit_writes",
                                           "Writes grouped into one store transaction.", {},
                                           {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})
                            .with({});
  auto& commit_failures = metrics_.counter("magnumd_store_commit_failures_total",
                                           "Store transactions that failed and were rolled back.")
                              .with({});
  options.on_commit = [&commit_seconds, &commit_writes, &commit_failures](const store::CommitInfo& info) {
    commit_seconds.observe(info.seconds);
    commit_writes.observe(static_cast<double>(info.writes));
    if (!info.ok) commit_failures.inc();
  };
  options.on_watch_failed = on_watch_failed;
  ASSIGN_OR_RETURN(store_, store::openSqliteStore(options));  // the store logs what it opened
  return {};
}

util::Status Daemon::openSecrets() {
  std::string path = config_.encryption_key_file;
  if (path.empty()) {  // --dev (validateConfig requires the flag otherwise)
    path = config_.data_dir + "/encryption.key";
    if (::access(path.c_str(), F_OK) != 0) {
      RETURN_IF_ERROR(pki::generateKeyFile(path));
      LOG_INFO("magnumd", "development mode: created the encryption key {} (mode 0600)", path);
    }
  }
  auto kek = pki::KeyEncryptionKey::load(path);
  if (!kek.ok()) {
    return makeError(kek.error().code,
                     fmt::format("--encryption-key-file: {}", kek.error().message));
  }
  kek_.emplace(std::move(*kek));
  secrets::SecretOptions secret_options;
  if (auto ttl = util::parseDuration(config_.join_token_ttl); ttl.ok()) {
    secret_options.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  }
  secrets_ =
      std::make_unique<secrets::ClusterSecretStore>(*store_, *kek_, clock_, secret_options);
  RETURN_IF_ERROR(secrets_->checkKey());
  LOG_INFO("magnumd", "cluster secrets are encrypted with key {} from {}", kek_->keyId(), path);
  return {};
}

util::Result<std::shared_ptr<server::TokenAuthenticator>> Daemon::loadAuthenticator() {
  std::shared_ptr<server::TokenAuthenticator> auth;
  if (!config_.token_file.empty()) {
    ASSIGN_OR_RETURN(auto loaded, server::TokenAuthenticator::loadFile(config_.token_file));
    auth = std::move(loaded);
    LOG_INFO("magnumd", "loaded {} token(s) from {}", auth->size(), config_.token_file);
  } else {
    auth = std::make_shared<server::TokenAuthenticator>();
  }
  if (config_.dev) {
    ASSIGN_OR_RETURN(auto dev, ensureAdminToken(config_.data_dir));
    auth->add(dev.token, server::Identity{"admin", "*", server::Role::Admin});
    dev_token_ = std::move(dev);  // the hints are printed once the listener has its port
  }
  return auth;
}

util::Status Daemon::startApi(std::shared_ptr<const server::Authenticator> authenticator,
                              std::shared_ptr<server::KeystoneValidator> keystone,
                              drivers::NamespaceLookups* cloud_lookups) {
  ASSIGN_OR_RETURN(auto listen, parseListen(config_.listen));
  net::ServerOptions options;
  options.address = listen.host;
  options.port = listen.port;
  options.max_connections = connectionLimit(config_.max_connections);
  if (!config_.tls_cert.empty()) {
    ASSIGN_OR_RETURN(options.tls, net::makeServerTlsContext(config_.tls_cert, config_.tls_key));
  }
  server::ApiServerOptions api_options;
  api_options.watch.bookmark_interval = config_.watch_bookmark_interval;
  api_options.watch.max_streams_per_user = config_.max_watches_per_user;
  api_options.secrets = secrets_.get();
  api_options.cloud = cloud_lookups;
  char host[256] = {};
  heartbeat_.host = ::gethostname(host, sizeof(host) - 1) == 0 ? host : "localhost";
  heartbeat_.started_at = util::formatRfc3339(std::chrono::system_clock::now());
  if (service_reports_) {
    heartbeat_.replicas = [reports = service_reports_.get()] {
      std::vector<server::ReplicaReport> out;
      for (auto& r : reports->reports()) {
        out.push_back({std::move(r.host), r.created_at, r.updated_at, r.report_count});
      }
      return out;
    };
  }
  api_options.heartbeat = &heartbeat_;
  api_options.quotas = {config_.max_clusters_per_project, config_.max_nodes_per_project};
  api_options.role = [this] { return role(); };
  if (etcd_contact_) {
    api_options.stale_since = [contact = etcd_contact_] { return contact->staleSince(); };
  }
  if (!config_.policy_file.empty()) {
    ASSIGN_OR_RETURN(api_options.magnum_policy,
                     server::magnum::Policy::loadFile(config_.policy_file));
    LOG_INFO("magnumd", "Magnum API policy: defaults overridden by {}", config_.policy_file);
  }
  if (keystone && (config_.keystone_auth || config_.dev)) {
    keystone_validator_ = std::move(keystone);
    server::KeystoneAuthOptions keystone_options;
    keystone_options.cache_ttl = config_.keystone_cache_ttl;
    keystone_options.cache_size = config_.keystone_cache_size;
    api_options.keystone = std::make_shared<server::KeystoneAuthenticator>(
        *keystone_validator_, clock_, keystone_options, &metrics_);
    LOG_INFO("magnumd", "accepting Keystone tokens (X-Auth-Token), cached for at most {}s",
             keystone_options.cache_ttl.count());
  } else if (config_.keystone_auth) {
    return makeError(ErrorCode::BadRequest,
                     "--keystone-auth needs the cloud whose Keystone validates the tokens: "
                     "--os-cloud (or OS_CLOUD / OS_AUTH_URL), and not --no-controllers");
  }
  controller::EventRecorderOptions event_options;
  event_options.component = "magnumd-api";
  api_events_ = std::make_unique<controller::StoreEventRecorder>(*store_, event_options, clock_);
  api_options.on_credential_issued = [events = api_events_.get()](
                                         const api::Object& cluster,
                                         const server::IssuedCredential& issued) {
    // No serial or expiry in the message: repeated identical issuances merge into one Event.
    events->normal(cluster, "CertificateIssued", "issued a client certificate {} to user {} ({})",
                   issued.subject, issued.caller, issued.endpoint);
  };
  if (!api_write_observers_.empty()) {
    api_options.on_write = [observers = api_write_observers_](
                               const server::Identity& who, server::Verb verb,
                               const api::Object* before, const api::Object& after) {
      for (const auto& observer : observers) observer(who, verb, before, after);
    };
  }
  api_ = std::make_unique<server::ApiServer>(*store_, std::move(authenticator), metrics_, api_options);
  unsigned threads = config_.io_threads > 0 ? config_.io_threads
                                            : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, kMaxIoThreads);
  options.session_contexts.push_back(io_.get());
  for (unsigned i = 1; i < threads; ++i) {
    auto& context = session_ios_.emplace_back(std::make_unique<IoContext>());
    session_work_.push_back(asio::make_work_guard(*context));
    options.session_contexts.push_back(context.get());
  }
  http_ = std::make_unique<net::HttpServer>(*io_, options, api_->handler(),
                                            &server::ApiServer::transportError);
  RETURN_IF_ERROR(http_->start());
  RETURN_IF_ERROR(createElector(http_->port()));
  RETURN_IF_ERROR(writeDevClientConfig(http_->port()));
  threads_.emplace_back([this] { io_->run(); });
  for (auto& context : session_ios_) threads_.emplace_back([&context] { context->run(); });
  api_->setReady(true);
  LOG_INFO("magnumd", "serving the API on {}://{}:{} with {} I/O thread(s), at most {} connections",
           options.tls ? "https" : "http", options.address, http_->port(), threads,
           options.max_connections);
  return {};
}

namespace {

constexpr auto kTrimInterval = std::chrono::seconds(30);

// Each connection and watch is a descriptor; the default soft limit (1024) is too low for a
// server that promises thousands of watchers.
void raiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

util::Status Daemon::start() {
  RETURN_IF_ERROR(validateConfig(config_));
  raiseFileLimit();
  // By default glibc hands a thread's free top-of-heap pages back to the kernel (madvise, and a
  // TLB flush on every core) as soon as 128 KiB is free there, so a request that frees a 64 KiB
  // RapidJSON pool paid that on every create: 14 % of magnumd's CPU with 64 writers (perf).
  // waitForSignal() trims every 30 s instead. Fixing the thresholds stops glibc's own
  // adjustment, so set both where that adjustment tops out (mmap 16 MiB, trim 32 MiB).
  ::mallopt(M_MMAP_THRESHOLD, 16 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 32 << 20);
  util::LogLevel level;
  util::parseLogLevel(config_.log_level, level);
  util::setLogLevel(level);
  RETURN_IF_ERROR(prepareDataDir());
  RETURN_IF_ERROR(prepareDevTls());
  ASSIGN_OR_RETURN(auto authenticator, loadAuthenticator());
  RETURN_IF_ERROR(openStore());
  RETURN_IF_ERROR(openSecrets());
  io_ = std::make_unique<IoContext>();
  services_.reset(new Services{config_, *store_, *io_, metrics_, *secrets_, heartbeat_, nullptr,
                               api_write_observers_});
  Services& services = *services_;
  for (auto& component : components_) {
    auto status = component->start(services);
    if (!status.ok()) {
      auto error = status.takeError();
      error.message = fmt::format("{}: {}", component->name(), error.message);
      return error;
    }
    ++started_components_;
  }
  RETURN_IF_ERROR(
      startApi(std::move(authenticator), std::move(services.keystone), services.cloud_lookups));
  startElection();
  return {};
}


void Daemon::requestStop() {
  std::lock_guard lock(mutex_);
  stop_ = true;
  stop_requested_.notify_all();
}

void Daemon::onSignal(const boost::system::error_code& ec, int number) {
  if (ec) return;
  // A second signal during the drain means "now": exit without waiting.
  if (signals_.fetch_add(1) > 0) {
    LOG_WARN("magnumd", "second signal {}: exiting immediately", number);
    std::_Exit(130);
  }
  LOG_INFO("magnumd", "signal {}: shutting down", number);
  requestStop();
  signal_set_->async_wait([this](const boost::system::error_code& e, int n) { onSignal(e, n); });
}

void Daemon::waitForSignal() {
  signal_set_ = std::make_unique<asio::signal_set>(*io_, SIGINT, SIGTERM);
  signal_set_->async_wait([this](const boost::system::error_code& e, int n) { onSignal(e, n); });
  std::unique_lock lock(mutex_);
  while (!stop_requested_.wait_for(lock, kTrimInterval, [this] { return stop_; })) {
    lock.unlock();
    // glibc keeps memory freed by a thread in that thread's arena. After a burst (a mass
    // create, a large list) that is tens of MB the process no longer uses; give the free pages
    // back so RSS follows the live heap.
    ::malloc_trim(0);
    lock.lock();
  }
}

void Daemon::runUntilStopped() {
  if (io_ == nullptr) return;
  waitForSignal();
  shutdown();
}

void Daemon::shutdown() {
  if (api_) {
    api_->setReady(false);
    http_->stop();
    api_->shutdown();
    auto deadline = std::chrono::steady_clock::now() + config_.shutdown_timeout;
    while (http_->openConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (http_->openConnections() > 0) {
      LOG_WARN("magnumd", "{} connection(s) still open after {} ms; closing them",
               http_->openConnections(), config_.shutdown_timeout.count());
    }
  }
  // From here on leading() is false: the controllers' cloud actions are refused while they stop,
  // and only then is the leadership handed over.
  if (elector_) elector_->stop();
  if (service_reports_) service_reports_->stop();  // the others show this replica down soon
  while (started_components_ > 0) components_[--started_components_]->stop();
  if (elector_) elector_->resign();
  if (api_events_) api_events_->stop(std::chrono::seconds(1));
  if (io_) io_->stop();
  session_work_.clear();
  for (auto& context : session_ios_) context->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // No coroutine runs any more, so no write can be submitted; the store answers those in flight
  // now, while the context their answers are posted to still exists.
  if (store_) store_->flush();
  if (api_) api_->finishOffloadedWork();
  http_.reset();
  signal_set_.reset();
  // Suspended coroutines (watch streams, the observer, cloud calls) are destroyed first, while
  // the API and the components they point into still exist; then those components, whose
  // sockets and timers still need the context's services; then the context.
  if (io_) io_->shutdownServices();
  for (auto& context : session_ios_) context->shutdownServices();
  api_.reset();
  api_events_.reset();
  components_.clear();
  leader_store_.reset();
  services_.reset();
  session_ios_.clear();
  io_.reset();
  secrets_.reset();
  if (store_) {
    store_.reset();
    LOG_INFO("magnumd", "store closed");
  }
}

}  // namespace magnumd::cmd
