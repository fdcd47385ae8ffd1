#include "drivers/coe/kubernetes/parameters.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace magnumd::coe::kubernetes {

namespace {

constexpr size_t kMaxExtraArgs = 64;

util::Error invalid(std::string_view field, std::string message) {
  return util::makeError(util::ErrorCode::Invalid, fmt::format("{}: {}", field, message),
                         {{std::string(field), std::move(message)}});
}

std::string label(const BootstrapInput& in, std::string_view key, std::string_view fallback = "") {
  auto it = in.labels.find(std::string(key));
  return it == in.labels.end() || it->second.empty() ? std::string(fallback) : it->second;
}

std::string labelField(std::string_view key) { return fmt::format("spec.labels.{}", key); }

bool allOf(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

std::optional<int> number(std::string_view s) {
  int n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

// "v1.2.3" with no suffix; returns {major, minor} or nullopt.
std::optional<std::pair<int, int>> semver(std::string_view tag) {
  if (tag.empty() || tag[0] != 'v') return std::nullopt;
  tag.remove_prefix(1);
  size_t a = tag.find('.');
  size_t b = a == std::string_view::npos ? a : tag.find('.', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto major = number(tag.substr(0, a));
  auto minor = number(tag.substr(a + 1, b - a - 1));
  auto patch = number(tag.substr(b + 1));
  if (!major || !minor || !patch) return std::nullopt;
  return std::pair{*major, *minor};
}

util::Result<std::string> cidr(const BootstrapInput& in, std::string_view key,
                               std::string_view fallback) {
  std::string value = label(in, key, fallback);
  if (value.find('/') == std::string::npos || !allOf(value, "./") ||
      value.find_first_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
          std::string::npos) {
    return invalid(labelField(key),
                   fmt::format("\"{}\" is not an IPv4 CIDR such as 10.100.0.0/16", value));
  }
  return value;
}

// Label values reach Kubernetes as label values: at most 63 of [A-Za-z0-9._-], alphanumeric ends.
bool isLabelValue(std::string_view v) {
  return !v.empty() && v.size() <= 63 && allOf(v, "._-") &&
         std::isalnum(static_cast<unsigned char>(v.front())) &&
         std::isalnum(static_cast<unsigned char>(v.back()));
}

util::Result<std::vector<Arg>> kubeletArgs(const BootstrapInput& in) {
  bool master = in.role != NodeRole::Worker;
  if (!isLabelValue(in.nodegroup)) {
    return invalid("nodegroup",
                   fmt::format("\"{}\" is not a valid Kubernetes label value", in.nodegroup));
  }
  std::string node_labels =
      fmt::format("magnum.openstack.org/role={},magnum.openstack.org/nodegroup={}",
                  master ? "master" : "worker", in.nodegroup);
  std::string zone = label(in, "availability_zone");
  if (!zone.empty()) {
    if (!isLabelValue(zone)) {
      return invalid(
          labelField("availability_zone"),
          fmt::format("\"{}\" is not a valid Kubernetes label value (at most 63 letters, "
                      "digits, '.', '_', '-', starting and ending alphanumeric)",
                      zone));
    }
    node_labels += ",topology.kubernetes.io/zone=" + zone;
  }
  for (const auto& [key, value] : in.node_labels) node_labels += fmt::format(",{}={}", key, value);
  std::vector<Arg> args = {{"node-labels", node_labels}};
  if (!in.node_taints.empty()) {
    args.push_back({"register-with-taints", fmt::format("{}", fmt::join(in.node_taints, ","))});
  }
  if (label(in, "cloud_provider_enabled") == "true") args.push_back({"cloud-provider", "external"});
  auto extra = parseExtraArgs(labelField("kubelet_options"), label(in, "kubelet_options"));
  if (!extra) return extra.takeError();
  for (auto& a : *extra) {
    if (a.name == "node-labels" || a.name == "cloud-provider" ||
        (a.name == "register-with-taints" && !in.node_taints.empty())) {
      return invalid(labelField("kubelet_options"),
                     fmt::format("--{} is set by magnumd from the node group and labels", a.name));
    }
    args.push_back(std::move(a));
  }
  return args;
}

util::Status cni(const BootstrapInput& in, NodeParameters& p) {
  if (in.network_driver == "flannel") {
    auto subnet = cidr(in, "flannel_network_cidr", "10.100.0.0/16");
    if (!subnet) return subnet.takeError();
    p.pod_subnet = *subnet;
    p.flannel_backend = label(in, "flannel_backend", "vxlan");
    if (p.flannel_backend != "vxlan" && p.flannel_backend != "host-gw") {
      return invalid(
          labelField("flannel_backend"),
          fmt::format("\"{}\" is not one of vxlan, host-gw (current flannel releases have "
                      "no udp backend)",
                      p.flannel_backend));
    }
    p.flannel_subnet_len = label(in, "flannel_network_subnetlen", "24");
    auto len = number(p.flannel_subnet_len);
    if (!len || *len < 8 || *len > 30) {
      return invalid(
          labelField("flannel_network_subnetlen"),
          fmt::format("\"{}\" is not a prefix length from 8 to 30", p.flannel_subnet_len));
    }
    std::string tag = label(in, "flannel_tag", kDefaultFlannelTag);
    if (!semver(tag)) {
      return invalid(
          labelField("flannel_tag"),
          fmt::format("\"{}\" is not a flannel release such as {}", tag, kDefaultFlannelTag));
    }
    p.cni_manifest_url = fmt::format(
        "https://github.com/flannel-io/flannel/releases/download/{}/kube-flannel.yml", tag);
    return {};
  }
  if (in.network_driver == "calico") {
    auto subnet = cidr(in, "calico_ipv4pool", "10.100.0.0/16");
    if (!subnet) return subnet.takeError();
    p.pod_subnet = *subnet;
    std::string ipip = label(in, "calico_ipv4pool_ipip", "Off");
    if (ipip == "Always") {
      p.calico_encapsulation = "IPIP";
    } else if (ipip == "CrossSubnet") {
      p.calico_encapsulation = "IPIPCrossSubnet";
    } else if (ipip == "Never" || ipip == "Off") {
      p.calico_encapsulation = "None";
    } else {
      return invalid(labelField("calico_ipv4pool_ipip"),
                     fmt::format("\"{}\" is not one of Always, CrossSubnet, Never, Off", ipip));
    }
    std::string tag = label(in, "calico_tag", kDefaultCalicoTag);
    auto v = semver(tag);
    if (!v || *v < std::pair{3, 15}) {
      return invalid(
          labelField("calico_tag"),
          fmt::format("\"{}\" is not a Calico release of v3.15 or later (installed by the "
                      "Tigera operator), such as {}",
                      tag, kDefaultCalicoTag));
    }
    p.cni_manifest_url = fmt::format(
        "https://raw.githubusercontent.com/projectcalico/calico/{}/manifests/tigera-operator.yaml",
        tag);
    return {};
  }
  return invalid("spec.networkDriver",
                 fmt::format("\"{}\" is not one of flannel, calico", in.network_driver));
}

// A proxy URL or list as a systemd Environment= value: no quotes, blanks or backslashes; '%' is
// systemd's specifier character and is doubled.
util::Result<std::string> systemdValue(std::string_view field, std::string_view value) {
  bool ok = std::all_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '"' && c != '\\' && c != '\'';
  });
  if (!ok)
    return invalid(field, "must not contain blanks, quotes, backslashes or control characters");
  std::string out;
  for (char c : value) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

util::Status proxies(const BootstrapInput& in, NodeParameters& p) {
  if (!in.http_proxy && !in.https_proxy) return {};
  std::vector<std::pair<std::string_view, std::string>> env;
  if (in.http_proxy) env.emplace_back("HTTP_PROXY", *in.http_proxy);
  if (in.https_proxy) env.emplace_back("HTTPS_PROXY", *in.https_proxy);
  // Cluster-internal traffic never goes through the proxy.
  std::string no_proxy = fmt::format("localhost,127.0.0.1,{},{},{},.svc,.{}", in.control_plane_host,
                                     p.service_subnet, p.pod_subnet, in.dns_domain);
  if (in.no_proxy && !in.no_proxy->empty()) no_proxy = *in.no_proxy + "," + no_proxy;
  env.emplace_back("NO_PROXY", no_proxy);
  for (auto& [name, value] : env) {
    std::string field = name == "HTTP_PROXY"    ? "spec.httpProxy"
                        : name == "HTTPS_PROXY" ? "spec.httpsProxy"
                                                : "spec.noProxy";
    auto escaped = systemdValue(field, value);
    if (!escaped) return escaped.takeError();
    p.proxy_env.push_back({std::string(name), std::move(*escaped)});
  }
  return {};
}

util::Status registry(const BootstrapInput& in, NodeParameters& p) {
  if (!in.insecure_registry || in.insecure_registry->empty()) return {};
  std::string_view host = *in.insecure_registry;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (host.starts_with(scheme)) host.remove_prefix(scheme.size());
  }
  if (host.ends_with('/')) host.remove_suffix(1);
  size_t colon = host.find(':');
  bool ok = !host.empty() && allOf(host.substr(0, colon), ".-") &&
            (colon == std::string_view::npos || number(host.substr(colon + 1)).has_value());
  if (!ok) {
    return invalid("spec.insecureRegistry",
                   fmt::format("\"{}\" is not host[:port] such as registry.example.com:5000",
                               *in.insecure_registry));
  }
  p.insecure_registry = std::string(host);
  return {};
}

}  // namespace

util::Result<std::vector<Arg>> parseExtraArgs(std::string_view field, std::string_view value) {
  std::vector<Arg> args;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i]))) ++i;
    size_t start = i;
    while (i < value.size() && !std::isspace(static_cast<unsigned char>(value[i]))) ++i;
    std::string_view word = value.substr(start, i - start);
    if (word.empty()) break;
    if (args.size() == kMaxExtraArgs) {
      return invalid(field, fmt::format("has more than {} flags", kMaxExtraArgs));
    }
    size_t eq = word.find('=');
    std::string_view name = word.substr(0, eq);
    if (!name.starts_with("--") || name.size() < 3 || !allOf(name.substr(2), "-_.")) {
      return invalid(field, fmt::format("\"{}\" is not a flag of the form --name=value", word));
    }
    name.remove_prefix(2);
    std::string arg_value =
        eq == std::string_view::npos ? "true" : std::string(word.substr(eq + 1));
    if (std::any_of(args.begin(), args.end(), [&](const Arg& a) { return a.name == name; })) {
      return invalid(field, fmt::format("--{} is given twice", name));
    }
    args.push_back({std::string(name), std::move(arg_value)});
  }
  return args;
}

util::Result<std::string> kubernetesVersion(const std::map<std::string, std::string>& labels) {
  auto it = labels.find("kube_tag");
  std::string tag = it == labels.end() || it->second.empty()
                        ? std::string(kDefaultKubernetesVersion)
                        : it->second;
  const std::string shown = tag;
  if (!tag.empty() && tag[0] != 'v') tag = "v" + tag;
  auto v = semver(tag);
  std::string range = fmt::format("v1.{} to v1.{}", kOldestKubernetesMinor, kNewestKubernetesMinor);
  if (!v || v->first != 1) {
    return invalid(labelField("kube_tag"),
                   fmt::format("\"{}\" is not a Kubernetes release such as {} ({} are supported)",
                               shown, kDefaultKubernetesVersion, range));
  }
  if (v->second < kOldestKubernetesMinor) {
    return invalid(
        labelField("kube_tag"),
        fmt::format("\"{}\" is older than v1.{}, the oldest version kubeadm here supports", shown,
                    kOldestKubernetesMinor));
  }
  if (v->second > kNewestKubernetesMinor) {
    return invalid(labelField("kube_tag"),
                   fmt::format("\"{}\" is newer than v1.{}, the newest version whose kubeadm "
                               "configuration magnumd knows",
                               shown, kNewestKubernetesMinor));
  }
  return tag;
}

std::string_view kubeadmApiVersion(int minor) {
  return minor >= 31 ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3";
}

util::Result<NodeParameters> nodeParameters(const BootstrapInput& in) {
  NodeParameters p;
  auto version = kubernetesVersion(in.labels);
  if (!version) return version.takeError();
  p.kubernetes_version = *version;
  int minor = semver(p.kubernetes_version)->second;
  p.api_version = std::string(kubeadmApiVersion(minor));
  p.v1beta4 = minor >= 31;
  auto service = cidr(in, "service_cluster_ip_range", "10.254.0.0/16");
  if (!service) return service.takeError();
  p.service_subnet = *service;
  if (auto s = cni(in, p); !s) return s.takeError();
  std::string prefix = label(in, "container_infra_prefix");
  while (prefix.ends_with('/')) prefix.pop_back();
  if (!allOf(prefix, "./:-_")) {
    return invalid(
        labelField("container_infra_prefix"),
        fmt::format("\"{}\" is not a registry path such as registry.example.com/mirror/", prefix));
  }
  p.image_repository = prefix;
  struct Component {
    std::string_view key;
    std::vector<Arg>* args;
  };
  for (auto [key, args] : {Component{"kubeapi_options", &p.apiserver_args},
                           Component{"kubecontroller_options", &p.controller_manager_args},
                           Component{"kubescheduler_options", &p.scheduler_args}}) {
    auto parsed = parseExtraArgs(labelField(key), label(in, key));
    if (!parsed) return parsed.takeError();
    *args = std::move(*parsed);
  }
  // Magnum's admission_control_list: the API server's admission plugins, unless kubeapi_options
  // names them itself.
  if (std::string plugins = label(in, "admission_control_list"); !plugins.empty()) {
    if (!allOf(plugins, ",")) {
      return invalid(labelField("admission_control_list"),
                     fmt::format("\"{}\" is not a comma-separated list of admission plugin "
                                 "names such as NodeRestriction,PodSecurity",
                                 plugins));
    }
    if (std::none_of(p.apiserver_args.begin(), p.apiserver_args.end(),
                     [](const Arg& a) { return a.name == "enable-admission-plugins"; })) {
      p.apiserver_args.push_back({"enable-admission-plugins", plugins});
    }
  }
  if (label(in, "cloud_provider_enabled") == "true" &&
      std::none_of(p.controller_manager_args.begin(), p.controller_manager_args.end(),
                   [](const Arg& a) { return a.name == "cloud-provider"; })) {
    p.controller_manager_args.insert(p.controller_manager_args.begin(),
                                     {"cloud-provider", "external"});
  }
  auto kubelet = kubeletArgs(in);
  if (!kubelet) return kubelet.takeError();
  p.kubelet_args = std::move(*kubelet);
  if (auto s = proxies(in, p); !s) return s.takeError();
  if (auto s = registry(in, p); !s) return s.takeError();
  return p;
}

}  // namespace magnumd::coe::kubernetes
