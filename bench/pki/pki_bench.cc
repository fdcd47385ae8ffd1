// What a cluster's PKI costs: generating it (per key algorithm), signing the leaves magnumd and
// cloudsim issue, signing a user's CSR, and wrapping/unwrapping a private key with the KEK.
//
//   pki_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "pki/ca.h"
#include "pki/csr.h"
#include "pki/kek.h"
#include "pki/leaf.h"

namespace {

using namespace magnumd::pki;

template <typename T>
T orDie(magnumd::util::Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}

const CertificateAuthority& clusterCa() {
  static const CertificateAuthority ca = orDie(makeCertificateAuthority("kubernetes"));
  return ca;
}

LeafSpec apiserverSpec() {
  return LeafSpec{.common_name = "kube-apiserver",
                  .usage = ExtendedKeyUsage::ServerAuth,
                  .dns_names = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                "kubernetes.default.svc.cluster.local", "master-0"},
                  .ip_addresses = {"10.96.0.1", "10.0.0.5", "172.24.4.10"}};
}

void BM_ClusterPki(benchmark::State& state) {
  auto algorithm = static_cast<KeyAlgorithm>(state.range(0));
  state.SetLabel(keyAlgorithmName(algorithm));
  for (auto _ : state) benchmark::DoNotOptimize(orDie(makeClusterPki({.algorithm = algorithm})));
}
BENCHMARK(BM_ClusterPki)
    ->Arg(static_cast<int>(KeyAlgorithm::EcdsaP256))
    ->Arg(static_cast<int>(KeyAlgorithm::Rsa2048))
    ->Unit(benchmark::kMillisecond);

// The apiserver serving certificate with a fresh P-256 key, from the stored CA PEM.
void BM_IssueServingLeaf(benchmark::State& state) {
  const LeafSpec spec = apiserverSpec();
  for (auto _ : state) benchmark::DoNotOptimize(orDie(issueLeaf(clusterCa(), spec)));
}
BENCHMARK(BM_IssueServingLeaf)->Unit(benchmark::kMicrosecond);

// Signing only: CA already parsed, subject key given (a kubeconfig's client certificate).
void BM_SignClientLeafLoadedCa(benchmark::State& state) {
  LoadedCa ca = orDie(loadCertificateAuthority(clusterCa()));
  EvpPkeyPtr key = orDie(generateKey(KeyAlgorithm::EcdsaP256));
  const LeafSpec spec{.common_name = "magnumd", .organizations = {"system:masters"}};
  for (auto _ : state) benchmark::DoNotOptimize(orDie(signLeaf(ca, spec, *key)));
}
BENCHMARK(BM_SignClientLeafLoadedCa)->Unit(benchmark::kMicrosecond);

// POST .../certificates: parse, check key and self-signature, sign.
void BM_SignClientCsr(benchmark::State& state) {
  EvpPkeyPtr key = orDie(generateKey(KeyAlgorithm::EcdsaP256));
  const std::string csr = orDie(makeCertificateRequest(*key, "alice", {"developers"}));
  for (auto _ : state) benchmark::DoNotOptimize(orDie(signClientCsr(clusterCa(), csr, {})));
}
BENCHMARK(BM_SignClientCsr)->Unit(benchmark::kMicrosecond);

class KekFixture : public benchmark::Fixture {
 public:
  void SetUp(const benchmark::State&) override {
    if (kek_) return;
    std::string dir = (std::filesystem::temp_directory_path() / "pki_bench.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    std::string path = dir + "/kek";
    auto created = generateKeyFile(path);
    if (!created.ok()) throw std::runtime_error(created.error().message);
    kek_.emplace(orDie(KeyEncryptionKey::load(path)));
    std::filesystem::remove_all(dir);
    key_pem_ = clusterCa().key_pem;
  }
  static inline std::optional<KeyEncryptionKey> kek_;
  static inline std::string key_pem_;
};

BENCHMARK_F(KekFixture, WrapP256Key)(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(orDie(kek_->wrap(key_pem_, "uid/ca.key")));
}

BENCHMARK_F(KekFixture, UnwrapP256Key)(benchmark::State& state) {
  const std::string wrapped = orDie(kek_->wrap(key_pem_, "uid/ca.key"));
  for (auto _ : state) benchmark::DoNotOptimize(orDie(kek_->unwrap(wrapped, "uid/ca.key")));
}

}  // namespace

BENCHMARK_MAIN();
