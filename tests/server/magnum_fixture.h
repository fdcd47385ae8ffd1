// The fixture of the Magnum v1 API tests: calls as python-magnumclient makes them, and a
// template and a cluster made through /v1.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {

inline constexpr const char* kLatest = "container-infra latest";

class MagnumApiTest : public ApiTest {
 protected:
  // A Magnum call as python-magnumclient makes it: X-Auth-Token, a microversion, a Host.
  Reply magnum(http::verb method, const std::string& target, const std::string& body = {},
               const std::string& token = kMemberA, const std::string& version = kLatest) {
    Headers headers{{"Host", "magnum.test:9511"}};
    if (!token.empty()) headers.emplace_back("X-Auth-Token", token);
    if (!version.empty()) headers.emplace_back("OpenStack-API-Version", version);
    return call(method, target, body, "", "application/json", {}, headers);
  }

  std::string createMagnumTemplate(const std::string& name, const std::string& token = kMemberA) {
    Reply r =
        magnum(http::verb::post, "/v1/clustertemplates",
               fmt::format(R"({{"name":"{}","image_id":"fedora-coreos-38","coe":"kubernetes",)"
                           R"("keypair_id":"demo-key","external_network_id":"public",)"
                           R"("network_driver":"flannel","docker_volume_size":5,)"
                           R"("labels":{{"kube_tag":"v1.32.1","auto_healing_enabled":true}}}})",
                           name),
               token);
    EXPECT_EQ(r.code, 201u) << r.body;
    return r.str("/uuid");
  }

  std::string createMagnumCluster(const std::string& name, const std::string& tmpl,
                                  const std::string& token = kMemberA) {
    Reply r = magnum(http::verb::post, "/v1/clusters",
                     fmt::format(R"({{"name":"{}","cluster_template_id":"{}","master_count":1,)"
                                 R"("node_count":2,"create_timeout":60}})",
                                 name, tmpl),
                     token);
    EXPECT_EQ(r.code, 202u) << r.body;
    return r.str("/uuid");
  }
};

}  // namespace magnumd::server::testing
