// `magnumctl delete`, `wait` and `version`.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cli/commands.h"
#include "cli/duration.h"
#include "cli/kinds.h"
#include "cli/manifest.h"

#ifndef MAGNUMD_VERSION
#define MAGNUMD_VERSION "unknown"
#endif

namespace magnumd::cli {

using util::Json;
using Clock = std::chrono::steady_clock;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const Json* findCondition(const Json& object, std::string_view type) {
  const Json* status = util::member(object, "status");
  const Json* conditions = status ? util::member(*status, "conditions") : nullptr;
  if (conditions == nullptr || !conditions->IsArray()) return nullptr;
  for (const auto& c : conditions->GetArray()) {
    if (iequals(util::stringMember(c, "type").value_or(""), type)) return &c;
  }
  return nullptr;
}

// "Ready is False (StackCreating: waiting for Heat)" for timeout messages.
std::string conditionSummary(const Json& object, const WaitTarget& target) {
  const Json* c = findCondition(object, target.condition);
  if (c == nullptr) return fmt::format("{} is not reported yet", target.condition);
  std::string reason = util::stringMember(*c, "reason").value_or("");
  std::string message = util::stringMember(*c, "message").value_or("");
  std::string out =
      fmt::format("{} is {}", target.condition, util::stringMember(*c, "status").value_or("?"));
  if (!reason.empty() || !message.empty()) out += fmt::format(" ({}: {})", reason, message);
  return out;
}

enum class WaitResult { Met, TimedOut, Failed };

struct Waiter {
  Context& ctx;
  api::Kind kind;
  WaitTarget target;
  Clock::time_point deadline;

  std::string objectName(const Json& object) const {
    const Json* meta = util::member(object, "metadata");
    return meta ? util::stringMember(*meta, "name").value_or("") : "";
  }
  bool met(const Json& object) const { return !target.deletion && conditionMet(object, target); }

  WaitResult fail(const ApiError& error) {
    ctx.err << formatError(error) << "\n";
    return WaitResult::Failed;
  }

  // Current revision first, then the object: a change between the two is replayed by the watch.
  WaitResult waitOne(const std::string& name) {
    std::string last_state;
    for (;;) {
      auto page = ctx.api.list(kind, ctx.ns, {"", 1, true});
      if (!page.ok()) return fail(page.error());
      const Json* meta = util::member(*page, "metadata");
      std::string rv = meta ? util::stringMember(*meta, "resourceVersion").value_or("") : "";
      auto object = ctx.api.get(kind, ctx.ns, name);
      if (!object.ok()) {
        if (object.error().http_status == 404 && target.deletion) return WaitResult::Met;
        return fail(object.error());
      }
      if (met(*object)) return WaitResult::Met;
      if (!target.deletion) last_state = conditionSummary(*object, target);
      bool deleted = false;
      bool satisfied = false;
      auto end = ctx.api.watch({kind, ctx.ns, "", rv, deadline}, [&](const WatchEvent& e) {
        if (e.type == "BOOKMARK" || objectName(e.object) != name) return true;
        if (e.type == "DELETED") {
          deleted = true;
          return false;
        }
        if (!target.deletion) last_state = conditionSummary(e.object, target);
        satisfied = met(e.object);
        return !satisfied;
      });
      if (satisfied || (deleted && target.deletion)) return WaitResult::Met;
      if (deleted) {
        ctx.err << fmt::format("error: {} was deleted while waiting for {}\n", kindRef(kind, name),
                               target.condition);
        return WaitResult::Failed;
      }
      bool timed_out = (!end.ok() && end.error().reason == "Timeout") || Clock::now() >= deadline;
      if (timed_out) {
        ctx.err << fmt::format("error: timed out waiting for {} on {}{}\n",
                               target.deletion ? "deletion" : "the condition", kindRef(kind, name),
                               last_state.empty() ? "" : ": " + last_state);
        return WaitResult::TimedOut;
      }
      if (!end.ok() && end.error().http_status != 410) return fail(end.error());
      // 410 or the server closed the stream: look again from a fresh revision.
    }
  }
};

int waitAll(Context& ctx, api::Kind kind, const std::vector<std::string>& names,
            const WaitTarget& target, std::chrono::milliseconds timeout) {
  Waiter waiter{ctx, kind, target, Clock::now() + timeout};
  int failed = 0;
  for (const auto& name : names) {
    if (waiter.waitOne(name) != WaitResult::Met) {
      ++failed;
      continue;
    }
    ctx.out << kindRef(kind, name) << (target.deletion ? " deleted" : " condition met") << "\n";
    ctx.out.flush();
  }
  return failed == 0 ? 0 : 1;
}

struct Named {
  api::Kind kind;
  std::string name;
  std::string ns;
};

util::Result<std::vector<Named>> namesFromFiles(Context& ctx,
                                                const std::vector<std::string>& files) {
  ASSIGN_OR_RETURN(auto manifests, loadManifests(files, ctx.in));
  orderForApply(manifests);
  std::vector<Named> out;
  // Dependents first. Iterating backwards rather than std::reverse: swapping RapidJSON documents
  // trips GCC's -Wmaybe-uninitialized at -O2.
  for (auto it = manifests.rbegin(); it != manifests.rend(); ++it) {
    const Manifest& m = *it;
    ASSIGN_OR_RETURN(api::Kind kind, resolveKind(util::stringMember(m.doc, "kind").value_or("")));
    const Json* meta = util::member(m.doc, "metadata");
    auto name = meta ? util::stringMember(*meta, "name") : std::nullopt;
    auto ns = meta ? util::stringMember(*meta, "namespace") : std::nullopt;
    if (!name) {
      return util::makeError(util::ErrorCode::BadRequest, m.source + ": metadata.name is required");
    }
    out.push_back({kind, *name, ns.value_or(ctx.ns)});
  }
  return out;
}

}  // namespace

util::Result<WaitTarget> parseWaitFor(std::string_view text) {
  WaitTarget t;
  if (text == "delete") {
    t.deletion = true;
    return t;
  }
  constexpr std::string_view kPrefix = "condition=";
  if (text.rfind(kPrefix, 0) == 0 && text.size() > kPrefix.size()) {
    std::string_view rest = text.substr(kPrefix.size());
    auto eq = rest.find('=');
    t.condition = std::string(rest.substr(0, eq));
    if (eq != std::string_view::npos) t.status = std::string(rest.substr(eq + 1));
    if (!t.condition.empty() && !t.status.empty()) return t;
  }
  return util::makeError(util::ErrorCode::BadRequest,
                         fmt::format("--for: \"{}\" is not understood; use delete, "
                                     "condition=NAME or condition=NAME=True|False|Unknown",
                                     text));
}

bool conditionMet(const Json& object, const WaitTarget& target) {
  const Json* c = findCondition(object, target.condition);
  if (c == nullptr) return false;
  // As kubectl wait: a condition written for an older generation says nothing about the spec
  // just changed (Ready from before an upgrade). 0 is unset, as Kubernetes omits it.
  const Json* meta = util::member(object, "metadata");
  auto generation = meta ? util::intMember(*meta, "generation") : std::nullopt;
  auto observed = util::intMember(*c, "observedGeneration").value_or(0);
  if (generation && observed > 0 && observed < *generation) return false;
  return iequals(util::stringMember(*c, "status").value_or(""), target.status);
}

int runWait(Context& ctx, const WaitOptions& o) {
  auto kind = resolveKind(o.kind);
  auto target = parseWaitFor(o.for_condition);
  auto timeout = parseDuration(o.timeout);
  for (const util::Error* e :
       {kind.ok() ? nullptr : &kind.error(), target.ok() ? nullptr : &target.error(),
        timeout.ok() ? nullptr : &timeout.error()}) {
    if (e != nullptr) {
      ctx.err << "error: " << e->message << "\n";
      return 1;
    }
  }
  return waitAll(ctx, *kind, o.names, *target, *timeout);
}

int runDelete(Context& ctx, const DeleteOptions& o) {
  auto timeout = parseDuration(o.timeout);
  if (!timeout.ok()) {
    ctx.err << "error: " << timeout.error().message << "\n";
    return 1;
  }
  std::vector<Named> targets;
  if (!o.files.empty()) {
    auto named = namesFromFiles(ctx, o.files);
    if (!named.ok()) {
      ctx.err << "error: " << named.error().message << "\n";
      return 1;
    }
    targets = std::move(*named);
  } else {
    auto kind = resolveKind(o.kind);
    if (!kind.ok()) {
      ctx.err << "error: " << kind.error().message << "\n";
      return 1;
    }
    for (const auto& name : o.names) targets.push_back({*kind, name, ctx.ns});
  }
  int failed = 0;
  std::vector<Named> deleted;
  for (const auto& t : targets) {
    auto result = ctx.api.remove(t.kind, t.ns, t.name);
    if (!result.ok()) {
      ctx.err << formatError(result.error()) << "\n";
      ++failed;
      continue;
    }
    ctx.out << kindRef(t.kind, t.name) << " deleted\n";
    ctx.out.flush();
    deleted.push_back(t);
  }
  if (o.wait) {
    WaitTarget gone{true, "", ""};
    auto deadline = Clock::now() + *timeout;
    for (const auto& t : deleted) {
      Context scoped{ctx.api, ctx.out, ctx.err, ctx.in, t.ns, ctx.ns_explicit, ctx.clock};
      Waiter waiter{scoped, t.kind, gone, deadline};
      if (waiter.waitOne(t.name) != WaitResult::Met) ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

int runVersion(Context& ctx, bool client_only) {
  ctx.out << "Client Version: " << MAGNUMD_VERSION << "\n";
  if (client_only) return 0;
  auto server = ctx.api.getRaw("/version");
  if (!server.ok()) {
    ctx.err << formatError(server.error()) << "\n";
    return 1;
  }
  std::string version;
  for (const char* field : {"version", "gitVersion"}) {
    if (auto v = util::stringMember(*server, field)) {
      version = *v;
      break;
    }
  }
  ctx.out << "Server Version: " << (version.empty() ? util::toJson(*server) : version) << "\n";
  // Replicas on etcd: which one answered, and which one runs the controllers.
  if (auto replica = util::stringMember(*server, "replica")) {
    auto role = util::stringMember(*server, "role").value_or("");
    auto leader = util::stringMember(*server, "leader").value_or("");
    ctx.out << "Server Replica: " << *replica << " (" << role << ")\n"
            << "Leader: " << (leader.empty() ? "none elected" : leader) << "\n";
  }
  return 0;
}

}  // namespace magnumd::cli
