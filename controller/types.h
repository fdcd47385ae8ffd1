// The vocabulary every controller-runtime piece shares: what a reconcile is asked to look at
// (Request), what it answers (Result), and the Reconciler interface the reconcilers implement.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "api/object.h"
#include "util/result.h"

namespace magnumd::controller {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

// Which object to look at. Events only name the key; the reconcile reads the current state.
using Request = api::ObjectKey;

struct RequestHash {
  size_t operator()(const Request& r) const noexcept {
    size_t h = std::hash<std::string>{}(r.namespace_);
    h = h * 31 + std::hash<std::string>{}(r.name);
    return h * 31 + static_cast<size_t>(r.kind);
  }
};

// "Cluster demo/prod", for logs and messages.
std::string describe(const Request& request);

// What a reconcile pass answers; the semantics are controller-runtime's:
// - error (not terminal): requeued with per-key exponential backoff; requeue_after is ignored.
// - error, terminal: logged and counted, not retried (a later change to the object re-queues it).
// - requeue_after > 0: backoff forgotten, the key comes back after that long.
// - otherwise: success, backoff forgotten.
struct Result {
  std::optional<Duration> requeue_after;
  std::optional<util::Error> error;
  bool terminal = false;

  static Result done() { return {}; }
  static Result after(Duration d) { return Result{d, std::nullopt, false}; }
  static Result fail(util::Error e) { return Result{std::nullopt, std::move(e), false}; }
  static Result terminalFailure(util::Error e) { return Result{std::nullopt, std::move(e), true}; }
  bool ok() const { return !error.has_value(); }
};

// Runs on a worker thread; may block on the store's *Sync helpers and on the cloud driver, but
// should requeue rather than wait for slow cloud operations. Never called concurrently for the
// same Request. May throw: an exception counts as a (non-terminal) error.
class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual Result reconcile(const Request& request) = 0;
};

// Adapts a lambda, handy in tests and for small controllers.
class FuncReconciler final : public Reconciler {
 public:
  explicit FuncReconciler(std::function<Result(const Request&)> fn) : fn_(std::move(fn)) {}
  Result reconcile(const Request& request) override { return fn_(request); }

 private:
  std::function<Result(const Request&)> fn_;
};

}  // namespace magnumd::controller
