#include "drivers/coe/kubernetes/bootstrap.h"

#include <fmt/format.h>

#include <tuple>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "drivers/coe/kubernetes/parameters.h"
#include "drivers/coe/kubernetes/template.h"
#include "pki/certificate.h"

namespace magnumd::coe::kubernetes {

namespace {

constexpr std::string_view kTokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kScriptDir = "/usr/local/lib/magnumd";
constexpr std::string_view kCniSettings = "/etc/kubernetes/magnumd/cni-settings.yaml";

util::Error internal(std::string message) {
  return util::makeError(util::ErrorCode::Internal, std::move(message));
}

ValueList argList(const std::vector<Arg>& args) {
  ValueList out;
  for (const Arg& a : args) out.push_back(Values().set("name", a.name).set("value", a.value));
  return out;
}

Values file(std::string_view path, std::string_view permissions, std::string content) {
  return Values()
      .set("path", std::string(path))
      .set("permissions", std::string(permissions))
      .set("content", std::move(content));
}

// The CA files kubeadm expects in /etc/kubernetes/pki on a control-plane node (Cluster API's
// set): with them present, kubeadm signs every leaf itself and never makes a CA of its own.
void addCaFiles(const pki::ClusterPki& pki, ValueList& files) {
  struct Pair {
    std::string_view base;
    const pki::CertificateAuthority* ca;
  };
  for (auto [base, ca] : {Pair{"ca", &pki.cluster_ca}, Pair{"etcd/ca", &pki.etcd_ca},
                          Pair{"front-proxy-ca", &pki.front_proxy_ca}}) {
    files.push_back(file(fmt::format("/etc/kubernetes/pki/{}.crt", base), "0640", ca->cert_pem));
    files.push_back(file(fmt::format("/etc/kubernetes/pki/{}.key", base), "0600", ca->key_pem));
  }
  files.push_back(file("/etc/kubernetes/pki/sa.pub", "0640", pki.service_account.public_key_pem));
  files.push_back(file("/etc/kubernetes/pki/sa.key", "0600", pki.service_account.private_key_pem));
}

util::Status addRuntimeFiles(const NodeParameters& p, ValueList& files) {
  if (!p.proxy_env.empty()) {
    auto drop_in = renderEmbedded("proxy-drop-in.conf.tmpl",
                                  Values().setList("proxy_env", argList(p.proxy_env)));
    if (!drop_in) return drop_in.takeError();
    for (std::string_view unit : {"containerd", "kubelet"}) {
      files.push_back(file(fmt::format("/etc/systemd/system/{}.service.d/http-proxy.conf", unit),
                           "0644", *drop_in));
    }
  }
  if (!p.insecure_registry.empty()) {
    auto hosts =
        renderEmbedded("registry-hosts.toml.tmpl", Values().set("registry", p.insecure_registry));
    if (!hosts) return hosts.takeError();
    files.push_back(file(fmt::format("/etc/containerd/certs.d/{}/hosts.toml", p.insecure_registry),
                         "0644", std::move(*hosts)));
  }
  auto script = embeddedTemplate("configure-runtime.sh");
  if (!script) return internal("configure-runtime.sh is not embedded");
  files.push_back(
      file(fmt::format("{}/configure-runtime.sh", kScriptDir), "0750", std::string(*script)));
  return {};
}

util::Status addCniFiles(const BootstrapInput& in, const NodeParameters& p, ValueList& files) {
  bool flannel = in.network_driver == "flannel";
  Values v;
  v.set("pod_subnet", p.pod_subnet);
  util::Result<std::string> settings = std::string();
  if (flannel) {
    v.set("subnet_len", p.flannel_subnet_len).set("backend", p.flannel_backend);
    settings = renderEmbedded("flannel-settings.yaml.tmpl", v);
  } else {
    std::string_view prefix = p.image_repository;
    size_t slash = prefix.find('/');
    v.setFlag("has_registry", !prefix.empty())
        .set("registry", std::string(prefix.substr(0, slash)) + "/")
        .setFlag("has_image_path", slash != std::string_view::npos)
        .set("image_path",
             slash == std::string_view::npos ? "" : std::string(prefix.substr(slash + 1)))
        .set("encapsulation", p.calico_encapsulation);
    settings = renderEmbedded("calico-settings.yaml.tmpl", v);
  }
  if (!settings) return settings.takeError();
  files.push_back(file(kCniSettings, "0640", std::move(*settings)));
  auto script = renderEmbedded("install-cni.sh.tmpl", Values()
                                                          .set("manifest_url", p.cni_manifest_url)
                                                          .setFlag("flannel", flannel)
                                                          .setFlag("calico", !flannel));
  if (!script) return script.takeError();
  files.push_back(file(fmt::format("{}/install-cni.sh", kScriptDir), "0750", std::move(*script)));
  return {};
}

std::string ttlText(std::chrono::seconds ttl) {
  auto h = std::chrono::duration_cast<std::chrono::hours>(ttl);
  auto m = std::chrono::duration_cast<std::chrono::minutes>(ttl - h);
  return fmt::format("{}h{}m{}s", h.count(), m.count(), (ttl - h - m).count());
}

util::Status checkInput(const BootstrapInput& in) {
  auto bad = [](std::string_view field, std::string message) {
    return util::makeError(util::ErrorCode::Invalid, fmt::format("{}: {}", field, message),
                           {{std::string(field), message}});
  };
  if (in.cluster_name.empty()) return bad("cluster_name", "must be set");
  if (in.node_name.empty()) return bad("node_name", "must be set");
  if (in.control_plane_host.empty()) return bad("control_plane_host", "must be set");
  if (in.control_plane_port < 1 || in.control_plane_port > 65535) {
    return bad("control_plane_port",
               fmt::format("{} is not a port from 1 to 65535", in.control_plane_port));
  }
  auto plain = [](std::string_view text, std::string_view extra) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) ||
             extra.find(ch) != std::string_view::npos;
    });
  };
  // Both reach a shell-sourced file unquoted.
  if (in.role == NodeRole::Master && !plain(in.member_index, "%_")) {
    return bad("member_index", "must be letters, digits, '%' or '_'");
  }
  if (!plain(in.control_plane_host, ".:-_[]")) {
    return bad("control_plane_host", "must be a host name or an IP address");
  }
  if (!isBootstrapToken(in.bootstrap_token)) {
    return bad("bootstrap_token", "is not of the form [a-z0-9]{6}.[a-z0-9]{16}");
  }
  if (in.token_ttl < std::chrono::minutes(1)) return bad("token_ttl", "must be at least 1m");
  if (in.role != NodeRole::Worker) {
    const auto& k = in.pki;
    for (const std::string* pem :
         {&k.cluster_ca.key_pem, &k.etcd_ca.cert_pem, &k.etcd_ca.key_pem,
          &k.front_proxy_ca.cert_pem, &k.front_proxy_ca.key_pem, &k.service_account.private_key_pem,
          &k.service_account.public_key_pem}) {
      if (pem->empty())
        return bad("pki", "a control-plane node needs every CA and the service-account keys");
    }
  }
  return {};
}

}  // namespace

bool isBootstrapToken(std::string_view token) {
  if (token.size() != 23 || token[6] != '.') return false;
  for (size_t i = 0; i < token.size(); ++i) {
    if (i != 6 && kTokenAlphabet.find(token[i]) == std::string_view::npos) return false;
  }
  return true;
}

util::Result<std::string> generateBootstrapToken() {
  // Rejection sampling keeps every character equally likely: 252 = 7 × 36.
  std::string token;
  std::array<unsigned char, 64> bytes{};
  for (int round = 0; round < 8 && token.size() < 22; ++round) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      return internal("the random generator failed to produce a bootstrap token");
    }
    for (unsigned char b : bytes) {
      if (b < 252 && token.size() < 22) token += kTokenAlphabet[b % kTokenAlphabet.size()];
    }
  }
  if (token.size() < 22)
    return internal("the random generator failed to produce a bootstrap token");
  token.insert(6, ".");
  return token;
}

util::Result<std::string> renderUserData(const BootstrapInput& in) {
  if (auto s = checkInput(in); !s) return s.takeError();
  auto params = nodeParameters(in);
  if (!params) return params.takeError();
  const NodeParameters& p = *params;
  // One pin per CA of the bundle: during a CA rotation a joining node accepts cluster-info
  // naming either CA.
  auto hashes = pki::caCertHashes(in.pki.cluster_ca.cert_pem);
  if (!hashes) return hashes.takeError();
  ValueList ca_hashes;
  for (const auto& h : *hashes) ca_hashes.push_back(Values().set("value", h));

  Values v;
  v.set("api_version", p.api_version)
      .setFlag("v1beta4", p.v1beta4)
      .set("cluster_name", in.cluster_name)
      .set("kubernetes_version", p.kubernetes_version)
      .set("control_plane_endpoint",
           fmt::format("{}:{}", in.control_plane_host, in.control_plane_port))
      .setFlag("has_image_repository", !p.image_repository.empty())
      .set("image_repository", p.image_repository)
      .set("pod_subnet", p.pod_subnet)
      .set("service_subnet", p.service_subnet)
      .set("dns_domain", in.dns_domain)
      .set("token", in.bootstrap_token)
      .set("token_ttl", ttlText(in.token_ttl))
      .setList("ca_cert_hashes", std::move(ca_hashes))
      .set("node_name", in.node_name)
      .set("bind_port", std::to_string(kApiServerPort))
      .setFlag("control_plane", in.role != NodeRole::Worker);
  ValueList sans = {Values().set("value", in.control_plane_host)};
  for (const auto& san : in.cert_sans) {
    if (san != in.control_plane_host) sans.push_back(Values().set("value", san));
  }
  v.setList("cert_sans", std::move(sans));
  struct Component {
    std::string_view name;
    const std::vector<Arg>* args;
  };
  for (auto [name, args] : {Component{"apiserver_args", &p.apiserver_args},
                            Component{"controller_manager_args", &p.controller_manager_args},
                            Component{"scheduler_args", &p.scheduler_args},
                            Component{"kubelet_args", &p.kubelet_args}}) {
    v.setList(std::string(name), argList(*args));
    v.setFlag(fmt::format("has_{}", name), !args->empty());
  }

  const bool master = in.role == NodeRole::Master;
  const bool init = in.role == NodeRole::FirstMaster || master;
  const bool join = in.role != NodeRole::FirstMaster;
  ValueList files;
  if (in.role != NodeRole::Worker) addCaFiles(in.pki, files);
  if (auto s = addRuntimeFiles(p, files); !s) return s.takeError();
  // The Kubernetes version the node must run (ensure-kubernetes.sh); masters' bootstrap.env
  // carries it beside their member index.
  if (auto script = embeddedTemplate("ensure-kubernetes.sh")) {
    files.push_back(file(fmt::format("{}/ensure-kubernetes.sh", kScriptDir), "0750",
                         std::string(*script)));
  } else {
    return internal("ensure-kubernetes.sh is not embedded");
  }
  if (in.role != NodeRole::Master) {
    files.push_back(file("/etc/magnumd/bootstrap.env", "0640",
                         fmt::format("KUBERNETES_VERSION={}\n", p.kubernetes_version)));
  }
  if (init) {
    if (auto s = addCniFiles(in, p, files); !s) return s.takeError();
  }
  Values doc;
  if (init) {
    auto config = renderEmbedded("kubeadm-init.yaml.tmpl", v);
    if (!config) return config.takeError();
    doc.set(master ? "init_config" : "kubeadm_config", std::move(*config));
  }
  if (join) {
    auto config = renderEmbedded("kubeadm-join.yaml.tmpl", v);
    if (!config) return config.takeError();
    doc.set(master ? "join_config" : "kubeadm_config", std::move(*config));
  }
  if (master) {
    auto script = embeddedTemplate("kubeadm-bootstrap.sh");
    if (!script) return internal("kubeadm-bootstrap.sh is not embedded");
    files.push_back(
        file(fmt::format("{}/kubeadm-bootstrap.sh", kScriptDir), "0750", std::string(*script)));
    // Departed masters leave etcd (a rolling replacement, an auto-heal): etcd-member-janitor.sh.
    for (const auto& [name, path, mode] :
         {std::tuple{"etcd-member-janitor.sh", std::string(kScriptDir) + "/etcd-member-janitor.sh",
                     "0750"},
          std::tuple{"magnumd-etcd-janitor.service",
                     std::string("/etc/systemd/system/magnumd-etcd-janitor.service"), "0644"},
          std::tuple{"magnumd-etcd-janitor.timer",
                     std::string("/etc/systemd/system/magnumd-etcd-janitor.timer"), "0644"}}) {
      auto text = embeddedTemplate(name);
      if (!text) return internal(fmt::format("{} is not embedded", name));
      files.push_back(file(path, mode, std::string(*text)));
    }
    doc.set("member_index", in.member_index)
        .set("kubernetes_version", p.kubernetes_version)
        .set("control_plane_endpoint",
             fmt::format("{}:{}", in.control_plane_host, in.control_plane_port));
  }
  doc.setList("files", std::move(files));
  auto user_data = renderEmbedded(master ? "cloud-config-master.yaml.tmpl"
                                  : init ? "cloud-config-init.yaml.tmpl"
                                         : "cloud-config-join.yaml.tmpl",
                                  doc);
  if (!user_data) return user_data.takeError();

  // The header makes cloud-init render the document with Jinja first; a value that would read as
  // Jinja must not reach it.
  for (std::string_view jinja : {"{{", "{%", "{#"}) {
    if (user_data->find(jinja) != std::string::npos) {
      return util::makeError(
          util::ErrorCode::Invalid,
          fmt::format("a label or template field contains \"{}\", which cloud-init "
                      "would read as Jinja in the user_data",
                      jinja));
    }
  }
  if (user_data->size() > kMaxUserDataBytes) {
    return util::makeError(
        util::ErrorCode::Invalid,
        fmt::format("user_data for {} is {} bytes; Nova accepts at most {} (65,535 "
                    "after base64)",
                    in.node_name, user_data->size(), kMaxUserDataBytes));
  }
  return user_data;
}

}  // namespace magnumd::coe::kubernetes
