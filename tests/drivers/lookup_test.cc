// The OpenStack driver's lookups (CloudLookup) against the in-process fake: Glance images by id or
// name with their properties, Nova flavors and key pairs, and errors that say what was missing.
// Bodies are the services' api-ref samples (glance api-ref image-show-response.json, nova api-ref
// flavor-get-resp.json and keypairs-get-resp.json), trimmed of links.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "drivers/openstack/openstack_driver.h"
#include "tests/drivers/fake_openstack.h"
#include "tests/drivers/run_task.h"

namespace magnumd::drivers::openstack {
namespace {

using namespace std::chrono_literals;
using testing::FakeOpenStack;
using testing::FakeReply;
using testing::Recorded;
using util::ErrorCode;

constexpr char kImageId[] = "1bea47ed-f6a9-463b-b423-14b9cca9ad27";
constexpr char kImageShow[] = R"({
  "status": "active", "name": "cirros-0.3.2-x86_64-disk", "tags": [],
  "container_format": "bare", "created_at": "2014-05-05T17:15:10Z", "disk_format": "qcow2",
  "updated_at": "2014-05-05T17:15:11Z", "visibility": "public",
  "self": "/v2/images/1bea47ed-f6a9-463b-b423-14b9cca9ad27", "min_disk": 0, "protected": false,
  "id": "1bea47ed-f6a9-463b-b423-14b9cca9ad27",
  "file": "/v2/images/1bea47ed-f6a9-463b-b423-14b9cca9ad27/file",
  "checksum": "64d7c1cd2b6f60c92c14662941cb7913", "os_hash_algo": "sha512",
  "os_hash_value": "073b4523583784fbe01daff81eba092a262ec37ba6d04dd3f52e4cd5c93eb8258af44881345ecda0e49f3d8cc6d2df6b050ff3e72681d723234aff9d17d0cf09",
  "os_hidden": false, "owner": "5ef70662f8b34079a6eddb8da9d75fe8", "size": 13167616,
  "min_ram": 0, "schema": "/v2/schemas/image", "virtual_size": null,
  "os_distro": "fedora-coreos", "hw_rng_model": "virtio"})";

constexpr char kFlavorShow[] = R"({"flavor": {
  "OS-FLV-DISABLED:disabled": false, "disk": 20, "OS-FLV-EXT-DATA:ephemeral": 0,
  "os-flavor-access:is_public": true, "id": "7", "name": "m1.small.description", "ram": 2048,
  "swap": "", "vcpus": 1, "rxtx_factor": 1.0, "description": "test description"}})";

constexpr char kKeypairShow[] = R"({"keypair": {
  "fingerprint": "44:fe:29:6e:23:14:b9:53:5b:65:82:58:1c:fe:5a:c3", "name": "keypair-6638abdb",
  "type": "ssh",
  "public_key": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1HTrHCbb9NawNLSV8N6tSa8i637+EC2dA+lsdHHfQlT54t+N0nHhJPlKWDLhc579j87vp6RDFriFJ/smsTnDnf64O12z0kBaJpJPH2zXrBkZFK6q2rmxydURzX/z0yLSCP77SFJ0fdXWH2hMsAusflGyryHGX20n+mZK6mDrxVzGxEz228dwQ5G7Az5OoZDWygH2pqPvKjkifRw0jwUKf3BbkP0QvANACOk26cv16mNFpFJfI1N3OC5lUsZQtKGR01ptJoWijYKccqhkAKuo902tg/qup58J5kflNm7I61sy1mJon6SGqNUSfoQagqtBH6vd/tU1jnlwZ03uUroAL Generated-by-Nova\n",
  "user_id": "fake", "deleted": false, "created_at": "2014-05-07T12:06:13.681238",
  "updated_at": null, "deleted_at": null, "id": 1}})";

class LookupTest : public ::testing::Test {
 protected:
  LookupTest() {
    CloudConfig c;
    c.name = "test";
    c.source = "test";
    c.auth_url = cloud.authUrl();
    c.user_id = "u-1";
    c.password = "secret";
    c.project_id = "p-1234";
    c.region_name = "RegionOne";
    OpenStackDriverOptions o;
    o.http.retry.base_delay = 1ms;
    o.http.retry.max_attempts = 1;
    auto d = OpenStackDriver::create(io.get_executor(), c, o);
    EXPECT_TRUE(d.ok()) << d.error().message;
    driver = std::move(d.value());
  }
  template <typename T>
  T run(boost::asio::awaitable<T> task) {
    return testing::runTask(io, std::move(task));
  }

  boost::asio::io_context io;
  FakeOpenStack cloud;
  std::unique_ptr<OpenStackDriver> driver;
};

TEST_F(LookupTest, ImageByIdCarriesOsDistroAndProperties) {
  cloud.on("GET", std::string("/image/v2/images/") + kImageId, [](const Recorded&) {
    return FakeReply{200, kImageShow};
  });
  CloudLookup& lookup = *driver;
  auto image = run(lookup.findImage(kImageId));
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->name, "cirros-0.3.2-x86_64-disk");
  EXPECT_EQ(image->status, "active");
  EXPECT_EQ(image->os_distro, "fedora-coreos");
  EXPECT_EQ(image->properties.at("hw_rng_model"), "virtio");
  EXPECT_EQ(cloud.count("GET", "/image/v2/images"), 1) << "found by id: no listing";
}

TEST_F(LookupTest, ImageByNameListsWithTheNameFilter) {
  cloud.on("GET", "/image/v2/images", [](const Recorded& r) {
    if (r.query.find("name=cirros") == std::string::npos)
      return FakeReply{200, R"({"images": []})"};
    return FakeReply{
        200, std::string(R"({"images": [)") + kImageShow + R"(], "schema": "/v2/schemas/images"})"};
  });
  auto image = run(driver->findImage("cirros"));
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->id, kImageId);
  auto missing = run(driver->findImage("fedora-coreos-99"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find("fedora-coreos-99"), std::string::npos);
}

TEST_F(LookupTest, AmbiguousImageNameIsAConflictAndAnOutageIsNotANotFound) {
  cloud.on("GET", "/image/v2/images", [](const Recorded&) {
    return FakeReply{200, std::string(R"({"images": [)") + kImageShow + "," + kImageShow + "]}"};
  });
  auto twice = run(driver->findImage("cirros-0.3.2-x86_64-disk"));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::Conflict);
  cloud.on("GET", "/image/v2/images", [](const Recorded&) {
    return FakeReply{503, "Service Unavailable"};
  });
  auto down = run(driver->findImage("cirros"));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::Unavailable);
}

TEST_F(LookupTest, FlavorByIdThenByName) {
  cloud.on("GET", "/compute/v2.1/flavors/7", [](const Recorded&) {
    return FakeReply{200, kFlavorShow};
  });
  cloud.on("GET", "/compute/v2.1/flavors/m1.small.description", [](const Recorded&) {
    return FakeReply{
        404,
        R"({"itemNotFound": {"code": 404, "message": "Flavor m1.small.description could not be found."}})"};
  });
  cloud.on("GET", "/compute/v2.1/flavors/detail", [](const Recorded&) {
    std::string flavor = std::string(kFlavorShow).substr(11);
    flavor.pop_back();
    return FakeReply{200, R"({"flavors": [)" + flavor + "]}"};
  });
  auto by_id = run(driver->findFlavor("7"));
  ASSERT_TRUE(by_id.ok()) << by_id.error().message;
  EXPECT_EQ(by_id->name, "m1.small.description");
  EXPECT_EQ(by_id->ram_mib, 2048);
  auto by_name = run(driver->findFlavor("m1.small.description"));
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(by_name->id, "7");
  cloud.on("GET", "/compute/v2.1/flavors/m1.huge", [](const Recorded&) {
    return FakeReply{
        404, R"({"itemNotFound": {"code": 404, "message": "Flavor m1.huge could not be found."}})"};
  });
  auto missing = run(driver->findFlavor("m1.huge"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(LookupTest, KeypairShowAndNotFound) {
  cloud.on("GET", "/compute/v2.1/os-keypairs/keypair-6638abdb", [](const Recorded&) {
    return FakeReply{200, kKeypairShow};
  });
  cloud.on("GET", "/compute/v2.1/os-keypairs/nope", [](const Recorded&) {
    return FakeReply{
        404,
        R"({"itemNotFound": {"code": 404, "message": "Keypair nope not found for user fake"}})"};
  });
  auto key = run(driver->findKeypair("keypair-6638abdb"));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->fingerprint, "44:fe:29:6e:23:14:b9:53:5b:65:82:58:1c:fe:5a:c3");
  EXPECT_EQ(key->type, "ssh");
  auto missing = run(driver->findKeypair("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find("\"nope\""), std::string::npos);
}

}  // namespace
}  // namespace magnumd::drivers::openstack
