// One simulated cloud: Keystone, Heat and Nova state plus faults and request statistics, and the
// request router. Not thread-safe: the embedding (cloudsim.cc) serialises calls with a mutex.
// Everything here is a function of (state, clock, request), so tests drive it without sockets.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cloudsim/api_util.h"
#include "cloudsim/faults.h"
#include "cloudsim/glance_store.h"
#include "cloudsim/heat_engine.h"
#include "cloudsim/identity.h"
#include "cloudsim/kube_cluster.h"
#include "cloudsim/nova_store.h"
#include "cloudsim/scheduler.h"
#include "cloudsim/sim_config.h"

namespace magnumd::cloudsim {

class Sim {
 public:
  Sim(SimConfig config, const util::Clock& clock);

  // Users from a --users file (parsed YAML/JSON); without it the defaults apply.
  util::Status loadUsers(const util::Json& doc);

  // Serves one request. `tls` picks the scheme of the URLs handed out.
  Response handle(const Request& req, bool tls = false);
  // Injected latency for this request (0 for /sim and /healthz).
  std::chrono::milliseconds latencyFor(const Request& req);

  // Runs timed work that is due by now; the embedding calls it from its timer and before requests.
  void advance();
  std::optional<SystemTime> nextDue() const { return scheduler_.nextDue(); }

  Identity& identity() { return identity_; }
  NovaStore& nova() { return nova_; }
  ImageStore& images() { return images_; }
  KeypairStore& keypairs() { return keypairs_; }
  HeatEngine& heat() { return heat_; }
  KubeClusters& kube() { return kube_; }
  Faults& faults() { return faults_; }
  Interner& strings() { return strings_; }
  IdGenerator& ids() { return ids_; }
  const SimConfig& config() const { return config_; }
  const util::Clock& clock() const { return clock_; }
  std::map<std::string, uint64_t>& stats() { return stats_; }

  // Authenticates a Heat/Nova call: a valid token scoped to a project. Sets call.token.
  std::optional<Response> requireToken(Call& call, bool nova_errors);

 private:
  Response route(Call& call, std::string_view path);
  std::optional<Response> injectedFault(const Call& call, std::string_view service);
  // The lose_answers fault: `performed` is what the request did; maybe an error replaces it.
  Response loseAnswer(const Call& call, std::string_view service, Response performed);
  void count(std::string_view service, const Call& call);

  SimConfig config_;
  const util::Clock& clock_;
  IdGenerator ids_;
  IdGenerator fault_rng_;
  Interner strings_;
  Scheduler scheduler_;
  Faults faults_;
  Identity identity_;
  NovaStore nova_;
  ImageStore images_;
  KeypairStore keypairs_;
  HeatEngine heat_;
  KubeClusters kube_;
  std::map<std::string, uint64_t> stats_;
  bool users_loaded_ = false;
  uint64_t requests_ = 0;
};

// Service handlers (identity_api.cc, heat_api.cc, nova_api.cc, keypair_api.cc, glance_api.cc,
// sim_api.cc).
Response handleIdentity(Sim& sim, Call& call);
// Keystone's projects, users, roles, role assignments and domains for an authenticated caller
// (identity_admin_api.cc); nullopt when the path is none of those.
std::optional<Response> handleIdentityAdmin(Sim& sim, Call& call, const Token& caller);
Response handleHeat(Sim& sim, Call& call);
Response handleNova(Sim& sim, Call& call);
// Nova's os-keypairs; `mv` is the negotiated compute microversion's minor number.
Response handleKeypairs(Sim& sim, Call& call, int mv);
Response handleGlance(Sim& sim, Call& call);
Response handleSimApi(Sim& sim, Call& call);
Response versionsDocument(std::string_view service, const Call& call);

}  // namespace magnumd::cloudsim
