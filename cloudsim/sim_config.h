// Tunables of one simulator instance (command-line flags of `cloudsim`, or set by an embedder).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace magnumd::cloudsim {

// A service cloudsim's catalog lists beside its own (magnumd's Magnum API in --dev).
struct CatalogService {
  std::string type;  // "container-infra"
  std::string name;  // "magnum"
  std::string url;   // every interface's endpoint
};

struct SimConfig {
  uint64_t seed = 1;
  std::chrono::milliseconds server_build{2000};   // BUILD -> ACTIVE
  std::chrono::milliseconds build_jitter{0};      // + uniform [0, jitter) per server
  std::chrono::milliseconds delete_time{500};     // DELETE_IN_PROGRESS -> DELETE_COMPLETE
  std::chrono::milliseconds reboot_time{1000};    // REBOOT -> ACTIVE
  std::chrono::seconds token_ttl{3600};
  std::chrono::seconds deleted_retention{600};    // DELETE_COMPLETE stacks, DELETED servers
  size_t max_servers = 1'000'000;
  size_t max_stacks = 200'000;
  size_t max_group_size = 10'000;                 // ResourceGroup count limit
  size_t max_events_per_stack = 5'000;            // oldest dropped beyond this
  size_t max_tokens = 500'000;
  int nova_max_limit = 1000;                      // Nova's [api] max_limit
  // Simulated kube-apiservers listen on 127.0.0.1, ports [start, start + count); count 0: any
  // free port.
  uint16_t kube_api_port_start = 0;
  uint16_t kube_api_port_count = 0;
  std::vector<CatalogService> extra_services;
};

}  // namespace magnumd::cloudsim
