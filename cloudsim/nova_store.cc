#include "cloudsim/nova_store.h"

#include <fmt/format.h>

#include "cloudsim/kube_bootstrap.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::makeError;

std::vector<Flavor> defaultFlavors() {
  return {{"1", "m1.tiny", 1, 512, 1},     {"2", "m1.small", 1, 2048, 20},
          {"3", "m1.medium", 2, 4096, 40}, {"4", "m1.large", 4, 8192, 80},
          {"5", "m1.xlarge", 8, 16384, 160}, {"c1", "cirros256", 1, 256, 1},
          {"d1", "ds512M", 1, 512, 5},     {"d2", "ds1G", 1, 1024, 10},
          {"d3", "ds2G", 2, 2048, 10},     {"d4", "ds4G", 4, 4096, 20}};
}

util::Error conflict(const Server& s, std::string_view action) {
  return makeError(ErrorCode::Conflict,
                   fmt::format("Cannot '{}' instance {} while it is in vm_state {}", action, s.id,
                               statusOf(s)));
}

}  // namespace

std::string_view statusOf(const Server& s) {
  switch (s.vm) {
    case VmState::Building: return "BUILD";
    case VmState::Deleted: return "DELETED";
    case VmState::Error: return "ERROR";
    case VmState::Stopped: return "SHUTOFF";
    case VmState::Active:
      if (s.task == TaskState::Rebooting) return "REBOOT";
      if (s.task == TaskState::RebootingHard) return "HARD_REBOOT";
      return "ACTIVE";
  }
  return "UNKNOWN";
}

NovaStore::NovaStore(const SimConfig& config, const util::Clock& clock, IdGenerator& ids,
                     Interner& strings, Scheduler& scheduler)
    : config_(config), clock_(clock), ids_(ids), strings_(strings), scheduler_(scheduler),
      flavors_(defaultFlavors()) {}

uint32_t NovaStore::flavorIndex(std::string_view name_or_id) {
  for (uint32_t i = 0; i < flavors_.size(); ++i) {
    if (flavors_[i].name == name_or_id || flavors_[i].id == name_or_id) return i;
  }
  // Templates may name any flavor; an unknown one becomes a small flavor of that name.
  flavors_.push_back(Flavor{std::string(name_or_id), std::string(name_or_id), 1, 2048, 20});
  return static_cast<uint32_t>(flavors_.size() - 1);
}

void NovaStore::touch(Server& s) {
  s.updated = clock_.now();
  s.generation++;
}

void NovaStore::changed(Server& s) {
  touch(s);
  if (on_change_ && s.owner != kNone) on_change_(s.owner);
  if (on_server_change_) on_server_change_(static_cast<uint32_t>(&s - servers_.data()));
}

void NovaStore::nameNetwork(std::string_view id, std::string_view name) {
  network_names_[strings_.intern(id)] = strings_.intern(name);
}

util::Result<uint32_t> NovaStore::create(const ServerSpec& spec) {
  if (live_ >= config_.max_servers) {
    return makeError(ErrorCode::Forbidden,
                     fmt::format("Quota exceeded for instances: cloudsim holds at most {} servers",
                                 config_.max_servers));
  }
  // Nova's schema: user_data is base64 of at most 65,535 characters.
  size_t encoded = (spec.user_data.size() + 2) / 3 * 4;
  if (encoded > kMaxUserDataBase64) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("Invalid input for field/attribute user_data. Value: {} bytes of "
                                 "base64 is too long (maxLength 65535)",
                                 encoded));
  }
  Server s;
  s.id = ids_.uuid();
  s.user_data = spec.user_data;
  s.name = spec.name;
  s.project = spec.project;
  s.user = spec.user;
  s.flavor = flavorIndex(spec.flavor.empty() ? "m1.small" : spec.flavor);
  s.image = strings_.intern(spec.image);
  s.key_name = strings_.intern(spec.key_name);
  s.owner = spec.owner;
  s.seq = next_seq_++;
  s.created = s.updated = clock_.now();
  for (const auto& [k, v] : spec.metadata) s.metadata.emplace_back(strings_.intern(k), strings_.intern(v));
  for (const auto& t : spec.tags) s.tags.push_back(strings_.intern(t));
  for (const auto& n : spec.networks) {
    if (const Port* p = port(n)) {
      s.networks.push_back(p->network);
      s.ports.push_back(strings_.intern(n));
      continue;
    }
    uint32_t net = strings_.intern(n);
    auto named = network_names_.find(net);
    s.networks.push_back(named == network_names_.end() ? net : named->second);
    s.ports.push_back(0);
  }
  if (s.networks.empty()) {
    s.networks.push_back(strings_.intern("private"));
    s.ports.push_back(0);
  }
  auto slot = static_cast<uint32_t>(servers_.size());
  by_id_.emplace(s.id, slot);
  auto delay = config_.server_build;
  if (config_.build_jitter.count() > 0) {
    delay += std::chrono::milliseconds(
        static_cast<int64_t>(ids_.uniform01() * static_cast<double>(config_.build_jitter.count())));
  }
  scheduler_.add(s.created + delay, Work::ServerBuilt, slot, s.generation);
  servers_.push_back(std::move(s));
  live_++;
  return slot;
}

void NovaStore::update(uint32_t slot, const ServerSpec& spec) {
  Server& s = servers_[slot];
  s.name = spec.name;
  s.metadata.clear();
  for (const auto& [k, v] : spec.metadata) s.metadata.emplace_back(strings_.intern(k), strings_.intern(v));
  s.tags.clear();
  for (const auto& t : spec.tags) s.tags.push_back(strings_.intern(t));
  s.updated = clock_.now();  // no generation bump: a pending build still completes
}

void NovaStore::remove(uint32_t slot) {
  Server& s = servers_[slot];
  if (s.vm == VmState::Deleted || s.purged) return;
  s.vm = VmState::Deleted;
  s.task = TaskState::None;
  s.deleted = clock_.now();
  live_--;
  changed(s);
  scheduler_.add(s.deleted + config_.deleted_retention, Work::ServerPurge, slot, s.generation);
}

void NovaStore::beginDelete(uint32_t slot) {
  Server& s = servers_[slot];
  if (s.vm == VmState::Deleted) return;
  s.task = TaskState::Deleting;
  s.updated = clock_.now();
}

void NovaStore::discard(uint32_t slot) {
  Server& s = servers_[slot];
  if (s.purged) return;
  if (s.vm != VmState::Deleted) live_--;
  by_id_.erase(s.id);
  s = Server{};
  s.purged = true;
  s.vm = VmState::Deleted;
}

util::Status NovaStore::setStatus(uint32_t slot, std::string_view status, std::string_view reason) {
  Server& s = servers_[slot];
  if (s.vm == VmState::Deleted) return makeError(ErrorCode::NotFound, "server " + s.id + " is deleted");
  if (status == "ERROR") {
    s.vm = VmState::Error;
    s.fault = strings_.intern(reason.empty() ? "No valid host was found. " : reason);
  } else if (status == "SHUTOFF") {
    s.vm = VmState::Stopped;
  } else if (status == "ACTIVE") {
    s.vm = VmState::Active;
    s.fault = 0;
    if (s.launched == SystemTime{}) s.launched = clock_.now();
  } else if (status == "BUILD") {
    s.vm = VmState::Building;
  } else {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("status \"{}\" is not one of ERROR, SHUTOFF, ACTIVE, BUILD", status));
  }
  s.task = TaskState::None;
  changed(s);
  return {};
}

util::Status NovaStore::reboot(uint32_t slot, bool hard) {
  Server& s = servers_[slot];
  bool allowed = hard ? (s.vm == VmState::Active || s.vm == VmState::Error || s.vm == VmState::Stopped)
                      : (s.vm == VmState::Active && s.task == TaskState::None);
  if (!allowed) return conflict(s, "reboot");
  s.vm = VmState::Active;
  s.fault = 0;
  s.task = hard ? TaskState::RebootingHard : TaskState::Rebooting;
  changed(s);
  scheduler_.add(clock_.now() + config_.reboot_time, Work::ServerRebooted, slot, s.generation);
  return {};
}

util::Status NovaStore::startStop(uint32_t slot, bool start) {
  Server& s = servers_[slot];
  if (start ? s.vm != VmState::Stopped : s.vm != VmState::Active || s.task != TaskState::None) {
    return conflict(s, start ? "start" : "stop");
  }
  s.vm = start ? VmState::Active : VmState::Stopped;
  changed(s);
  return {};
}

void NovaStore::onScheduled(const Scheduled& work) {
  if (work.target >= servers_.size()) return;
  Server& s = servers_[work.target];
  if (s.generation != work.generation) return;
  switch (work.work) {
    case Work::ServerBuilt:
      if (s.vm != VmState::Building) return;
      s.vm = VmState::Active;
      s.task = TaskState::None;
      s.launched = clock_.now();
      changed(s);
      break;
    case Work::ServerRebooted:
      s.task = TaskState::None;
      changed(s);
      break;
    case Work::ServerPurge:
      if (s.vm == VmState::Deleted) discard(work.target);
      break;
    default:
      break;
  }
}

std::optional<uint32_t> NovaStore::find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

namespace {

const Port* portOf(const Server& s, size_t network_index, const Interner& strings,
                   const std::unordered_map<std::string, Port>& ports) {
  if (network_index >= s.ports.size() || s.ports[network_index] == 0) return nullptr;
  auto it = ports.find(strings.get(s.ports[network_index]));
  return it == ports.end() ? nullptr : &it->second;
}

}  // namespace

// Nova's own addresses count up from 10.0.0.2, ports' from 10.128.0.2, floating IPs' from
// 172.24.0.2 (devstack's public range), so none collide.
std::string NovaStore::address(const Server& s, size_t network_index) const {
  if (const Port* p = portOf(s, network_index, strings_, ports_)) return p->address;
  uint32_t n = s.seq;
  return fmt::format("10.{}.{}.{}", (n / 250 / 256 + network_index * 64) % 256, (n / 250) % 256,
                     2 + n % 250);
}

std::string NovaStore::macAddress(const Server& s, size_t network_index) const {
  if (const Port* p = portOf(s, network_index, strings_, ports_)) return p->mac;
  uint32_t n = s.seq;
  return fmt::format("fa:16:3e:{:02x}:{:02x}:{:02x}", ((n >> 16) + network_index * 64) & 0xff,
                     (n >> 8) & 0xff, n & 0xff);
}

std::string NovaStore::floatingAddress(const Server& s, size_t network_index) const {
  const Port* p = portOf(s, network_index, strings_, ports_);
  if (p == nullptr || p->floating_ip.empty()) return "";
  const FloatingIp* fip = floatingIp(p->floating_ip);
  return fip == nullptr ? "" : fip->address;
}

const Port& NovaStore::createPort(std::string_view id, std::string_view network,
                                  std::string_view subnet) {
  uint32_t n = next_port_seq_++;
  uint32_t net = strings_.intern(network);
  auto named = network_names_.find(net);
  Port& p = ports_[std::string(id)];
  p.network = named == network_names_.end() ? net : named->second;
  p.subnet = std::string(subnet);
  p.address = fmt::format("10.{}.{}.{}", 128 + (n / 250 / 256) % 128, (n / 250) % 256, 2 + n % 250);
  p.mac = fmt::format("fa:16:3f:{:02x}:{:02x}:{:02x}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  return p;
}

const Port* NovaStore::port(std::string_view id) const {
  auto it = ports_.find(std::string(id));
  return it == ports_.end() ? nullptr : &it->second;
}

void NovaStore::removePort(std::string_view id) {
  auto it = ports_.find(std::string(id));
  if (it == ports_.end()) return;
  if (auto fip = floating_ips_.find(it->second.floating_ip); fip != floating_ips_.end()) {
    fip->second.port.clear();
  }
  ports_.erase(it);
}

const FloatingIp& NovaStore::createFloatingIp(std::string_view id) {
  uint32_t n = next_floating_seq_++;
  FloatingIp& f = floating_ips_[std::string(id)];
  f.address = fmt::format("172.24.{}.{}", (n / 250) % 256, 2 + n % 250);
  return f;
}

const FloatingIp* NovaStore::floatingIp(std::string_view id) const {
  auto it = floating_ips_.find(std::string(id));
  return it == floating_ips_.end() ? nullptr : &it->second;
}

util::Status NovaStore::associateFloatingIp(std::string_view id, std::string_view port_id) {
  auto fip = floating_ips_.find(std::string(id));
  if (fip == floating_ips_.end()) {
    return makeError(ErrorCode::NotFound, fmt::format("Floating IP {} could not be found", id));
  }
  if (fip->second.port == port_id) return {};
  auto port = ports_.find(std::string(port_id));
  if (!port_id.empty()) {
    if (port == ports_.end()) {
      return makeError(ErrorCode::NotFound, fmt::format("Port {} could not be found.", port_id));
    }
    if (!port->second.floating_ip.empty()) {
      // Neutron maps one floating IP to one fixed address.
      return makeError(ErrorCode::Conflict,
                       fmt::format("Cannot associate floating IP {} with port {} using fixed IP "
                                   "{}, as that fixed IP already has a floating IP on external "
                                   "network.",
                                   fip->second.address, port_id, port->second.address));
    }
  }
  if (auto old = ports_.find(fip->second.port); old != ports_.end())
    old->second.floating_ip.clear();
  fip->second.port = std::string(port_id);
  if (!port_id.empty()) port->second.floating_ip = std::string(id);
  return {};
}

void NovaStore::removeFloatingIp(std::string_view id) {
  (void)associateFloatingIp(id, "");
  floating_ips_.erase(std::string(id));
}

}  // namespace magnumd::cloudsim
