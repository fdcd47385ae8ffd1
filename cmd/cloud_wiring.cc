#include "cmd/cloud_wiring.h"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <optional>
#include <thread>

#include "api/admission.h"
#include "cloudsim/cloudsim.h"
#include "cmd/cloud_projects.h"
#include "controller/manager.h"
#include "drivers/http/http_client.h"
#include "drivers/kube/kube_client.h"
#include "drivers/openstack/openstack_driver.h"
#include "reconcilers/cloud_call.h"
#include "reconcilers/cloud_observer.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/control_plane_observer.h"
#include "reconcilers/counting_cloud_driver.h"
#include "reconcilers/garbage_collector.h"
#include "reconcilers/leader_checked_cloud_driver.h"
#include "reconcilers/names.h"
#include "reconcilers/nodegroup_reconciler.h"
#include "util/file.h"
#include "util/log.h"
#include "util/time.h"

namespace magnumd::cmd {

namespace {

using namespace std::chrono_literals;
using reconcilers::kByCluster;
using reconcilers::kByTemplate;
using reconcilers::kByUid;

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// The --dev simulator on its own io_context and thread. The simulator handles each request under
// its one lock; on magnumd's I/O threads that lock would stall the API behind slow simulated
// requests, so the simulator gets a thread of its own.
class EmbeddedCloudsim {
 public:
  static util::Result<std::unique_ptr<EmbeddedCloudsim>> start(cloudsim::Options options) {
    std::unique_ptr<EmbeddedCloudsim> embedded(new EmbeddedCloudsim());
    ASSIGN_OR_RETURN(embedded->sim_, cloudsim::Cloudsim::start(embedded->io_, std::move(options)));
    embedded->thread_ = std::thread([io = &embedded->io_] { io->run(); });
    return embedded;
  }

  // The daemon's shutdown order, on the simulator's own context: stop serving, stop the thread,
  // destroy what is suspended on the context, then the simulator, then the context.
  ~EmbeddedCloudsim() {
    if (sim_) sim_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    io_.shutdownServices();
    sim_.reset();
  }

  cloudsim::Cloudsim& sim() { return *sim_; }

 private:
  EmbeddedCloudsim() : work_(io_.get_executor()) {}

  class IoContext : public boost::asio::io_context {
   public:
    void shutdownServices() { shutdown(); }
  };
  IoContext io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<cloudsim::Cloudsim> sim_;
  std::thread thread_;
};

class CloudComponent final : public Component {
 public:
  explicit CloudComponent(CloudOptions options) : options_(std::move(options)) {}
  std::string_view name() const override { return "controllers"; }

  util::Status start(Services& services) override {
    if (!options_.enabled) return {};
    auto driver = openDriver(services);
    if (!driver.ok()) return driver.takeError();
    if (!*driver) return {};  // no cloud configured: API only
    driver_ = std::move(*driver);
    projects_ = std::make_unique<ProjectWiring>(*openstack_, clock_);
    projects_->start(services);
    // Before the API serves (it reads the interval unguarded); `running` says whether this
    // replica's controllers report.
    services.heartbeat.report_interval = millis(options_.sync_interval_seconds);
    return {};
  }

  // The controllers, on the elected replica only: their store writes are fenced by the term,
  // and their cloud actions check the leadership right before they are sent.
  util::Status lead(Services& services, const Leadership& leadership) override {
    if (!driver_) return {};
    store::Store& store = leadership.store;
    leader_secrets_ = std::make_unique<secrets::ClusterSecretStore>(
        store, services.secrets.kek(), clock_, services.secrets.options());
    checked_ = std::make_unique<reconcilers::LeaderCheckedCloudDriver>(*driver_, leadership.leading);
    counting_ = std::make_unique<reconcilers::CountingCloudDriver>(*checked_, &services.metrics);
    call_ = std::make_unique<reconcilers::CloudCall>(services.io, *counting_);

    auto& m = services.metrics;
    auto& periods = m.counter("magnumd_observer_periods_total", "Observer sync periods by result.", {"result"});
    auto& duration = m.histogram("magnumd_observer_period_seconds", "Duration of observer sync periods.");
    auto& known = m.gauge("magnumd_observer_objects", "Magnumd stacks and servers the observer knows.", {"kind"});
    reconcilers::ObserverOptions observer_options;
    observer_options.sync_interval = millis(options_.sync_interval_seconds);
    observer_options.sweep_pages_per_period = options_.sweep_pages;
    services.heartbeat.running = true;
    // Every project's observer reports here; the gauges show the sum over projects.
    observer_options.on_period = [this, &periods, &duration, &known,
                                  &heartbeat = services.heartbeat](
                                     const reconcilers::ObserverStats& one, bool ok,
                                     std::chrono::steady_clock::duration took) {
      periods.with({ok ? "ok" : "error"}).inc();
      if (ok) heartbeat.beat();  // a period that reached the cloud, as a conductor's report
      duration.with({}).observe(std::chrono::duration<double>(took).count());
      const auto* pool = projects_->pool();
      const auto s = pool ? pool->totalStats() : one;
      known.with({"stack"}).set(static_cast<double>(s.stacks));
      known.with({"server"}).set(static_cast<double>(s.servers));
    };
    auto on_change = [this](const std::string& uid) { onCloudChange(uid); };
    observer_ =
        std::make_unique<reconcilers::CloudObserver>(*counting_, observer_options, on_change);
    clouds_ = &projects_->lead(services, *call_, *observer_, *counting_, observer_options,
                               on_change, leadership.leading);

    RETURN_IF_ERROR(startControlPlaneObserver(services));

    controller::ManagerOptions manager_options;
    manager_ = std::make_unique<controller::Manager>(store, manager_options, clock_, services.metrics);
    wireControllers(services, store);
    RETURN_IF_ERROR(manager_->start());
    gc_->queue().add(reconcilers::garbageCollectorKey());
    boost::asio::co_spawn(services.io, observer_->run(), boost::asio::detached);
    boost::asio::co_spawn(services.io, control_plane_->run(), boost::asio::detached);
    LOG_INFO("controllers", "leading (term {}): reconciling with {} workers, sync every {}s, orphan grace {}s",
             leadership.term, options_.workers, options_.sync_interval_seconds, options_.orphan_grace_seconds);
    return {};
  }

  void stop() override {
    if (observer_) observer_->stop();
    if (projects_) projects_->stop();
    if (control_plane_) control_plane_->stop();
    if (manager_) manager_->stop();
    sim_.reset();  // after the controllers: nothing calls it any more
  }

 private:
  // nullptr (and no error) when neither --dev nor a cloud is configured.
  util::Result<std::unique_ptr<drivers::openstack::OpenStackDriver>> openDriver(
      Services& services) {
    drivers::openstack::CloudConfig config;
    if (services.config.dev && options_.os_cloud.empty()) {
      cloudsim::Options sim_options;
      sim_options.port = options_.dev_cloud_port;
      sim_options.sim.server_build = millis(options_.dev_server_build_seconds);
      // The catalog lists magnumd's Magnum API as Magnum's endpoint (container-infra, .../v1), so
      // `openstack coe` with a password login finds it by itself.
      if (auto listen = parseListen(services.config.listen); listen.ok() && listen->port != 0) {
        std::string host = listen->host.empty() ? "127.0.0.1" : listen->host;
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        sim_options.sim.extra_services.push_back(
            {"container-infra", "magnum",
             fmt::format("{}://{}:{}/v1", services.config.tls_cert.empty() ? "http" : "https", host,
                         listen->port)});
      }
      auto sim = EmbeddedCloudsim::start(sim_options);
      if (!sim.ok()) {
        return util::makeError(sim.error().code, "cannot start the embedded cloudsim: " + sim.error().message);
      }
      sim_ = std::move(*sim);
      const auto yaml = sim_->sim().cloudsYaml("magnumd-dev");
      const auto path = (std::filesystem::path(services.config.data_dir) / "clouds.yaml").string();
      RETURN_IF_ERROR(util::writeSecretFile(path, yaml));
      auto parsed = drivers::openstack::cloudConfigFromYaml("magnumd-dev", yaml, "", path);
      if (!parsed.ok()) return parsed.takeError();
      config = std::move(*parsed);
      fmt::print(
          "magnumd --dev: embedded OpenStack simulator (cloudsim) at {}\n"
          "  openstack CLI:  OS_CLIENT_CONFIG_FILE={} openstack --os-cloud magnumd-dev server "
          "list\n"
          "  fault injection and call counts: {}/sim/v1/\n",
          sim_->sim().url(), std::filesystem::absolute(path).string(), sim_->sim().url());
      std::fflush(stdout);
    } else {
      auto env = drivers::openstack::ConfigEnvironment::fromProcess();
      if (options_.os_cloud.empty() && env.get("OS_CLOUD").empty() && env.get("OS_AUTH_URL").empty()) {
        LOG_WARN("controllers", "no cloud configured (--os-cloud, OS_CLOUD or OS_AUTH_URL): serving the "
                                "API only, nothing is reconciled");
        return std::unique_ptr<drivers::openstack::OpenStackDriver>();
      }
      auto loaded = drivers::openstack::loadCloudConfig(options_.os_cloud, env);
      if (!loaded.ok()) return loaded.takeError();
      config = std::move(*loaded);
    }
    auto driver = drivers::openstack::OpenStackDriver::create(services.io.get_executor(), std::move(config));
    if (!driver.ok()) return driver.takeError();
    openstack_ = driver->get();
    return std::move(*driver);
  }

  // Each Kubernetes cluster's own API, through one outbound HTTP client with short deadlines and
  // no retries (the next probe is the retry), as magnumd with a client certificate per cluster.
  util::Status startControlPlaneObserver(Services& services) {
    const auto interval = millis(options_.api_probe_interval_seconds);
    drivers::http::HttpClientOptions http_options;
    http_options.connect_timeout = std::chrono::milliseconds(3000);
    http_options.request_timeout = std::chrono::milliseconds(5000);
    http_options.retry.max_attempts = 1;
    http_options.max_connections_per_host = 2;
    http_options.max_idle_per_host = 1;
    http_options.idle_keepalive = std::max(interval * 3, std::chrono::milliseconds(30s));
    http_options.log_failures = false;  // the observer logs reachability changes, once each
    auto http = drivers::http::HttpClient::create(services.io.get_executor(), http_options);
    if (!http.ok()) return http.takeError();
    kube_http_ = std::move(*http);
    kube_ = std::make_unique<drivers::kube::KubeClient>(*kube_http_);

    auto& probes = services.metrics.counter("magnumd_cluster_api_probes_total",
                                            "Probes of cluster APIs by outcome.", {"result"});
    auto& latency = services.metrics.histogram(
        "magnumd_cluster_api_probe_seconds",
        "Duration of one probe of a cluster API (version, readiness, nodes).");
    reconcilers::ControlPlaneObserverOptions options;
    options.interval = interval;
    options.max_concurrent = static_cast<size_t>(options_.api_probes);
    options.on_probe = [&probes, &latency](const drivers::kube::ApiObservation& o,
                                           std::chrono::steady_clock::duration took) {
      std::string result = o.reachable && o.nodes_listed
                               ? "ok"
                               : std::string(drivers::kube::apiFailureName(o.failure));
      probes.with({result}).inc();
      latency.with({}).observe(std::chrono::duration<double>(took).count());
    };
    control_plane_ = std::make_unique<reconcilers::ControlPlaneObserver>(
        *kube_, clock_, options, [this](const std::string& uid) { onApiChange(uid); });
    return {};
  }

  void wireControllers(Services& services, store::Store& store) {
    auto& clusters = manager_->informer(api::Kind::Cluster);
    auto& nodegroups = manager_->informer(api::Kind::NodeGroup);
    auto& templates = manager_->informer(api::Kind::ClusterTemplate);
    clusters.addIndex(std::string(kByUid), [](const api::Object& o) {
      return std::vector<std::string>{o.metadata.uid};
    });
    clusters.addIndex(std::string(kByTemplate), [](const api::Object& o) {
      auto ref = api::templateRefOf(o.spec, o.metadata.namespace_);
      return std::vector<std::string>{controller::namespacedName(ref.namespace_, ref.name)};
    });
    nodegroups.addIndex(std::string(kByCluster), [](const api::Object& o) {
      return std::vector<std::string>{
          controller::namespacedName(o.metadata.namespace_, api::clusterOfNodeGroup(o.spec))};
    });

    reconcilers::ClusterReconcilerOptions cluster_options;
    cluster_options.failed_retry = millis(options_.failed_retry_seconds);
    if (auto renew = util::parseDuration(options_.renew_before); renew.ok()) {
      cluster_options.renew_before = std::chrono::duration_cast<std::chrono::seconds>(*renew);
    }
    cluster_options.in_flight_requeue = std::max(millis(options_.sync_interval_seconds) * 3, std::chrono::milliseconds(5s));
    auto& events = manager_->eventRecorder();
    cluster_ = &manager_->addController(
        {"cluster", options_.workers, {}},
        std::make_unique<reconcilers::ClusterReconciler>(
            reconcilers::ClusterDeps{
                store, nodegroups, *clouds_, events, clock_, leader_secrets_.get(),
                control_plane_.get(),
                &services.metrics.counter("magnumd_remediations_total",
                                          "Unhealthy nodes magnumd replaced (auto-heal), by why "
                                          "they were unhealthy",
                                          {"reason"})},
            cluster_options));
    nodegroup_ = &manager_->addController(
        {"nodegroup", std::max(1, options_.workers / 2), {}},
        std::make_unique<reconcilers::NodeGroupReconciler>(
            reconcilers::NodeGroupDeps{store, *clouds_, events, clock_}));
    reconcilers::GarbageCollectorOptions gc_options;
    gc_options.grace = millis(options_.orphan_grace_seconds);
    gc_options.period = std::max(millis(options_.sync_interval_seconds), std::chrono::milliseconds(1s));
    gc_ = &manager_->addController({"garbage-collector", 1, {}},
                                   std::make_unique<reconcilers::GarbageCollector>(
                                       store, clusters, *clouds_, clock_, gc_options));

    const auto changed = controller::specOrMetadataChanged;
    cluster_->watch(clusters, changed);
    cluster_->watchMapped(nodegroups, [](const api::Object& ng) {
      return std::vector<controller::Request>{
          {api::Kind::Cluster, ng.metadata.namespace_, api::clusterOfNodeGroup(ng.spec)}};
    }, changed);
    cluster_->watchMapped(templates, [&clusters](const api::Object& t) {
      std::vector<controller::Request> out;
      for (const auto& c : clusters.byIndex(kByTemplate, controller::namespacedName(t.metadata.namespace_, t.metadata.name))) {
        out.push_back(api::keyOf(*c));
      }
      return out;
    }, changed);
    nodegroup_->watch(nodegroups, changed);
    nodegroup_->watchMapped(clusters, [&nodegroups](const api::Object& c) {
      std::vector<controller::Request> out;
      for (const auto& ng : nodegroups.byIndex(kByCluster, controller::namespacedName(c.metadata.namespace_, c.metadata.name))) {
        out.push_back(api::keyOf(*ng));
      }
      return out;
    }, changed);
    clusters_ = &clusters;
    nodegroups_ = &nodegroups;
  }

  // On the observer's coroutine: name the keys whose observed cloud state changed.
  void onCloudChange(const std::string& uid) {
    auto owners = clusters_->byIndex(kByUid, uid);
    if (owners.empty()) {
      gc_->queue().add(reconcilers::garbageCollectorKey());
      return;
    }
    for (const auto& c : owners) {
      cluster_->queue().add(api::keyOf(*c));
      for (const auto& ng : nodegroups_->byIndex(kByCluster, controller::namespacedName(c->metadata.namespace_, c->metadata.name))) {
        nodegroup_->queue().add(api::keyOf(*ng));
      }
    }
  }

  // On a probe's coroutine: a cluster's API showed something new.
  void onApiChange(const std::string& uid) {
    if (clusters_ == nullptr || cluster_ == nullptr) return;
    for (const auto& c : clusters_->byIndex(kByUid, uid)) cluster_->queue().add(api::keyOf(*c));
  }

  CloudOptions options_;
  util::RealClock clock_;
  std::unique_ptr<EmbeddedCloudsim> sim_;
  std::unique_ptr<drivers::CloudDriver> driver_;
  drivers::openstack::OpenStackDriver* openstack_ = nullptr;  // driver_, for its Keystone session
  std::unique_ptr<secrets::ClusterSecretStore> leader_secrets_;  // writes fenced by the term
  std::unique_ptr<reconcilers::LeaderCheckedCloudDriver> checked_;
  std::unique_ptr<reconcilers::CountingCloudDriver> counting_;
  std::unique_ptr<reconcilers::CloudCall> call_;
  std::unique_ptr<reconcilers::CloudObserver> observer_;
  // Which project each namespace's objects live in; after observer_ and call_, which its
  // per-project pool refers to.
  std::unique_ptr<ProjectWiring> projects_;
  reconcilers::CloudProjects* clouds_ = nullptr;
  std::unique_ptr<drivers::http::HttpClient> kube_http_;
  std::unique_ptr<drivers::kube::KubeClient> kube_;
  std::unique_ptr<reconcilers::ControlPlaneObserver> control_plane_;
  std::unique_ptr<controller::Manager> manager_;
  controller::Controller* cluster_ = nullptr;
  controller::Controller* nodegroup_ = nullptr;
  controller::Controller* gc_ = nullptr;
  controller::Informer* clusters_ = nullptr;
  controller::Informer* nodegroups_ = nullptr;
};

}  // namespace

std::unique_ptr<Component> makeCloudComponent(CloudOptions options) {
  return std::make_unique<CloudComponent>(std::move(options));
}

}  // namespace magnumd::cmd
