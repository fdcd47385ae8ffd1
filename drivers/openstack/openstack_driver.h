// CloudDriver and CloudLookup over real OpenStack APIs: Keystone session, Heat, Nova and Glance
// clients sharing one HTTP client and one token.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string_view>

#include "drivers/cloud_driver.h"
#include "drivers/cloud_lookup.h"
#include "drivers/http/http_client.h"
#include "drivers/openstack/cloud_config.h"
#include "drivers/openstack/glance.h"
#include "drivers/openstack/heat.h"
#include "drivers/openstack/nova.h"
#include "drivers/openstack/session.h"

namespace magnumd::drivers::openstack {

struct OpenStackDriverOptions {
  http::HttpClientOptions http;  // tls is filled from the cloud's cacert / insecure settings
  SessionOptions session;
  HeatOptions heat;
  NovaOptions nova;
  const util::Clock* clock = nullptr;  // null: the real clock
  int nested_depth = 5;                // how deep explainFailure and markUnhealthy look
};

class OpenStackDriver final : public CloudDriver, public CloudLookup {
 public:
  // The composition root's entry point: cloud_name from --os-cloud ("" = OS_CLOUD, then OS_*).
  static util::Result<std::unique_ptr<OpenStackDriver>> fromCloud(
      boost::asio::any_io_executor executor, std::string_view cloud_name,
      OpenStackDriverOptions options = {},
      const ConfigEnvironment& env = ConfigEnvironment::fromProcess());
  static util::Result<std::unique_ptr<OpenStackDriver>> create(boost::asio::any_io_executor executor,
                                                               CloudConfig config,
                                                               OpenStackDriverOptions options = {});

  Task<std::string> projectId() override;
  Task<StackRef> createStack(StackCreate request) override;
  StatusTask patchStack(StackRef stack, StackPatch patch) override;
  StatusTask deleteStack(StackRef stack) override;
  Task<std::vector<Stack>> listStacks(StackFilter filter) override;
  Task<Page<Stack>> listStacksPage(StackFilter filter, PageRequest page) override;
  Task<Stack> getStack(StackRef stack, bool resolve_outputs) override;
  Task<std::vector<StackResource>> listResources(StackRef stack, int nested_depth) override;
  Task<std::vector<StackEvent>> listEvents(StackRef stack, int nested_depth) override;
  Task<std::string> explainFailure(StackRef stack) override;
  StatusTask markUnhealthy(StackRef stack, std::string resource, std::string reason) override;
  Task<std::vector<Server>> listServers(ServerQuery query) override;
  Task<Page<Server>> listServersPage(ServerQuery query, PageRequest page) override;
  Task<Server> getServer(std::string id) override;
  StatusTask deleteServer(std::string id) override;
  Task<Image> findImage(std::string name_or_id) override;
  Task<Flavor> findFlavor(std::string name_or_id) override;
  Task<Keypair> findKeypair(std::string name) override;

  // The same cloud and user acting in another project: a session whose token is scoped to
  // `project_id`, over this driver's HTTP client (which must outlive it). Application
  // credentials carry their own project and cannot be rescoped (BadRequest).
  util::Result<std::unique_ptr<OpenStackDriver>> scopedTo(const std::string& project_id) const;

  Session& session() { return *session_; }
  http::HttpClient& http() { return *http_; }
  HeatClient& heat() { return heat_; }
  NovaClient& nova() { return nova_; }

 private:
  OpenStackDriver(std::unique_ptr<http::HttpClient> owned_http, http::HttpClient& http,
                  CloudConfig config, OpenStackDriverOptions options);

  OpenStackDriverOptions options_;
  util::RealClock real_clock_;
  std::unique_ptr<http::HttpClient> owned_http_;  // null when sharing another driver's
  http::HttpClient* http_;
  std::unique_ptr<Session> session_;
  HeatClient heat_;
  NovaClient nova_;
  GlanceClient glance_;
};

}  // namespace magnumd::drivers::openstack
