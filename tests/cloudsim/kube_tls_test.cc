// The simulated kube-apiserver over real TLS on the embedding's io_context: its certificate
// chains to the cluster CA found in the first master's user_data, client certificates signed by
// that CA are accepted, anonymous clients only reach the health and version endpoints, another
// CA's client certificate is refused in the handshake, and a node watch streams changes. With two
// masters of different CAs, connections take turns between them, as behind a load balancer.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <set>
#include <thread>

#include "cloudsim/cloudsim.h"
#include "pki/certificate.h"
#include "pki/leaf.h"
#include "tests/cloudsim/kube_fixture.h"
#include "tests/cloudsim/plain_http.h"
#include "util/json.h"

namespace magnumd::cloudsim::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string body;
  std::string error;
  std::string token;            // X-Subject-Token
  std::string server_cert_pem;  // what the server presented in the handshake
};

Reply plainRequest(uint16_t port, http::verb verb, const std::string& target,
                   const std::string& body = "", const std::string& token = "") {
  auto r = testing::plainRequest(port, verb, target, body, token);
  return {r.status, std::move(r.body), "", std::move(r.token)};
}

Reply tlsGet(uint16_t port, const std::string& target, const std::string& ca_pem,
             const pki::IssuedCertificate* client) {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (client != nullptr) {
    ctx.use_certificate_chain(asio::buffer(client->cert_pem));
    ctx.use_private_key(asio::buffer(client->key_pem), asio::ssl::context::pem);
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  stream.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  Reply r;
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).socket().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  beast::get_lowest_layer(stream).expires_after(5s);
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (!ec) {
    if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
      auto pem = pki::certificateToPem(*peer);
      if (pem.ok()) r.server_cert_pem = std::move(*pem);
      X509_free(peer);
    }
  }
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::accept, "application/json");
  if (!ec) http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  return r;
}

class KubeTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca = pki::makeCertificateAuthority("kubernetes").value();
    Options options;
    options.sim.seed = 7;
    options.sim.server_build = 50ms;
    // A one-port range: the cluster must get exactly that port.
    {
      asio::io_context probe_io;
      asio::ip::tcp::acceptor probe(probe_io, {asio::ip::make_address("127.0.0.1"), 0});
      range_port = probe.local_endpoint().port();
    }
    options.sim.kube_api_port_start = range_port;
    options.sim.kube_api_port_count = 1;
    auto started = Cloudsim::start(io_, options);
    ASSERT_TRUE(started.ok()) << started.error().message;
    sim = std::move(*started);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (sim) sim->stop();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    sim.reset();
  }

  // Creates a stack of one master and one worker and waits for the cluster's API address.
  std::string createCluster() {
    std::string hash = pki::caCertHash(ca.cert_pem).value();
    return createStack({{"k-master-0", initUserData(ca, "abcdef.0123456789abcdef")},
                        {"k-node-0", joinUserData("abcdef.0123456789abcdef", hash)}});
  }

  // Creates a stack of these servers (name, user_data); the first inits the cluster. Waits for
  // the cluster's API address.
  std::string createStack(const std::vector<std::pair<std::string, std::string>>& servers) {
    uint16_t port = sim->port();
    Reply login = plainRequest(
        port, http::verb::post, "/identity/v3/auth/tokens",
        R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"demo","domain":{"name":"Default"},"password":"password"}}},"scope":{"project":{"name":"demo","domain":{"id":"default"}}}}})");
    auto doc = util::parseJson(login.body).value();
    std::string project = doc["token"]["project"]["id"].GetString();
    auto server = [](const std::string& name, const std::string& user_data) {
      util::JsonDoc d;
      d.SetObject();
      auto& a = d.GetAllocator();
      d.AddMember("type", "OS::Nova::Server", a);
      util::Json props(rapidjson::kObjectType);
      props.AddMember("name", util::str(name, a), a);
      props.AddMember("flavor", "m1.small", a);
      props.AddMember("user_data_format", "RAW", a);
      props.AddMember("user_data", util::str(user_data, a), a);
      d.AddMember("properties", props, a);
      return util::toJson(d);
    };
    std::string resources;
    for (const auto& [name, user_data] : servers) {
      resources += (resources.empty() ? "\"" : ",\"") + name + "\":" + server(name, user_data);
    }
    std::string body =
        R"({"stack_name":"k","template":{"heat_template_version":"2018-08-31","resources":{)" +
        resources + R"(},"outputs":{"api_address":{"value":"https://unset"}}}})";
    Reply created = plainRequest(port, http::verb::post, "/heat-api/v1/" + project + "/stacks",
                                 body, login.token);
    EXPECT_EQ(created.status, 201) << created.body;
    stack_id = util::parseJson(created.body).value()["stack"]["id"].GetString();
    for (int i = 0; i < 100; ++i) {
      Reply out =
          plainRequest(port, http::verb::get,
                       "/heat-api/v1/" + project + "/stacks/k/" + stack_id + "/outputs/api_address",
                       "", login.token);
      auto v = util::parseJson(out.body);
      if (v.ok() && (*v)["output"]["output_value"].IsString() &&
          std::string((*v)["output"]["output_value"].GetString()).rfind("https://127.0.0.1:", 0) ==
              0) {
        std::string address = (*v)["output"]["output_value"].GetString();
        return address;
      }
      std::this_thread::sleep_for(20ms);
    }
    return "";
  }

  pki::CertificateAuthority ca;
  std::unique_ptr<Cloudsim> sim;
  std::string stack_id;
  uint16_t range_port = 0;

 private:
  asio::io_context io_;
  std::thread thread_;
};

pki::IssuedCertificate clientCert(const pki::CertificateAuthority& ca) {
  pki::LeafSpec spec;
  spec.common_name = "kubernetes-admin";
  spec.organizations = {"kubeadm:cluster-admins"};
  return pki::issueLeaf(ca, spec).value();
}

TEST_F(KubeTlsTest, ServesTheClusterCasChainToClientsWithCertificatesFromIt) {
  std::string address = createCluster();
  ASSERT_FALSE(address.empty()) << "api_address never pointed at the simulated API";
  auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  auto admin = clientCert(ca);

  Reply nodes;
  for (int i = 0; i < 50; ++i) {  // the worker joins once its server is ACTIVE too
    nodes = tlsGet(port, "/api/v1/nodes", ca.cert_pem, &admin);
    if (nodes.body.find("k-node-0") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(nodes.status, 200) << nodes.error << nodes.body;
  auto list = util::parseJson(nodes.body).value();
  ASSERT_EQ(list["items"].Size(), 2u) << nodes.body;

  Reply anonymous = tlsGet(port, "/healthz", ca.cert_pem, nullptr);
  EXPECT_EQ(anonymous.status, 200) << anonymous.error;
  EXPECT_EQ(anonymous.body, "ok");
  EXPECT_EQ(tlsGet(port, "/api/v1/nodes", ca.cert_pem, nullptr).status, 401);

  auto stranger_ca = pki::makeCertificateAuthority("kubernetes").value();
  auto stranger = clientCert(stranger_ca);
  Reply refused = tlsGet(port, "/api/v1/nodes", ca.cert_pem, &stranger);
  EXPECT_EQ(refused.status, 0);  // the handshake fails
  EXPECT_FALSE(refused.error.empty());
  // And a client that trusts another CA does not accept the server.
  EXPECT_FALSE(tlsGet(port, "/healthz", stranger_ca.cert_pem, nullptr).error.empty());
}

TEST_F(KubeTlsTest, WatchStreamsNodeChanges) {
  std::string address = createCluster();
  ASSERT_FALSE(address.empty());
  auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  auto admin = clientCert(ca);
  std::this_thread::sleep_for(200ms);  // both servers ACTIVE
  Reply watch;
  std::thread watcher(
      [&] { watch = tlsGet(port, "/api/v1/nodes?watch=1&timeoutSeconds=2", ca.cert_pem, &admin); });
  std::this_thread::sleep_for(500ms);
  Reply clusters = plainRequest(sim->port(), http::verb::get, "/sim/v1/clusters");
  auto doc = util::parseJson(clusters.body).value();
  std::string worker;
  for (const auto& n : doc["clusters"][0]["nodes"].GetArray()) {
    if (std::string(n["name"].GetString()) == "k-node-0") worker = n["server_id"].GetString();
  }
  ASSERT_FALSE(worker.empty()) << clusters.body;
  EXPECT_EQ(plainRequest(sim->port(), http::verb::delete_, "/sim/v1/servers/" + worker).status,
            204);
  watcher.join();
  ASSERT_EQ(watch.status, 200) << watch.error;
  EXPECT_NE(watch.body.find(R"({"type":"ADDED","object":{"kind":"Node")"), std::string::npos)
      << watch.body;
  EXPECT_NE(watch.body.find(R"({"type":"DELETED")"), std::string::npos) << watch.body;
}

}  // namespace
}  // namespace magnumd::cloudsim::testing

namespace magnumd::cloudsim::testing {
namespace {

TEST_F(KubeTlsTest, PortFromTheRangeAndStopStartFaults) {
  std::string address = createCluster();
  ASSERT_EQ(address, "https://127.0.0.1:" + std::to_string(range_port));
  EXPECT_EQ(tlsGet(range_port, "/healthz", ca.cert_pem, nullptr).status, 200);
  std::string cluster = "/sim/v1/clusters/" + stack_id;
  EXPECT_EQ(plainRequest(sim->port(), http::verb::post, cluster, R"({"api_running":false})").status,
            200);
  std::this_thread::sleep_for(50ms);  // the acceptor closes on the io_context
  Reply down = tlsGet(range_port, "/healthz", ca.cert_pem, nullptr);
  EXPECT_EQ(down.status, 0);
  EXPECT_FALSE(down.error.empty());
  Reply restarted = plainRequest(sim->port(), http::verb::post, cluster, R"({"api_running":true})");
  EXPECT_EQ(restarted.status, 200) << restarted.body;
  EXPECT_EQ(tlsGet(range_port, "/healthz", ca.cert_pem, nullptr).status, 200);
  EXPECT_EQ(
      plainRequest(sim->port(), http::verb::post, cluster, R"({"healthz_failing":true})").status,
      200);
  Reply failing = tlsGet(range_port, "/healthz", ca.cert_pem, nullptr);
  EXPECT_EQ(failing.status, 500);
  EXPECT_NE(failing.body.find("healthz check failed"), std::string::npos) << failing.body;
}

}  // namespace
}  // namespace magnumd::cloudsim::testing

namespace magnumd::cloudsim::testing {
namespace {

TEST_F(KubeTlsTest, EachConnectionMeetsOneMasterItsCertificateAndItsTrust) {
  // Mid-rotation: k-master-0 signs with the old CA and trusts it only; k-master-1 signs with the
  // new one and trusts both (its ca.crt is the bundle new, old; its ca.key the new key).
  auto fresh = pki::makeCertificateAuthority("kubernetes").value();
  std::string old_hash = pki::caCertHash(ca.cert_pem).value();
  std::string new_hash = pki::caCertHash(fresh.cert_pem).value();
  pki::CertificateAuthority signing_new{fresh.cert_pem + ca.cert_pem, fresh.key_pem};
  std::string address =
      createStack({{"k-master-0", initUserData(ca, kToken)},
                   {"k-master-1", joinUserData(kToken, std::vector<std::string>{old_hash, new_hash},
                                               "master", &signing_new)}});
  ASSERT_FALSE(address.empty());
  auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  for (int i = 0; i < 100; ++i) {  // k-master-1 joins once its server is ACTIVE
    auto doc = util::parseJson(plainRequest(sim->port(), http::verb::get, "/sim/v1/clusters").body);
    if (doc.ok() && (*doc)["clusters"][0]["api_servers"].Size() == 2) break;
    std::this_thread::sleep_for(20ms);
  }
  std::string both = ca.cert_pem + fresh.cert_pem;
  auto old_admin = clientCert(ca);
  auto new_admin = clientCert(fresh);

  // Round robin: in any two connections in a row, one meets each master's certificate.
  std::set<std::string> issuers;
  for (int i = 0; i < 4; ++i) {
    Reply r = tlsGet(port, "/api/v1/nodes", both, &old_admin);
    ASSERT_EQ(r.status, 200) << r.error;  // both masters trust the old CA
    auto now = std::chrono::system_clock::now();
    bool by_old = pki::verifyChain(r.server_cert_pem, ca.cert_pem, now).ok();
    bool by_new = pki::verifyChain(r.server_cert_pem, fresh.cert_pem, now).ok();
    EXPECT_NE(by_old, by_new);
    issuers.insert(by_old ? old_hash : new_hash);
  }
  EXPECT_EQ(issuers, (std::set<std::string>{old_hash, new_hash}));

  // A client certificate of the new CA: k-master-1 accepts it, k-master-0 refuses the handshake.
  int accepted = 0, refused = 0;
  for (int i = 0; i < 4; ++i) {
    Reply r = tlsGet(port, "/api/v1/nodes", both, &new_admin);
    if (r.status == 200) {
      ++accepted;
      EXPECT_TRUE(
          pki::verifyChain(r.server_cert_pem, fresh.cert_pem, std::chrono::system_clock::now())
              .ok());
    } else {
      ++refused;
      EXPECT_EQ(r.status, 0);
      EXPECT_FALSE(r.error.empty());
    }
  }
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(refused, 2);
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
