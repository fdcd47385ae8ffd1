// The OpenStack driver's lookups against cloudsim over real HTTP: the seeded image, flavors and
// key pair are found as magnumd's admission finds them, and what is missing is NotFound.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>

#include "cloudsim/cloudsim.h"
#include "drivers/openstack/openstack_driver.h"
#include "tests/drivers/run_task.h"

namespace magnumd::drivers::openstack {
namespace {

class LookupCloudsimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cloudsim::Options options;
    options.sim.seed = 3;
    auto started = cloudsim::Cloudsim::start(sim_io, options);
    ASSERT_TRUE(started.ok()) << started.error().message;
    sim = std::move(*started);
    sim_thread = std::thread([this] { sim_io.run(); });
    auto config = cloudConfigFromYaml("t", sim->cloudsYaml("t"), "", "clouds.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    auto d = OpenStackDriver::create(io.get_executor(), *config);
    ASSERT_TRUE(d.ok()) << d.error().message;
    driver = std::move(*d);
  }
  void TearDown() override {
    driver.reset();
    if (sim) sim->stop();
    work.reset();
    sim_io.stop();
    if (sim_thread.joinable()) sim_thread.join();
  }
  template <typename T>
  T run(boost::asio::awaitable<T> task) {
    return testing::runTask(io, std::move(task));
  }

  boost::asio::io_context sim_io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      sim_io.get_executor()};
  std::unique_ptr<cloudsim::Cloudsim> sim;
  std::thread sim_thread;
  boost::asio::io_context io;
  std::unique_ptr<OpenStackDriver> driver;
};

TEST_F(LookupCloudsimTest, FindsTheSeededImageFlavorAndKeypair) {
  auto image = run(driver->findImage("fedora-coreos-38"));
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->os_distro, "fedora-coreos");
  auto by_id = run(driver->findImage(image->id));
  ASSERT_TRUE(by_id.ok()) << by_id.error().message;
  EXPECT_EQ(by_id->name, "fedora-coreos-38");

  auto flavor = run(driver->findFlavor("m1.small"));
  ASSERT_TRUE(flavor.ok()) << flavor.error().message;
  EXPECT_EQ(flavor->id, "2");
  EXPECT_EQ(flavor->ram_mib, 2048);
  auto flavor_by_id = run(driver->findFlavor("3"));
  ASSERT_TRUE(flavor_by_id.ok()) << flavor_by_id.error().message;
  EXPECT_EQ(flavor_by_id->name, "m1.medium");

  auto key = run(driver->findKeypair("demo-key"));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->type, "ssh");
}

TEST_F(LookupCloudsimTest, MissingObjectsAreNotFound) {
  auto expectNotFound = [](const auto& result) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, util::ErrorCode::NotFound) << result.error().message;
  };
  expectNotFound(run(driver->findImage("no-such-image")));
  expectNotFound(run(driver->findImage("00000000-0000-4000-8000-000000000000")));
  expectNotFound(run(driver->findFlavor("m9.giant")));
  expectNotFound(run(driver->findKeypair("no-such-key")));
}

}  // namespace
}  // namespace magnumd::drivers::openstack
