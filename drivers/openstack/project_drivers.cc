#include "drivers/openstack/project_drivers.h"

#include <fmt/format.h>

#include <algorithm>

namespace magnumd::drivers::openstack {

using util::ErrorCode;
using util::makeError;

bool looksLikeProjectId(std::string_view ns) {
  return ns.size() == 32 && std::all_of(ns.begin(), ns.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

KeystoneProjectDrivers::KeystoneProjectDrivers(OpenStackDriver& service, const util::Clock& clock,
                                               KeystoneProjectsOptions options)
    : service_(service), clock_(clock), options_(options) {}

uint64_t KeystoneProjectDrivers::listings() const {
  std::lock_guard lock(mutex_);
  return listings_;
}

std::string KeystoneProjectDrivers::serviceUser() const {
  const auto& c = service_.session().config();
  return c.username.empty() ? c.user_id : c.username;
}

util::Result<std::string> KeystoneProjectDrivers::find(const std::string& ns) const {
  for (const auto& p : projects_) {
    if (p.id == ns && p.enabled) return p.id;
  }
  std::vector<const ProjectRef*> named;
  for (const auto& p : projects_) {
    if (p.name == ns && p.enabled) named.push_back(&p);
  }
  if (named.size() > 1) {
    return makeError(ErrorCode::Forbidden,
                     fmt::format("namespace \"{}\" names {} projects (in different domains); "
                                 "use the project's id as the namespace",
                                 ns, named.size()));
  }
  return named.empty() ? std::string() : named.front()->id;
}

Task<std::string> KeystoneProjectDrivers::projectOf(std::string ns) {
  bool relist = false;
  {
    std::lock_guard lock(mutex_);
    CO_ASSIGN_OR_RETURN(auto found, find(ns));
    if (!found.empty()) co_return found;
    const auto after = looksLikeProjectId(ns) ? options_.relist_id_after : options_.relist_after;
    relist = !listed_at_ || clock_.now() - *listed_at_ >= after;
  }
  if (relist) {
    // A project added (or a role granted) since the last listing is found on its first use.
    CO_RETURN_IF_ERROR(co_await this->relist());
    std::lock_guard lock(mutex_);
    CO_ASSIGN_OR_RETURN(auto found, find(ns));
    if (!found.empty()) co_return found;
  }
  if (looksLikeProjectId(ns)) {
    co_return makeError(
        ErrorCode::Forbidden,
        fmt::format("namespace {} is a Keystone project id, but magnumd's service user \"{}\" has "
                    "no role on that project, so it cannot create stacks there; an operator "
                    "grants one with `openstack role add --project {} --user {} member`",
                    ns, serviceUser(), ns, serviceUser()));
  }
  co_return std::string();
}

boost::asio::awaitable<util::Status> KeystoneProjectDrivers::relist() {
  auto listed = co_await service_.session().availableProjects();
  if (!listed.ok()) {
    auto error = listed.takeError();
    error.code = ErrorCode::Unavailable;
    co_return error;
  }
  std::lock_guard lock(mutex_);
  projects_ = std::move(*listed);
  listed_at_ = clock_.now();
  listings_++;
  co_return util::Status{};
}

Task<std::vector<std::string>> KeystoneProjectDrivers::projects() {
  CO_RETURN_IF_ERROR(co_await relist());
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& p : projects_) {
    if (p.enabled) ids.push_back(p.id);
  }
  co_return ids;
}

util::Result<CloudDriverPtr> KeystoneProjectDrivers::open(const std::string& project_id) {
  ASSIGN_OR_RETURN(auto driver, service_.scopedTo(project_id));
  return CloudDriverPtr(std::move(driver));
}

Task<ProjectLookup> KeystoneProjectLookups::forNamespace(std::string ns) {
  CO_ASSIGN_OR_RETURN(auto project, co_await projects_.projectOf(std::move(ns)));
  if (project.empty()) co_return ProjectLookup{"", &service_};
  std::lock_guard lock(mutex_);
  auto& driver = drivers_[project];
  if (!driver) {
    auto scoped = service_.scopedTo(project);
    if (!scoped.ok()) {
      drivers_.erase(project);
      co_return scoped.takeError();
    }
    driver = std::move(*scoped);
  }
  co_return ProjectLookup{project, driver.get()};
}

}  // namespace magnumd::drivers::openstack
