// Injected faults, set through /sim/v1/faults. Plain data: the engine and the request path read
// it, the sim API writes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/time.h"

namespace magnumd::cloudsim {

struct FailNext {
  uint32_t count = 0;
  std::string reason;
};

// The next `count` matching requests are performed, then their answer is replaced by an error
// (what a client sees when a proxy times out after the cloud acted): a client that retries such a
// create blindly makes a duplicate.
struct LoseAnswers {
  uint32_t count = 0;
  std::string service;  // identity | heat | nova; empty: any
  std::string method;   // POST, PATCH, DELETE, ...; empty: any
  int status = 504;
};

struct Faults {
  FailNext stack_create;
  FailNext stack_update;
  FailNext stack_delete;
  double error_rate = 0.0;            // fraction of OpenStack API requests answered with error_status
  int error_status = 503;
  std::vector<std::string> error_services;  // empty: identity, heat and nova
  uint32_t latency_ms = 0;            // added before every OpenStack API request
  uint32_t latency_jitter_ms = 0;     // + uniform [0, jitter)
  util::SystemTime unavailable_until{};  // every OpenStack API request answers 503 until then
  LoseAnswers lose_answers;
  // Simulated Kubernetes nodes. A server whose name matches one of these globs (`*`, `?`) when it
  // turns ACTIVE never runs kubeadm init/join to the end: no Node appears for it.
  std::vector<std::string> never_join;
  // Servers booted from one of these images (by name or id) register their Node, which stays
  // NotReady (the CNI never comes up) until set Ready through /sim/v1 or replaced.
  std::vector<std::string> never_ready_images;
  // A deleted server's Node stays (Ready=Unknown) until it is deleted through the cluster's API, as
  // in a cluster without a cloud controller manager. Off: it leaves with its server.
  bool nodes_outlive_servers = false;

  bool appliesTo(std::string_view service) const {
    if (error_services.empty()) return true;
    for (const auto& s : error_services) {
      if (s == service) return true;
    }
    return false;
  }
};

}  // namespace magnumd::cloudsim
