#include "reconcilers/project_clouds.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "util/log.h"

namespace magnumd::reconcilers {

CloudPool::CloudPool(boost::asio::io_context& io, drivers::ProjectDrivers& projects,
                     CloudCall& own_call, CloudObserver& own_observer,
                     const CountingCloudDriver& own_counting, ObserverOptions observer_options,
                     CloudObserver::ChangeCallback on_change, std::function<bool()> leading)
    : io_(io),
      projects_(projects),
      own_{"", &own_call, &own_observer},
      observer_options_(std::move(observer_options)),
      on_change_(std::move(on_change)),
      own_counting_(own_counting),
      leading_(std::move(leading)) {}

CloudPool::~CloudPool() { stop(); }

void CloudPool::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  for (auto& [_, entry] : entries_) entry->observer->stop();
}

util::Result<std::string> CloudPool::ownProject() {
  {
    std::lock_guard lock(mutex_);
    if (own_project_) return *own_project_;
  }
  ASSIGN_OR_RETURN(auto id, own_.call->run(own_.call->driver().projectId()));
  std::lock_guard lock(mutex_);
  own_project_ = id;
  return id;
}

util::Result<ProjectCloud> CloudPool::forNamespace(const std::string& ns) {
  std::optional<std::string> project;
  {
    std::lock_guard lock(mutex_);
    if (auto it = namespaces_.find(ns); it != namespaces_.end()) project = it->second;
  }
  if (!project) {
    // Once per namespace: a namespace names the same project for the life of the process.
    ASSIGN_OR_RETURN(auto resolved, own_.call->run(projects_.projectOf(ns)));
    if (!resolved.empty()) {
      ASSIGN_OR_RETURN(auto own, ownProject());
      if (resolved == own) resolved.clear();
    }
    std::lock_guard lock(mutex_);
    project = namespaces_.emplace(ns, resolved).first->second;
    if (!project->empty()) {
      LOG_INFO("clouds", "namespace {}: cloud actions in project {}", ns, *project);
    }
  }
  if (project->empty()) return own_;
  return open(*project);
}

util::Result<ProjectCloud> CloudPool::open(const std::string& project) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(project); it != entries_.end()) {
      return ProjectCloud{project, it->second->call.get(), it->second->observer.get()};
    }
  }
  auto entry = std::make_unique<Entry>();
  ASSIGN_OR_RETURN(entry->driver, projects_.open(project));
  drivers::CloudDriver* driver = entry->driver.get();
  if (leading_) {
    entry->checked = std::make_unique<LeaderCheckedCloudDriver>(*driver, leading_);
    driver = entry->checked.get();
  }
  entry->counting = std::make_unique<CountingCloudDriver>(*driver, own_counting_);
  entry->call = std::make_unique<CloudCall>(io_, *entry->counting);
  entry->observer =
      std::make_unique<CloudObserver>(*entry->counting, observer_options_, on_change_);
  std::lock_guard lock(mutex_);
  // Another worker may have opened it meanwhile: theirs stays, this one was never started.
  auto [it, inserted] = entries_.emplace(project, std::move(entry));
  if (inserted) {
    if (stopped_) it->second->observer->stop();
    boost::asio::co_spawn(io_, it->second->observer->run(), boost::asio::detached);
    LOG_INFO("clouds", "observing project {}", project);
  }
  return ProjectCloud{project, it->second->call.get(), it->second->observer.get()};
}

util::Status CloudPool::discover() {
  ASSIGN_OR_RETURN(auto ids, own_.call->run(projects_.projects()));
  ASSIGN_OR_RETURN(auto own, ownProject());
  util::Status first_error;
  for (const auto& id : ids) {
    if (id == own) continue;
    auto opened = open(id);
    if (!opened.ok() && first_error.ok()) first_error = opened.takeError();
  }
  return first_error;
}

std::vector<ProjectCloud> CloudPool::opened() const {
  std::lock_guard lock(mutex_);
  std::vector<ProjectCloud> out{own_};
  for (const auto& [project, entry] : entries_) {
    out.push_back({project, entry->call.get(), entry->observer.get()});
  }
  return out;
}

ObserverStats CloudPool::totalStats() const {
  auto clouds = opened();
  ObserverStats total;
  for (const auto& c : clouds) {
    auto s = c.observer->stats();
    total.periods += s.periods;
    total.full_resyncs += s.full_resyncs;
    total.sweeps += s.sweeps;
    total.errors += s.errors;
    total.stacks += s.stacks;
    total.servers += s.servers;
  }
  return total;
}

}  // namespace magnumd::reconcilers
