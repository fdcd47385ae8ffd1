// KeystoneProjectDrivers against cloudsim over real HTTP: which namespaces name a project magnumd's
// service user may act in, drivers scoped to each project whose stacks stay in it, and admission's
// lookups in the namespace's project (KeystoneProjectLookups).
#include "drivers/openstack/project_drivers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "cloudsim/cloudsim.h"
#include "tests/drivers/run_task.h"
#include "util/time.h"

namespace magnumd::drivers::openstack {
namespace {

// magnumd's service user "magnumd" has a role on its own project and on team-a and team-b, none
// on team-c; alice is a member of team-a only.
constexpr char kUsers[] = R"(
projects: [{name: services}, {name: team-a}, {name: team-b}, {name: team-c}]
users:
  - name: magnumd
    password: pw
    projects: [{name: services, roles: [member]}, {name: team-a, roles: [member]},
               {name: team-b, roles: [member]}]
  - name: alice
    password: pw
    project: team-a
    roles: [member]
)";

class ProjectDriversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_file_ = (std::filesystem::temp_directory_path() /
                   ("project-drivers-" + std::to_string(::getpid()) + ".yaml"))
                      .string();
    std::ofstream(users_file_) << kUsers;
    cloudsim::Options options;
    options.users_file = users_file_;
    auto started = cloudsim::Cloudsim::start(sim_io_, options);
    ASSERT_TRUE(started.ok()) << started.error().message;
    sim_ = std::move(*started);
    sim_thread_ = std::thread([this] { sim_io_.run(); });
    service_ = driverFor("magnumd", "services");
    ASSERT_NE(service_, nullptr);
    projects_.emplace(*service_, clock_);
  }
  void TearDown() override {
    projects_.reset();
    service_.reset();
    if (sim_) sim_->stop();
    work_.reset();
    sim_io_.stop();
    if (sim_thread_.joinable()) sim_thread_.join();
    std::filesystem::remove(users_file_);
  }

  std::unique_ptr<OpenStackDriver> driverFor(const std::string& user, const std::string& project) {
    CloudConfig config;
    config.name = "t";
    config.auth_url = sim_->authUrl();
    config.username = user;
    config.password = "pw";
    config.user_domain_name = "Default";
    config.project_name = project;
    config.project_domain_name = "Default";
    auto d = OpenStackDriver::create(io_.get_executor(), config);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return d.ok() ? std::move(*d) : nullptr;
  }
  template <typename T>
  T run(boost::asio::awaitable<T> task) {
    return testing::runTask(io_, std::move(task));
  }
  std::string projectOf(const std::string& ns) {
    auto project = run(projects_->projectOf(ns));
    EXPECT_TRUE(project.ok()) << ns << ": " << project.error().message;
    return project.ok() ? *project : "?";
  }

  std::string users_file_;
  boost::asio::io_context sim_io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      sim_io_.get_executor()};
  std::unique_ptr<cloudsim::Cloudsim> sim_;
  std::thread sim_thread_;
  boost::asio::io_context io_;
  util::RealClock clock_;
  std::unique_ptr<OpenStackDriver> service_;
  std::optional<KeystoneProjectDrivers> projects_;
};

TEST_F(ProjectDriversTest, ANamespaceNamesAProjectByIdOrNameOrNone) {
  auto alice = driverFor("alice", "team-a");
  auto team_a = run(alice->projectId());
  ASSERT_TRUE(team_a.ok()) << team_a.error().message;

  EXPECT_EQ(projectOf("team-a"), *team_a);
  EXPECT_EQ(projectOf(*team_a), *team_a);
  EXPECT_NE(projectOf("team-b"), *team_a);
  EXPECT_EQ(projectOf("default"), "");   // no such project: magnumd's own serves it
  EXPECT_EQ(projectOf("team-c"), "");    // not a project magnumd has a role on, and not an id
  EXPECT_EQ(projects_->listings(), 1u);  // misses within relist_after reuse the listing

  // Every project it has a role on, team-c not among them.
  auto ids = run(projects_->projects());
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(ids->size(), 3u);
  EXPECT_NE(std::find(ids->begin(), ids->end(), *team_a), ids->end());

  auto unknown_id = run(projects_->projectOf("0123456789abcdef0123456789abcdef"));
  ASSERT_FALSE(unknown_id.ok());
  EXPECT_EQ(unknown_id.error().code, util::ErrorCode::Forbidden);
  EXPECT_NE(unknown_id.error().message.find("openstack role add --project "
                                            "0123456789abcdef0123456789abcdef --user magnumd"),
            std::string::npos)
      << unknown_id.error().message;
}

TEST_F(ProjectDriversTest, EachProjectsDriverKeepsItsStacksInThatProject) {
  auto a = projects_->open(projectOf("team-a"));
  auto b = projects_->open(projectOf("team-b"));
  ASSERT_TRUE(a.ok() && b.ok());
  StackCreate create;
  create.name = "in-a";
  create.template_text = "heat_template_version: 2021-04-16\nresources: {}\n";
  create.tags = {"magnumd"};
  auto created = run((*a)->createStack(create));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(*run((*a)->projectId()), projectOf("team-a"));

  auto in_a = run((*a)->listStacks({{"magnumd"}, {}}));
  ASSERT_TRUE(in_a.ok()) << in_a.error().message;
  ASSERT_EQ(in_a->size(), 1u);
  auto in_b = run((*b)->listStacks({{"magnumd"}, {}}));
  ASSERT_TRUE(in_b.ok()) << in_b.error().message;
  EXPECT_TRUE(in_b->empty());
  auto own = run(service_->listStacks({{"magnumd"}, {}}));
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_TRUE(own->empty());
  auto from_b = run((*b)->getStack({"in-a", ""}, false));
  ASSERT_FALSE(from_b.ok());
  EXPECT_EQ(from_b.error().code, util::ErrorCode::NotFound);

  // The project's own members see it: it is theirs, as under Magnum.
  auto alice = driverFor("alice", "team-a");
  auto seen = run(alice->getStack({"in-a", ""}, false));
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->ref.id, created->id);
}

// Admission's lookups: a project's own (one driver per project, kept), magnumd's own for a
// namespace that names none, and the refusal for a project magnumd has no role on.
TEST_F(ProjectDriversTest, LookupsAreThoseOfTheNamespacesProject) {
  KeystoneProjectLookups lookups(*projects_, *service_);
  const std::string team_a = projectOf("team-a");
  auto a = run(lookups.forNamespace(team_a));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->project, team_a);
  ASSERT_NE(a->lookup, nullptr);
  EXPECT_NE(a->lookup, static_cast<CloudLookup*>(service_.get()));
  auto again = run(lookups.forNamespace("team-a"));  // by name: the same project, same driver
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->lookup, a->lookup);
  auto image = run(a->lookup->findImage("fedora-coreos-38"));  // public: every project sees it
  EXPECT_TRUE(image.ok()) << image.error().message;

  auto own = run(lookups.forNamespace("default"));
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->project, "");
  EXPECT_EQ(own->lookup, static_cast<CloudLookup*>(service_.get()));

  auto refused = run(lookups.forNamespace("0123456789abcdef0123456789abcdef"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, util::ErrorCode::Forbidden);
  EXPECT_EQ(lookups.keypairUser(), "magnumd");
}

}  // namespace
}  // namespace magnumd::drivers::openstack
