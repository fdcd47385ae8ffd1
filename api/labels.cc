#include "api/labels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

namespace magnumd::api {

namespace {

using T = LabelType;
using S = LabelScope;

constexpr size_t kMaxKey = 253;

// Rows follow the seed's labels table and the per-label sections. Defaults are written only for the
// rows whose "default" column gives a concrete value; "see below" (release-dependent) defaults are in
// versionLabelDefault() for drivers.
const std::vector<LabelRule>& rules() {
  static const std::vector<LabelRule> kRules = {
      // Flannel (network driver flannel, kubernetes or swarm).
      {"flannel_network_cidr", T::Ipv4Cidr, {}, "10.100.0.0/16", S::Flannel},
      {"flannel_backend", T::Enum, {"udp", "vxlan", "host-gw"}, "vxlan", S::Flannel},
      {"flannel_network_subnetlen", T::Integer, {}, "24", S::Flannel, 1},
      // Calico (network driver calico, kubernetes).
      {"calico_ipv4pool", T::Ipv4Cidr, {}, "10.100.0.0/16", S::Calico},
      // Calico's IPIP modes; "Off" is the seed's default and Calico v2's spelling of Never.
      {"calico_ipv4pool_ipip", T::Enum, {"Always", "CrossSubnet", "Never", "Off"}, "Off", S::Calico},
      {"calico_tag", T::Text, {}, "", S::Calico},
      // Swarm.
      {"swarm_strategy", T::Enum, {"spread", "binpack", "random"}, "spread", S::Swarm},
      // Rexray volume driver (swarm, mesos).
      {"rexray_preempt", T::Bool, {}, "false", S::Rexray},
      // Mesos.
      {"mesos_slave_isolation", T::EnumList,
       {"filesystem/posix", "filesystem/linux", "filesystem/shared", "posix/cpu", "posix/mem",
        "posix/disk", "cgroups/cpu", "cgroups/mem", "docker/runtime", "namespaces/pid"},
       "", S::Mesos},
      {"mesos_slave_image_providers", T::Enum, {"appc", "docker", "appc,docker"}, "", S::Mesos},
      {"mesos_slave_work_dir", T::AbsolutePath, {}, "", S::Mesos},
      {"mesos_slave_executor_env_variables", T::AbsolutePath, {}, "", S::Mesos},
      // Kubernetes.
      {"heapster_enabled", T::Bool, {}, "false", S::Kubernetes},
      {"metrics_server_enabled", T::Bool, {}, "true", S::Kubernetes},
      {"monitoring_enabled", T::Bool, {}, "false", S::Kubernetes},
      {"prometheus_adapter_enabled", T::Bool, {}, "true", S::Kubernetes},
      {"prometheus_monitoring", T::Bool, {}, "false", S::Kubernetes},
      {"grafana_admin_passwd", T::Text, {}, "admin", S::Kubernetes},
      {"kube_dashboard_enabled", T::Bool, {}, "true", S::Kubernetes},
      {"influx_grafana_dashboard_enabled", T::Bool, {}, "false", S::Kubernetes},
      {"boot_volume_size", T::Integer, {}, "", S::Kubernetes, 0},
      {"etcd_volume_size", T::Integer, {}, "0", S::Kubernetes, 0},
      {"cert_manager_api", T::Bool, {}, "false", S::Kubernetes},
      {"ingress_controller", T::Enum, {"", "traefik", "nginx", "octavia"}, "", S::Kubernetes},
      {"ingress_controller_role", T::Text, {}, "ingress", S::Kubernetes},
      {"cgroup_driver", T::Enum, {"systemd", "cgroupfs"}, "cgroupfs", S::Kubernetes},
      {"cloud_provider_enabled", T::Bool, {}, "", S::Kubernetes},
      {"cinder_csi_enabled", T::Bool, {}, "", S::Kubernetes},
      {"service_cluster_ip_range", T::Ipv4Cidr, {}, "10.254.0.0/16", S::Kubernetes},
      {"keystone_auth_enabled", T::Bool, {}, "true", S::Kubernetes},
      {"tiller_enabled", T::Bool, {}, "false", S::Kubernetes},
      {"master_lb_floating_ip_enabled", T::Bool, {}, "", S::Kubernetes},
      {"master_lb_allowed_cidrs", T::CidrList, {}, "", S::Kubernetes},
      {"auto_healing_enabled", T::Bool, {}, "false", S::Kubernetes},
      {"auto_healing_controller", T::Enum, {"draino", "magnum-auto-healer"}, "draino", S::Kubernetes},
      {"auto_scaling_enabled", T::Bool, {}, "false", S::Kubernetes},
      {"min_node_count", T::Integer, {}, "", S::Kubernetes, 0},
      {"max_node_count", T::Integer, {}, "", S::Kubernetes, 0},
      {"npd_enabled", T::Bool, {}, "true", S::Kubernetes},
      {"use_podman", T::Bool, {}, "", S::Kubernetes},
      {"selinux_mode", T::Enum, {"enforcing", "permissive", "disabled"}, "", S::Kubernetes},
      {"container_runtime", T::Enum, {"", "containerd"}, "", S::Kubernetes},
      {"kube_tag", T::KubernetesVersion, {}, "", S::Kubernetes},
      // The seed's table rows that only name a value (docs/bootstrap.md says what each does).
      {"admission_control_list", T::Text, {}, "", S::Kubernetes},
      {"availability_zone", T::Text, {}, "", S::Any},
      {"boot_volume_type", T::Text, {}, "", S::Kubernetes},
      {"docker_volume_type", T::Text, {}, "", S::Any},
      {"etcd_volume_type", T::Text, {}, "", S::Kubernetes},
      {"container_infra_prefix", T::Text, {}, "", S::Kubernetes},
      {"containerd_version", T::Text, {}, "", S::Kubernetes},
      {"containerd_tarball_url", T::Text, {}, "", S::Kubernetes},
      {"containerd_tarball_sha256", T::Text, {}, "", S::Kubernetes},
      {"kubeapi_options", T::Flags, {}, "", S::Kubernetes},
      {"kubecontroller_options", T::Flags, {}, "", S::Kubernetes},
      {"kubelet_options", T::Flags, {}, "", S::Kubernetes},
      {"kubeproxy_options", T::Flags, {}, "", S::Kubernetes},
      {"kubescheduler_options", T::Flags, {}, "", S::Kubernetes},
      {"draino_tag", T::Text, {}, "", S::Kubernetes},
      {"helm_client_url", T::Text, {}, "", S::Kubernetes},
      {"node_problem_detector_tag", T::Text, {}, "", S::Kubernetes},
      {"prometheus_adapter_configmap", T::Text, {}, "", S::Kubernetes},
      {"prometheus_operator_chart_tag", T::Text, {}, "", S::Kubernetes},
      {"fixed_subnet_cidr", T::Ipv4Cidr, {}, "", S::Kubernetes},
  };
  return kRules;
}

bool applies(LabelScope scope, const LabelContext& ctx) {
  switch (scope) {
    case S::Kubernetes: return ctx.coe == "kubernetes";
    case S::Swarm: return ctx.coe == "swarm";
    case S::Mesos: return ctx.coe == "mesos";
    case S::Flannel: return ctx.network_driver == "flannel";
    case S::Calico: return ctx.network_driver == "calico";
    case S::Rexray: return ctx.volume_driver == "rexray";
    case S::Any: return true;
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> splitComma(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t comma = s.find(',', pos);
    out.push_back(s.substr(pos, comma == std::string_view::npos ? s.npos : comma - pos));
    if (comma == std::string_view::npos) return out;
    pos = comma + 1;
  }
}

bool contains(const std::vector<std::string_view>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

std::optional<std::string> valueProblem(const LabelRule& rule, std::string_view value) {
  switch (rule.type) {
    case T::Text:
      return std::nullopt;
    case T::Enum:
      if (contains(rule.values, value)) return std::nullopt;
      return fmt::format("{} is not one of {}", quoted(value), joinValues(rule.values));
    case T::EnumList: {
      if (value.empty()) return std::nullopt;
      std::set<std::string_view> seen;
      for (auto item : splitComma(value)) {
        if (!contains(rule.values, item)) {
          return fmt::format("{} is not one of {} (the value is a comma-separated list of them)",
                             quoted(item), joinValues(rule.values));
        }
        if (!seen.insert(item).second) return fmt::format("{} is listed twice", quoted(item));
      }
      return std::nullopt;
    }
    case T::Bool: {
      std::string l = lower(value);
      if (l == "true" || l == "false") return std::nullopt;
      return fmt::format("{} is not one of true, false", quoted(value));
    }
    case T::Ipv4Cidr:
      if (auto p = cidrProblem(value, true)) return fmt::format("{} {}", quoted(value), *p);
      return std::nullopt;
    case T::CidrList:
      if (value.empty()) return std::nullopt;
      for (auto item : splitComma(value)) {
        if (auto p = cidrProblem(item, false)) {
          return fmt::format("{} {} (the value is a comma-separated list of CIDRs)", quoted(item), *p);
        }
      }
      return std::nullopt;
    case T::Integer: {
      auto n = parseInteger(value);
      if (!n) return fmt::format("{} is not an integer", quoted(value));
      if (*n < rule.min) return fmt::format("{} must be at least {}", *n, rule.min);
      return std::nullopt;
    }
    case T::AbsolutePath:
      if (value.empty()) return std::nullopt;
      if (auto p = absolutePathProblem(value)) return fmt::format("{} {}", quoted(value), *p);
      return std::nullopt;
    case T::Flags: {
      size_t pos = 0;
      while ((pos = value.find_first_not_of(' ', pos)) != std::string_view::npos) {
        size_t end = value.find(' ', pos);
        std::string_view flag = value.substr(pos, end == std::string_view::npos ? value.npos : end - pos);
        if (flag.size() < 3 || flag.substr(0, 2) != "--" || flag[2] == '=' || flag[2] == '-') {
          return fmt::format("{} is not a flag such as --v=2 (the value is flags separated by spaces)",
                             quoted(flag));
        }
        if (flag.find_first_of("\"'`$\\;") != std::string_view::npos) {
          return fmt::format("{} contains a quote or shell character", quoted(flag));
        }
        pos = end;
      }
      return std::nullopt;
    }
    case T::KubernetesVersion: {
      if (value.empty()) return std::nullopt;
      std::string_view v = value.front() == 'v' ? value.substr(1) : value;
      int major = -1, minor = -1, patch = -1;
      char extra = 0;
      std::string text(v);
      bool parsed = std::sscanf(text.c_str(), "%d.%d.%d%c", &major, &minor, &patch, &extra) == 3 &&
                    text.find_first_not_of("0123456789.") == std::string::npos;
      if (!parsed || major != 1) {
        return fmt::format("{} is not a Kubernetes release such as {}", quoted(value),
                           kDefaultKubernetesVersion);
      }
      if (minor < kOldestKubernetesMinor || minor > kNewestKubernetesMinor) {
        return fmt::format("{} is outside the releases magnumd bootstraps: v1.{} to v1.{}",
                           quoted(value), kOldestKubernetesMinor, kNewestKubernetesMinor);
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string labelPath(std::string_view path, std::string_view key) { return fmt::format("{}.{}", path, key); }

void validateCrossRules(const StringMap& labels, const LabelContext* ctx, std::string_view path,
                        Causes& causes) {
  auto get = [&](std::string_view key) -> const std::string* {
    auto it = labels.find(std::string(key));
    return it == labels.end() ? nullptr : &it->second;
  };
  if (ctx != nullptr && boolLabel(labels, "cinder_csi_enabled").value_or(false) &&
      ctx->volume_driver != "cinder") {
    causes.add(labelPath(path, "cinder_csi_enabled"),
               fmt::format("\"true\" requires volumeDriver cinder (the template's volumeDriver is {})",
                           ctx->volume_driver.empty() ? "unset" : quoted(ctx->volume_driver)));
  }
  const std::string* cidr = get("flannel_network_cidr");
  const std::string* subnetlen = get("flannel_network_subnetlen");
  if (cidr != nullptr && subnetlen != nullptr) {
    auto network = parseCidr(*cidr);
    auto len = parseInteger(*subnetlen);
    if (network && !network->address.v6 && len && (*len <= network->prefix || *len > 30)) {
      causes.add(labelPath(path, "flannel_network_subnetlen"),
                 fmt::format("{} must be longer than the flannel network's /{} prefix and at most 30",
                             *len, network->prefix));
    }
  }
  const std::string* min = get("min_node_count");
  const std::string* max = get("max_node_count");
  if (min != nullptr && max != nullptr) {
    auto lo = parseInteger(*min);
    auto hi = parseInteger(*max);
    if (lo && hi && *lo > *hi) {
      causes.add(labelPath(path, "min_node_count"),
                 fmt::format("{} is greater than max_node_count {}", *lo, *hi));
    }
  }
}

}  // namespace

const std::vector<LabelRule>& labelRules() { return rules(); }

const LabelRule* findLabelRule(std::string_view key) {
  for (const auto& r : rules()) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

void applyLabelDefaults(const LabelContext& ctx, StringMap& labels) {
  for (const auto& r : rules()) {
    if (r.default_value.empty() || !applies(r.scope, ctx)) continue;
    labels.try_emplace(std::string(r.key), r.default_value);
  }
}

void validateLabels(const StringMap& labels, const LabelContext* ctx, std::string_view path, Causes& causes) {
  if (labels.size() > kMaxLabels) {
    causes.add(std::string(path), fmt::format("has {} labels; at most {} are allowed", labels.size(), kMaxLabels));
    return;
  }
  for (const auto& [key, value] : labels) {
    std::string field = labelPath(path, key);
    if (key.empty() || key.size() > kMaxKey) {
      causes.add(field, fmt::format("label keys must be 1 to {} characters", kMaxKey));
      continue;
    }
    bool key_ok = std::all_of(key.begin(), key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/';
    });
    if (!key_ok) {
      causes.add(field, fmt::format("label key {} may contain only letters, digits, '_', '-', '.' and '/'",
                                    quoted(key)));
      continue;
    }
    if (value.size() > kMaxLabelValue) {
      causes.add(field, fmt::format("value is {} bytes; at most {} are allowed", value.size(),
                                    kMaxLabelValue));
      continue;
    }
    if (value.find_first_of(std::string_view("\0\n\r", 3)) != std::string::npos) {
      causes.add(field, "value must not contain NUL or line breaks");
      continue;
    }
    if (const LabelRule* rule = findLabelRule(key)) {
      if (auto p = valueProblem(*rule, value)) causes.add(field, *p);
    }
  }
  validateCrossRules(labels, ctx, path, causes);
}

std::optional<bool> boolLabel(const StringMap& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  if (it == labels.end()) return std::nullopt;
  std::string l = lower(it->second);
  if (l == "true") return true;
  if (l == "false") return false;
  return std::nullopt;
}

std::optional<std::string_view> versionLabelDefault(std::string_view key) {
  static const std::vector<std::pair<std::string_view, std::string_view>> kDefaults = {
      {"kube_tag", kDefaultKubernetesVersion},
      {"etcd_tag", "v3.4.6"},
      {"coredns_tag", "1.6.6"},
      {"flannel_tag", "v0.26.4"},
      {"flannel_cni_tag", "v0.3.0"},
      {"heat_container_agent_tag", "victoria-dev"},
      {"cloud_provider_tag", "v1.18.0"},
      {"k8s_keystone_auth_tag", "v1.18.0"},
      {"calico_tag", "v3.29.3"},
      {"kube_dashboard_version", "v2.0.0"},
      {"metrics_scraper_tag", "v1.0.4"},
      {"metrics_server_chart_tag", "v2.8.8"},
      {"prometheus_adapter_chart_tag", "1.4.0"},
      {"tiller_tag", "v2.16.7"},
      {"tiller_namespace", "magnum-tiller"},
      {"helm_client_tag", "v3.2.1"},
      {"helm_client_sha256", "018f9908cb950701a5d59e757653a790c66d8eda288625dbb185354ca6f41f6b"},
      {"magnum_auto_healer_tag", "v1.18.0"},
      {"autoscaler_tag", "v1.18.1"},
      {"cinder_csi_plugin_tag", "v1.18.0"},
      {"csi_attacher_tag", "v2.0.0"},
      {"csi_provisioner_tag", "v1.4.0"},
      {"csi_snapshotter_tag", "v1.2.2"},
      {"csi_resizer_tag", "v0.3.0"},
      {"csi_node_driver_registrar_tag", "v1.1.0"},
      {"octavia_ingress_controller_tag", "v1.15.0"},
      {"nginx_ingress_controller_tag", "0.32.0"},
      {"nginx_ingress_controller_chart_tag", "v1.36.3"},
      {"traefik_ingress_controller_tag", "v1.7.10"},
      {"fixed_subnet_cidr", "10.0.0.0/24"},
      {"min_node_count", "1"},
  };
  for (const auto& [k, v] : kDefaults) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string kubernetesVersionOf(const StringMap& labels) {
  auto it = labels.find("kube_tag");
  if (it == labels.end() || it->second.empty()) return std::string(kDefaultKubernetesVersion);
  return it->second;
}

namespace {

std::optional<std::vector<int64_t>> versionParts(std::string_view text) {
  if (!text.empty() && text.front() == 'v') text.remove_prefix(1);
  std::vector<int64_t> parts;
  while (!text.empty()) {
    auto dot = text.find('.');
    std::string_view part = text.substr(0, dot);
    if (part.empty() || part.size() > 9 ||
        part.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    parts.push_back(std::stoll(std::string(part)));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (text.empty()) return std::nullopt;  // "1.2."
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

}  // namespace

std::optional<std::strong_ordering> compareKubernetesVersions(std::string_view a,
                                                              std::string_view b) {
  auto x = versionParts(a);
  auto y = versionParts(b);
  if (!x || !y) return std::nullopt;
  for (size_t i = 0; i < std::max(x->size(), y->size()); ++i) {
    int64_t p = i < x->size() ? (*x)[i] : 0;
    int64_t q = i < y->size() ? (*y)[i] : 0;
    if (p != q) return p <=> q;
  }
  return std::strong_ordering::equal;
}

bool ownLabelsDecide(const StringMap& labels, bool merge_labels, std::string_view key) {
  return labels.count(std::string(key)) > 0 || (!labels.empty() && !merge_labels);
}

}  // namespace magnumd::api
