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

  bool appliesTo(std::string_view service) const {
    if (error_services.empty()) return true;
    for (const auto& s : error_services) {
      if (s == service) return true;
    }
    return false;
  }
};

}  // namespace magnumd::cloudsim
