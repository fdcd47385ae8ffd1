// Nova's servers, kept compact: no JSON per server, repeated strings interned, addresses derived
// from the server's sequence number. Rendering to JSON happens in nova_api.cc.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cloudsim/scheduler.h"
#include "cloudsim/sim_config.h"
#include "cloudsim/support.h"
#include "util/result.h"

namespace magnumd::cloudsim {

enum class VmState : uint8_t { Building, Active, Stopped, Error, Deleted };
enum class TaskState : uint8_t { None, Spawning, Rebooting, RebootingHard, Deleting };

struct Flavor {
  std::string id;
  std::string name;
  int vcpus, ram, disk;
};

struct Server {
  std::string id;
  std::string name;
  uint32_t project = kNone;       // interned project id
  uint32_t user = kNone;          // interned user id
  uint32_t flavor = 0;            // index into flavors()
  uint32_t image = 0;             // interned image id
  uint32_t key_name = 0;          // interned, 0 = none
  uint32_t fault = 0;             // interned fault message, 0 = none
  uint32_t owner = kNone;         // stack slot that created it
  uint32_t generation = 0;        // bumps on every state change; stale timers compare it
  uint32_t seq = 0;               // creation number, drives addresses
  VmState vm = VmState::Building;
  TaskState task = TaskState::Spawning;
  bool purged = false;
  SystemTime created, updated, launched, deleted;
  std::vector<std::pair<uint32_t, uint32_t>> metadata;  // interned key, value
  std::vector<uint32_t> tags;                           // interned
  std::vector<uint32_t> networks;                       // interned network names
  std::vector<uint32_t> ports;  // interned port id per network, 0: an address of Nova's own
  std::string user_data;        // decoded; Nova hands out base64
};

// Neutron as far as servers show it: a port Heat creates (OS::Neutron::Port, an Octavia load
// balancer's VIP) has a fixed address on its network; a server booted on the port shows that
// address under the network's name, and a floating IP associated with the port as its floating
// address.
struct Port {
  uint32_t network = 0;  // interned network name
  std::string subnet;    // as the port was given it, may be empty
  std::string address;
  std::string mac;
  std::string floating_ip;  // id of the floating IP associated with it, "" when none
};

struct FloatingIp {
  std::string address;
  std::string port;  // "" when not associated
};

struct ServerSpec {
  std::string name;
  std::string flavor;
  std::string image;
  std::string key_name;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> tags;
  std::vector<std::string> networks;  // names, ids of networks named with nameNetwork(), or ports
  std::string user_data;              // decoded (Heat's user_data property, format RAW)
  uint32_t project = kNone;
  uint32_t user = kNone;
  uint32_t owner = kNone;
};

std::string_view statusOf(const Server& s);  // ACTIVE, BUILD, ERROR, SHUTOFF, REBOOT, DELETED, ...

class NovaStore {
 public:
  NovaStore(const SimConfig& config, const util::Clock& clock, IdGenerator& ids, Interner& strings,
            Scheduler& scheduler);

  // Called when a server changes in a way its owner stack may care about.
  void onChange(std::function<void(uint32_t owner)> callback) { on_change_ = std::move(callback); }
  // Called with the server's slot on every state change (the simulated kube-apiservers watch it).
  void onServerChange(std::function<void(uint32_t slot)> callback) {
    on_server_change_ = std::move(callback);
  }
  // Nova keys `addresses` by network name: a network created by Heat (OS::Neutron::Net) is
  // referenced by its id, which this maps back to its name.
  void nameNetwork(std::string_view id, std::string_view name);

  util::Result<uint32_t> create(const ServerSpec& spec);
  // Applies a re-evaluated definition in place (name, metadata, tags).
  void update(uint32_t slot, const ServerSpec& spec);
  // Marks deleted now (it shows as DELETED in changes-since until the retention ends).
  void remove(uint32_t slot);
  void beginDelete(uint32_t slot);  // task_state deleting, still listed
  // Forgets a server completely (a create that was rolled back before anyone saw it).
  void discard(uint32_t slot);

  util::Status setStatus(uint32_t slot, std::string_view status, std::string_view reason);
  util::Status reboot(uint32_t slot, bool hard);
  util::Status startStop(uint32_t slot, bool start);

  void onScheduled(const Scheduled& s);

  std::optional<uint32_t> find(std::string_view id) const;  // live or deleted, not purged
  const Server& at(uint32_t slot) const { return servers_[slot]; }
  Server& mutableAt(uint32_t slot) { return servers_[slot]; }
  size_t slots() const { return servers_.size(); }
  size_t liveCount() const { return live_; }
  const std::vector<Flavor>& flavors() const { return flavors_; }
  const Flavor& flavor(uint32_t i) const { return flavors_[i]; }
  const std::string& imageOf(const Server& s) const { return strings_.get(s.image); }  // as booted
  std::string address(const Server& s, size_t network_index) const;
  std::string macAddress(const Server& s, size_t network_index) const;
  // The floating IP of the server's port on that network; "" when none.
  std::string floatingAddress(const Server& s, size_t network_index) const;

  // Ports and floating IPs, by the ids Heat gave their resources. Addresses come from counters,
  // so the same request sequence hands out the same addresses.
  const Port& createPort(std::string_view id, std::string_view network, std::string_view subnet);
  const Port* port(std::string_view id) const;
  void removePort(std::string_view id);
  const FloatingIp& createFloatingIp(std::string_view id);
  const FloatingIp* floatingIp(std::string_view id) const;
  // Moves the floating IP to `port_id` ("" disassociates it). Conflict, as Neutron answers, when
  // the port already has another floating IP.
  util::Status associateFloatingIp(std::string_view id, std::string_view port_id);
  void removeFloatingIp(std::string_view id);
  void touch(Server& s);

 private:
  uint32_t flavorIndex(std::string_view name_or_id);
  void changed(Server& s);

  const SimConfig& config_;
  const util::Clock& clock_;
  IdGenerator& ids_;
  Interner& strings_;
  Scheduler& scheduler_;
  std::function<void(uint32_t)> on_change_;
  std::function<void(uint32_t)> on_server_change_;
  std::unordered_map<uint32_t, uint32_t> network_names_;  // interned id -> interned name
  std::unordered_map<std::string, Port> ports_;
  std::unordered_map<std::string, FloatingIp> floating_ips_;
  uint32_t next_port_seq_ = 0;
  uint32_t next_floating_seq_ = 0;
  std::vector<Server> servers_;
  std::unordered_map<std::string, uint32_t> by_id_;
  std::vector<Flavor> flavors_;
  size_t live_ = 0;
  uint32_t next_seq_ = 0;
};

}  // namespace magnumd::cloudsim
