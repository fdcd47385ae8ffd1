// What one Kubernetes cluster of 1 master + 3 workers costs magnumd in CPU before any cloud call:
// making its secrets (the PKI, the join token, wrapping each private part with the KEK), and
// what every reconcile pass repeats (unwrapping them, rendering the master and worker user_data
// and the Heat stack).
//
//   bootstrap_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

#include "drivers/coe/coe_driver.h"
#include "drivers/coe/kubernetes/bootstrap.h"
#include "pki/ca.h"
#include "pki/kek.h"

namespace {

using namespace magnumd;

template <typename T>
T orDie(util::Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}

const pki::KeyEncryptionKey& kek() {
  static const pki::KeyEncryptionKey key = [] {
    std::string dir = (std::filesystem::temp_directory_path() / "bootstrap_bench.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    auto created = pki::generateKeyFile(dir + "/kek");
    if (!created.ok()) throw std::runtime_error(created.error().message);
    auto loaded = orDie(pki::KeyEncryptionKey::load(dir + "/kek"));
    std::filesystem::remove_all(dir);
    return loaded;
  }();
  return key;
}

coe::ClusterShape shape() {
  coe::ClusterShape c;
  c.name = "prod";
  c.namespace_ = "demo";
  c.uid = "4f9a1c2e-1111-4222-8333-444455556666";
  c.coe = "kubernetes";
  c.keypair = "demo-key";
  c.external_network = "public";
  c.network_driver = "flannel";
  c.master_lb_enabled = true;
  c.labels = {{"kube_tag", "v1.32.4"}};
  coe::NodeGroupShape master{.name = "default-master", .role = "master", .node_count = 1,
                             .flavor = "m1.medium", .image = "ubuntu-2204-kube-v1.32.4"};
  coe::NodeGroupShape worker{.name = "default-worker", .role = "worker", .node_count = 3,
                             .flavor = "m1.small", .image = "ubuntu-2204-kube-v1.32.4"};
  c.node_groups = {master, worker};
  return c;
}

// The five values ClusterSecretStore keeps wrapped.
std::vector<std::string> wrapAll(const pki::ClusterPki& p, const std::string& token) {
  std::vector<std::string> out;
  for (const std::string* plain : {&p.cluster_ca.key_pem, &p.etcd_ca.key_pem,
                                   &p.front_proxy_ca.key_pem, &p.service_account.private_key_pem,
                                   &token}) {
    out.push_back(orDie(kek().wrap(*plain, "uid/purpose")));
  }
  return out;
}

// Renders what a pass renders: both groups' user_data, then the stack.
coe::StackDefinition renderCluster(coe::ClusterShape c, const pki::ClusterPki& p,
                                   const std::string& token) {
  static const auto driver = coe::makeCoeDriver("kubernetes");
  coe::kubernetes::BootstrapInput in;
  in.cluster_name = c.name;
  in.cluster_uid = c.uid;
  in.control_plane_host = std::string(coe::kApiHostToken);
  in.pki = p;
  in.bootstrap_token = token;
  for (auto& g : c.node_groups) {
    in.nodegroup = g.name;
    in.role = g.role == "master" ? coe::kubernetes::NodeRole::Master
                                 : coe::kubernetes::NodeRole::Worker;
    in.node_name = c.name + "-" + g.name + "-%index%";
    in.member_index = "%index%";
    in.labels = c.labels;
    g.user_data = orDie(coe::kubernetes::renderUserData(in));
  }
  return orDie(driver->render(c, 60));
}

void BM_NewClusterSecrets(benchmark::State& state) {
  auto algorithm = static_cast<pki::KeyAlgorithm>(state.range(0));
  state.SetLabel(pki::keyAlgorithmName(algorithm));
  for (auto _ : state) {
    auto p = orDie(pki::makeClusterPki({.algorithm = algorithm}));
    auto token = orDie(coe::kubernetes::generateBootstrapToken());
    benchmark::DoNotOptimize(wrapAll(p, token));
  }
}
BENCHMARK(BM_NewClusterSecrets)
    ->Arg(static_cast<int>(pki::KeyAlgorithm::EcdsaP256))
    ->Arg(static_cast<int>(pki::KeyAlgorithm::Rsa2048))
    ->Unit(benchmark::kMillisecond);

void BM_ReconcilePassRender(benchmark::State& state) {
  const auto p = orDie(pki::makeClusterPki());
  const std::string token = orDie(coe::kubernetes::generateBootstrapToken());
  const auto wrapped = wrapAll(p, token);
  const auto c = shape();
  size_t bytes = 0;
  for (auto _ : state) {
    for (const auto& w : wrapped) benchmark::DoNotOptimize(orDie(kek().unwrap(w, "uid/purpose")));
    auto def = renderCluster(c, p, token);
    bytes = def.template_text.size();
    for (const auto& [k, v] : def.parameters) bytes += v.size();
    for (const auto& [k, v] : def.files) bytes += v.size();
  }
  state.counters["stack_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ReconcilePassRender)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
