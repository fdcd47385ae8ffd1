#include "cmd/cloud_projects.h"

#include <optional>
#include <string>

#include "server/keystone_auth.h"
#include "util/log.h"

namespace magnumd::cmd {

namespace {

// API users' Keystone tokens, validated with magnumd's own session to the cloud (its service
// token, renewed as the cloud calls renew it).
class SessionTokenValidator final : public server::KeystoneValidator {
 public:
  explicit SessionTokenValidator(drivers::openstack::Session& session) : session_(session) {}

  boost::asio::awaitable<util::Result<std::optional<server::KeystoneToken>>> validate(
      std::string token) override {
    CO_ASSIGN_OR_RETURN(auto found, co_await session_.validateToken(std::move(token)));
    if (!found) co_return std::optional<server::KeystoneToken>();
    co_return std::optional<server::KeystoneToken>(convert(*found));
  }

 private:
  static server::KeystoneToken convert(const drivers::openstack::Token& t) {
    return server::KeystoneToken{t.user_id,      t.user_name, t.project_id,
                                 t.project_name, t.roles,     t.expires_at};
  }
  drivers::openstack::Session& session_;
};

}  // namespace

// On every replica, since the API's admission looks images, flavors and key pairs up in the
// namespace's project (Magnum looks them up as the requesting user).
void ProjectWiring::start(Services& services) {
  services.keystone = std::make_shared<SessionTokenValidator>(openstack_.session());
  const bool keystone = services.config.keystone_auth || services.config.dev;
  const auto& config = openstack_.session().config();
  if (!keystone || config.isApplicationCredential()) {
    if (keystone) {
      LOG_WARN("controllers",
               "magnumd authenticates with an application credential, which is "
               "bound to its own project: every namespace's stacks go there");
    }
    lookups_ = std::make_unique<drivers::OneProjectLookups>(
        openstack_, config.username.empty() ? config.user_id : config.username);
  } else {
    project_drivers_ =
        std::make_unique<drivers::openstack::KeystoneProjectDrivers>(openstack_, clock_);
    lookups_ =
        std::make_unique<drivers::openstack::KeystoneProjectLookups>(*project_drivers_, openstack_);
  }
  services.cloud_lookups = lookups_.get();
}

// The leader's reconcilers act in the projects start() chose: one observer per project.
reconcilers::CloudProjects& ProjectWiring::lead(
    Services& services, reconcilers::CloudCall& call, reconcilers::CloudObserver& observer,
    const reconcilers::CountingCloudDriver& counting,
    const reconcilers::ObserverOptions& observer_options,
    reconcilers::CloudObserver::ChangeCallback on_change, std::function<bool()> leading) {
  if (!project_drivers_) {
    one_project_ = std::make_unique<reconcilers::OneProject>(call, observer);
    return *one_project_;
  }
  pool_ = std::make_unique<reconcilers::CloudPool>(services.io, *project_drivers_, call, observer,
                                                   counting, observer_options, std::move(on_change),
                                                   std::move(leading));
  return *pool_;
}

void ProjectWiring::stop() {
  if (pool_) pool_->stop();
}

}  // namespace magnumd::cmd
