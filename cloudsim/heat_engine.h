// Heat's stack engine: stacks of a project, their resources (servers, ResourceGroups, provider
// templates, no-op resources), asynchronous status, events and outputs. HTTP lives in heat_api.cc.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cloudsim/faults.h"
#include "cloudsim/hot.h"
#include "cloudsim/nova_store.h"
#include "cloudsim/scheduler.h"
#include "cloudsim/sim_config.h"
#include "cloudsim/support.h"

namespace magnumd::cloudsim {

enum class Action : uint8_t { Init, Create, Update, Delete, Check };
enum class Status : uint8_t { InProgress, Complete, Failed };
enum class Kind : uint8_t { Noop, Server, Group, Provider };

std::string statusString(Action a, Status s);  // "CREATE_IN_PROGRESS"
std::string_view actionName(Action a);
std::string_view statusName(Status s);

struct Body;

struct Resource {
  std::string name;
  uint32_t type = 0;      // interned
  Kind kind = Kind::Noop;
  Action action = Action::Init;
  Status status = Status::Complete;
  bool unhealthy = false;
  uint32_t reason = 0;    // interned
  uint32_t server = kNone;
  uint32_t physical = 0;  // interned physical id (no-op resources)
  // OS::Heat::Value: its value as JSON text; OS::Neutron::FloatingIPAssociation: the floating
  // IP's id. Empty for every other resource.
  std::string data;
  SystemTime created, updated;
  std::unique_ptr<Body> nested;  // Group members or a provider template's resources
};

// The resources of a stack, of a ResourceGroup's nested stack, or of a provider template's nested
// stack.
struct Body {
  std::string id;
  std::string name;
  TemplatePtr tmpl;         // top-level and provider bodies
  util::JsonDoc params;     // resolved parameters (provider bodies)
  std::vector<Resource> resources;
  std::vector<std::string> skiplist;  // ResourceGroup: removed names, never reused
};

struct Event {
  uint64_t seq;
  SystemTime time;
  uint32_t resource_name;  // interned
  uint32_t type;           // interned
  uint32_t reason;         // interned
  uint32_t physical;       // interned, unless server != kNone
  uint32_t server;
  uint32_t parent;         // interned parent resource name, 0 for top-level
  Action action;
  Status status;
  uint8_t depth;
};

struct Stack {
  std::string id;
  std::string name;
  uint32_t project = 0;   // interned project id
  uint32_t user = 0;      // interned user id
  uint32_t owner = 0;     // interned user name (stack_owner)
  Action action = Action::Create;
  Status status = Status::InProgress;
  std::string reason;
  SystemTime created, updated, deleted;
  uint32_t generation = 0;
  uint64_t seq = 0;
  util::JsonDoc user_params;    // raw, as the client sent them (object)
  util::JsonDoc env_defaults;   // environment parameters and parameter_defaults (object)
  util::JsonDoc environment;    // as sent, for GET .../environment
  Files files;
  std::vector<std::string> tags;
  bool disable_rollback = true;
  std::optional<int> timeout_mins;
  Body body;
  std::deque<Event> events;
  std::string pending_failure;  // injected: fail at the next tick with this reason
  bool tick_scheduled = false;
  bool purged = false;
};

struct StackInput {
  std::string name;
  uint32_t project = 0;
  uint32_t user = 0;
  uint32_t owner = 0;
  TemplatePtr tmpl;             // null on update: keep the current one
  util::JsonDoc params;         // object
  util::JsonDoc env_defaults;   // object
  util::JsonDoc environment;    // object
  Files files;
  std::optional<std::vector<std::string>> tags;
  bool disable_rollback = true;
  std::optional<int> timeout_mins;
  bool existing = true;         // update: patch parameters over the current ones
  std::vector<std::string> clear_parameters;
};

class HeatEngine {
 public:
  HeatEngine(const SimConfig& config, const util::Clock& clock, IdGenerator& ids,
             Interner& strings, Scheduler& scheduler, NovaStore& nova, Faults& faults);

  util::Result<uint32_t> create(StackInput input);
  util::Status update(uint32_t slot, StackInput input);
  util::Status remove(uint32_t slot);
  // Marks a resource (by name or physical id) of `body` unhealthy; the next update replaces it.
  util::Status markUnhealthy(uint32_t slot, Body& body, std::string_view name_or_id, bool unhealthy,
                             std::string_view reason);

  void onScheduled(const Scheduled& s);
  void markDirty(uint32_t slot);
  void flushDirty();  // re-derives the status of stacks whose servers changed

  // Live stacks by name; any (also DELETE_COMPLETE) stack by id.
  std::optional<uint32_t> findByName(uint32_t project, std::string_view name) const;
  std::optional<uint32_t> findById(std::string_view id) const;
  // A nested stack (ResourceGroup or provider) by id within a project.
  Body* findNested(uint32_t project, std::string_view id, uint32_t* slot);
  const std::vector<std::unique_ptr<Stack>>& stacks() const { return stacks_; }
  Stack& at(uint32_t slot) { return *stacks_[slot]; }

  // The simulator's own value for an output of top-level stacks (api_address: the simulated
  // kube-apiserver), used instead of the template's whenever it has one.
  using OutputOverride = std::function<std::optional<std::string>(uint32_t stack_slot)>;
  void overrideOutput(std::string key, OutputOverride value) {
    output_overrides_[std::move(key)] = std::move(value);
  }

  // Outputs of a stack: [{output_key, output_value, description, output_error?}].
  void outputs(Stack& stack, util::Json& out, util::JsonAlloc& a, bool values);
  // Attributes of one resource for resource show.
  void attributes(Stack& stack, Body& body, const Resource& r, util::Json& out, util::JsonAlloc& a);
  // Physical id of a resource ("" until it has one).
  std::string physicalId(const Resource& r) const;
  // What get_resource and a group's refs name: the physical id, except for a provider template
  // with an OS::stack_id output, whose value it is (as Heat's TemplateResource does).
  std::string referenceId(Stack& stack, const Resource& r);
  // The VIP port Octavia gives a load balancer: derived from its id, stable.
  static std::string vipPortId(std::string_view load_balancer_id);
  const Interner& strings() const { return strings_; }
  NovaStore& nova() { return nova_; }
  size_t liveStacks() const { return by_name_.size(); }

  // Shared with heat_update.cc.
  struct Ctx;
  util::Status converge(Ctx& ctx, Body& body, const Template& t, const util::Json& params,
                        int depth, std::string_view parent);
  void deleteTree(Stack& st, Body& body, int depth, std::string_view parent, bool now);
  void event(Stack& st, int depth, std::string_view parent, const Resource& r,
             std::string_view reason);
  void stackEvent(Stack& st, std::string_view reason);

 private:
  friend class BodyResolver;
  util::Status convergeResource(Ctx& ctx, Body& body, const Template& t, const util::Json& params,
                                const std::string& name, int depth, std::string_view parent);
  util::Status convergeGroup(Ctx& ctx, Resource& r, const util::Json& props, int depth);
  util::Status applyMember(Ctx& ctx, Body& group, const std::string& member,
                           const util::Json& def, int depth, std::string_view parent);
  util::Status applyDefinition(Ctx& ctx, Body& body, Resource* existing, const std::string& name,
                               const util::Json& type, const util::Json& props, int depth,
                               std::string_view parent);
  util::Result<ServerSpec> serverSpec(Ctx& ctx, const std::string& resource, const util::Json& props);
  util::Result<TemplatePtr> providerTemplate(Ctx& ctx, std::string_view type);
  util::Status applyNetworking(Resource& r, std::string_view type, const util::Json& props,
                               bool fresh);
  void releaseNetworking(Resource& r);
  Status progress(Stack& st, Resource& r, int depth, std::string_view parent);
  Status progressBody(Stack& st, Body& body, int depth, std::string_view parent,
                      std::string* reason);
  void refresh(Stack& st);
  void finish(Stack& st, Status status, std::string reason);
  void scheduleTick(uint32_t slot, SystemTime at);
  util::Status resolveParams(Stack& st, const Template& t, util::JsonDoc& out);
  util::JsonDoc pseudoParams(const Stack& st);

  const SimConfig& config_;
  const util::Clock& clock_;
  IdGenerator& ids_;
  Interner& strings_;
  Scheduler& scheduler_;
  NovaStore& nova_;
  Faults& faults_;
  std::vector<std::unique_ptr<Stack>> stacks_;
  std::unordered_map<std::string, uint32_t> by_id_;
  std::map<std::pair<uint32_t, std::string>, uint32_t> by_name_;  // live stacks
  std::set<uint32_t> dirty_;
  std::map<std::string, OutputOverride, std::less<>> output_overrides_;
  uint64_t next_event_seq_ = 1;
  uint64_t next_stack_seq_ = 1;
};

// Event ids encode the event's sequence number so a marker finds its place without an index.
std::string eventId(uint64_t seq);
std::optional<uint64_t> eventSeq(std::string_view id);

}  // namespace magnumd::cloudsim
