// The cloud a namespace's objects live in. Without Keystone projects every namespace shares
// magnumd's own project (OneProject, today's single-project behaviour); with them each project
// gets its own driver, bridge and observer (CloudPool), opened on the first object of a
// namespace that names the project, so the observer's cost stays O(1) calls per period per
// project, never per cluster.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/project_drivers.h"
#include "reconcilers/cloud_call.h"
#include "reconcilers/cloud_observer.h"
#include "reconcilers/counting_cloud_driver.h"
#include "reconcilers/leader_checked_cloud_driver.h"

namespace magnumd::reconcilers {

// One project's cloud as the reconcilers use it.
struct ProjectCloud {
  std::string project;  // the Keystone project id; "" for magnumd's own project
  CloudCall* call = nullptr;
  CloudObserver* observer = nullptr;
};

class CloudProjects {
 public:
  virtual ~CloudProjects() = default;
  // The cloud of the project namespace `ns` maps to. An error (Forbidden naming the fix,
  // Unavailable) is the caller's to report and retry. Blocks on the cloud: worker threads only.
  virtual util::Result<ProjectCloud> forNamespace(const std::string& ns) = 0;
  // Every project cloud opened so far, magnumd's own first.
  virtual std::vector<ProjectCloud> opened() const = 0;
  // Opens the cloud of every project magnumd may act in, named by a namespace or not yet, so
  // each is observed and its orphans collected. Blocks on the cloud: worker threads only.
  virtual util::Status discover() { return {}; }
};

// Every namespace in one project.
class OneProject final : public CloudProjects {
 public:
  OneProject(CloudCall& call, CloudObserver& observer) : cloud_{"", &call, &observer} {}
  util::Result<ProjectCloud> forNamespace(const std::string&) override { return cloud_; }
  std::vector<ProjectCloud> opened() const override { return {cloud_}; }

 private:
  ProjectCloud cloud_;
};

// A cloud per Keystone project. Magnumd's own project (`own_call`, `own_observer`, run by the
// caller) serves the namespaces that name no project; the others are opened on first use and
// their observers run on `io` until stop(). Their calls are counted in the metric family of
// `own_counting`, magnumd's own driver's counter. With `leading` (a replica elected on etcd),
// each project's changes are checked against it right before they are sent, as magnumd's own
// project's are (LeaderCheckedCloudDriver).
class CloudPool final : public CloudProjects {
 public:
  CloudPool(boost::asio::io_context& io, drivers::ProjectDrivers& projects, CloudCall& own_call,
            CloudObserver& own_observer, const CountingCloudDriver& own_counting,
            ObserverOptions observer_options, CloudObserver::ChangeCallback on_change,
            std::function<bool()> leading = {});
  ~CloudPool() override;

  util::Result<ProjectCloud> forNamespace(const std::string& ns) override;
  std::vector<ProjectCloud> opened() const override;
  util::Status discover() override;

  // Stops the observers this pool started (not magnumd's own).
  void stop();
  // The sum over every project's observer (metrics).
  ObserverStats totalStats() const;

 private:
  struct Entry {
    drivers::CloudDriverPtr driver;
    std::unique_ptr<LeaderCheckedCloudDriver> checked;  // with `leading` only
    std::unique_ptr<CountingCloudDriver> counting;
    std::unique_ptr<CloudCall> call;
    std::unique_ptr<CloudObserver> observer;
  };
  util::Result<ProjectCloud> open(const std::string& project);
  util::Result<std::string> ownProject();

  boost::asio::io_context& io_;
  drivers::ProjectDrivers& projects_;
  ProjectCloud own_;
  const ObserverOptions observer_options_;
  const CloudObserver::ChangeCallback on_change_;
  const CountingCloudDriver& own_counting_;
  const std::function<bool()> leading_;

  mutable std::mutex mutex_;
  std::optional<std::string> own_project_;                 // magnumd's own project id, once asked
  std::map<std::string, std::string> namespaces_;          // namespace -> project id ("" = own)
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by project id
  bool stopped_ = false;
};

}  // namespace magnumd::reconcilers
