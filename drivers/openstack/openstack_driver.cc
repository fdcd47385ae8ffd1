#include "drivers/openstack/openstack_driver.h"

#include <fmt/format.h>


namespace magnumd::drivers::openstack {

using util::ErrorCode;
using util::makeError;

util::Result<std::unique_ptr<OpenStackDriver>> OpenStackDriver::fromCloud(
    boost::asio::any_io_executor executor, std::string_view cloud_name,
    OpenStackDriverOptions options, const ConfigEnvironment& env) {
  ASSIGN_OR_RETURN(CloudConfig config, loadCloudConfig(cloud_name, env));
  return create(std::move(executor), std::move(config), std::move(options));
}

util::Result<std::unique_ptr<OpenStackDriver>> OpenStackDriver::create(
    boost::asio::any_io_executor executor, CloudConfig config, OpenStackDriverOptions options) {
  RETURN_IF_ERROR(validateCloudConfig(config));
  options.http.tls.ca_file = config.cacert;
  options.http.tls.insecure = config.insecure;
  options.http.tls.failure_hint = "check the CA bundle: cacert / OS_CACERT";
  if (!options.http.clock) options.http.clock = options.clock;
  ASSIGN_OR_RETURN(auto http, http::HttpClient::create(std::move(executor), options.http));
  http::HttpClient& shared = *http;
  return std::unique_ptr<OpenStackDriver>(
      new OpenStackDriver(std::move(http), shared, std::move(config), std::move(options)));
}

util::Result<std::unique_ptr<OpenStackDriver>> OpenStackDriver::scopedTo(
    const std::string& project_id) const {
  CloudConfig config = session_->config();
  if (config.isApplicationCredential()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("cloud \"{}\" authenticates with an application credential, which "
                                 "is bound to its own project: magnumd cannot act in project {}",
                                 config.name, project_id));
  }
  config.project_id = project_id;
  config.project_name.clear();
  config.project_domain_id.clear();
  config.project_domain_name.clear();
  return std::unique_ptr<OpenStackDriver>(
      new OpenStackDriver(nullptr, *http_, std::move(config), options_));
}

OpenStackDriver::OpenStackDriver(std::unique_ptr<http::HttpClient> owned_http,
                                 http::HttpClient& http, CloudConfig config,
                                 OpenStackDriverOptions options)
    : options_(std::move(options)),
      owned_http_(std::move(owned_http)),
      http_(&http),
      session_(std::make_unique<Session>(*http_, std::move(config),
                                         options_.clock ? *options_.clock : real_clock_,
                                         options_.session)),
      heat_(*session_, options_.heat),
      nova_(*session_, options_.nova),
      glance_(*session_) {}

Task<std::string> OpenStackDriver::projectId() { return session_->projectId(); }

Task<StackRef> OpenStackDriver::createStack(StackCreate request) { return heat_.create(std::move(request)); }

StatusTask OpenStackDriver::patchStack(StackRef stack, StackPatch patch) {
  return heat_.patch(std::move(stack), std::move(patch));
}

StatusTask OpenStackDriver::deleteStack(StackRef stack) { return heat_.remove(std::move(stack)); }

Task<std::vector<Stack>> OpenStackDriver::listStacks(StackFilter filter) {
  return heat_.list(std::move(filter));
}

Task<Page<Stack>> OpenStackDriver::listStacksPage(StackFilter filter, PageRequest page) {
  return heat_.listPage(std::move(filter), std::move(page));
}

Task<Stack> OpenStackDriver::getStack(StackRef stack, bool resolve_outputs) {
  return heat_.get(std::move(stack), resolve_outputs);
}

Task<std::vector<StackResource>> OpenStackDriver::listResources(StackRef stack, int nested_depth) {
  return heat_.resources(std::move(stack), nested_depth);
}

Task<std::vector<StackEvent>> OpenStackDriver::listEvents(StackRef stack, int nested_depth) {
  return heat_.events(std::move(stack), EventQuery{nested_depth, "", "", 1000});
}

Task<std::string> OpenStackDriver::explainFailure(StackRef ref) {
  CO_ASSIGN_OR_RETURN(auto stack, co_await heat_.get(ref, false));
  if (ref.name.empty() || ref.id.empty()) ref = stack.ref;
  CO_ASSIGN_OR_RETURN(auto resources, co_await heat_.resources(ref, options_.nested_depth));
  // A named local, not a braced temporary inside co_await: GCC 12 destroys such temporaries
  // twice (free(): invalid pointer on every failed stack).
  EventQuery failed_only{options_.nested_depth, "FAILED", "", 200};
  auto events = co_await heat_.events(ref, std::move(failed_only));
  // Events only refine the reason; a stack without them is still explained.
  std::vector<StackEvent> failed;
  if (events.ok()) failed = std::move(events.value());
  co_return describeStackFailure(stack, resources, failed);
}

StatusTask OpenStackDriver::markUnhealthy(StackRef stack, std::string resource, std::string reason) {
  CO_ASSIGN_OR_RETURN(auto resources, co_await heat_.resources(stack, options_.nested_depth));
  const StackResource* by_id = nullptr;
  std::vector<const StackResource*> by_name;
  for (const auto& r : resources) {
    if (!r.physical_id.empty() && r.physical_id == resource) by_id = &r;
    if (r.name == resource) by_name.push_back(&r);
  }
  const StackResource* target = by_id;
  if (target == nullptr && by_name.size() > 1) {
    co_return makeError(ErrorCode::Conflict,
                        fmt::format("resource name \"{}\" is ambiguous in stack \"{}\" ({} matches); "
                                    "pass the physical id",
                                    resource, stack.name, by_name.size()));
  }
  if (target == nullptr && by_name.size() == 1) target = by_name.front();
  if (target == nullptr) {
    co_return makeError(ErrorCode::NotFound,
                        fmt::format("stack \"{}\" has no resource named or with physical id \"{}\"",
                                    stack.name, resource));
  }
  co_return co_await heat_.markUnhealthy(target->stack, target->name, true, std::move(reason));
}

Task<std::vector<Server>> OpenStackDriver::listServers(ServerQuery query) {
  return nova_.list(std::move(query));
}

Task<Page<Server>> OpenStackDriver::listServersPage(ServerQuery query, PageRequest page) {
  return nova_.listPage(std::move(query), std::move(page));
}

Task<Server> OpenStackDriver::getServer(std::string id) { return nova_.get(std::move(id)); }

StatusTask OpenStackDriver::deleteServer(std::string id) { return nova_.remove(std::move(id)); }

Task<Image> OpenStackDriver::findImage(std::string name_or_id) {
  return glance_.find(std::move(name_or_id));
}

Task<Flavor> OpenStackDriver::findFlavor(std::string name_or_id) {
  return nova_.findFlavor(std::move(name_or_id));
}

Task<Keypair> OpenStackDriver::findKeypair(std::string name) {
  return nova_.findKeypair(std::move(name));
}

}  // namespace magnumd::drivers::openstack
