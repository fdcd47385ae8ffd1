// The cloud as reconcilers see it: Heat stacks and Nova servers of one OpenStack project.
// Coroutine-based (asio::awaitable) because reconcilers and observers run on the daemon's
// io_context; the header stays free of Beast and of any OpenStack wire detail.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace magnumd::drivers {

template <typename T>
using Task = boost::asio::awaitable<util::Result<T>>;
using StatusTask = boost::asio::awaitable<util::Status>;

// A stack is addressed by name and id together (Heat's canonical URL needs both).
struct StackRef {
  std::string name;
  std::string id;
  bool operator==(const StackRef&) const = default;
};

struct StackOutput {
  std::string key;
  std::string value_json;   // the output value as JSON text ("\"10.0.0.5\"", "[...]", "null")
  std::string description;
  std::string error;        // Heat's output_error when the output could not be resolved
};

struct Stack {
  StackRef ref;
  std::string status;        // Heat's joined form: CREATE_IN_PROGRESS, UPDATE_FAILED, ...
  std::string status_reason;
  std::vector<std::string> tags;
  std::optional<util::SystemTime> created;
  std::optional<util::SystemTime> updated;
  std::map<std::string, std::string> parameters;  // only from getStack
  std::vector<StackOutput> outputs;                // only from getStack with outputs resolved
  std::optional<int> timeout_mins;

  // "CREATE" / "IN_PROGRESS" halves of status (Heat joins ACTION_STATUS).
  std::string action() const;
  std::string state() const;
  bool inProgress() const { return state() == "IN_PROGRESS"; }
  bool failed() const { return state() == "FAILED"; }
  bool complete() const { return state() == "COMPLETE"; }
  const StackOutput* output(std::string_view key) const;
};

struct StackCreate {
  std::string name;                                 // ^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$
  std::string template_text;                        // HOT as YAML or JSON text
  std::map<std::string, std::string> files;         // get_file / provider templates
  std::map<std::string, std::string> parameters;    // Heat stores parameter values as strings
  std::vector<std::string> tags;
  std::optional<int> timeout_mins;
  bool disable_rollback = true;
};

// A PATCH update: omitted parameters keep their values, an absent template keeps the old one.
struct StackPatch {
  std::optional<std::string> template_text;
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> parameters;
  std::vector<std::string> clear_parameters;        // reset to the template default
  std::optional<std::vector<std::string>> tags;
  std::optional<int> timeout_mins;
};

struct StackFilter {
  std::vector<std::string> tags;      // all must match
  std::vector<std::string> statuses;  // any of: "CREATE_FAILED", "FAILED", "COMPLETE", ...
};

struct StackResource {
  std::string name;
  std::string physical_id;   // Nova UUID for OS::Nova::Server; "" before it exists
  std::string type;
  std::string status;
  std::string status_reason;
  std::string parent_resource;  // set for resources of nested stacks
  StackRef stack;               // the (possibly nested) stack owning the resource
  std::optional<util::SystemTime> updated;
};

struct StackEvent {
  std::string id;
  std::optional<util::SystemTime> time;
  std::string resource_name;
  std::string physical_id;
  std::string resource_type;
  std::string status;
  std::string status_reason;
};

struct ServerAddress {
  std::string network;
  std::string addr;
  int version = 4;
  std::string type;  // "fixed" | "floating" | ""
};

struct ServerFault {
  int code = 0;
  std::string message;
  std::string details;
};

struct Server {
  std::string id;
  std::string name;
  std::string status;        // ACTIVE, BUILD, ERROR, SHUTOFF, DELETED, ...
  std::string task_state;    // "" when none
  std::string vm_state;
  std::vector<ServerAddress> addresses;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> tags;
  std::string image_id;      // "" when booted from volume
  std::string flavor;        // flavor id, or original_name from microversion 2.47 on
  std::optional<ServerFault> fault;
  std::optional<util::SystemTime> created;
  std::optional<util::SystemTime> updated;
};

// One page of a listing, for callers that spread a large listing over several periods.
struct PageRequest {
  std::string marker;  // id of the previous page's last item; "" starts from the beginning
  int limit = 0;       // 0: the driver's page size
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_marker;  // "" on the last page
};

struct ServerQuery {
  std::optional<util::SystemTime> changes_since;  // also returns servers deleted since then
  std::vector<std::string> tags;                  // all must match (Nova's `tags`)
};

// Stacks and servers of one project. Errors are util::Error values whose code says what
// happened (NotFound, Conflict, BadRequest, Unauthorized, Forbidden, Unavailable, Timeout,
// TooManyRequests, Internal) and whose message carries the cloud's own words.
class CloudDriver {
 public:
  virtual ~CloudDriver() = default;

  // The project these stacks and servers belong to (resolved at first authentication).
  virtual Task<std::string> projectId() = 0;

  // Starts an asynchronous create; Conflict when the name is taken.
  virtual Task<StackRef> createStack(StackCreate request) = 0;
  virtual StatusTask patchStack(StackRef stack, StackPatch patch) = 0;
  // Starts an asynchronous delete. NotFound when the stack is already gone.
  virtual StatusTask deleteStack(StackRef stack) = 0;
  // Top-level stacks only, every page followed. No outputs or parameters.
  virtual Task<std::vector<Stack>> listStacks(StackFilter filter) = 0;
  // One page of the same listing, in the cloud's own stable order. A marker whose stack is
  // gone is an error (BadRequest or NotFound): start again from the beginning.
  virtual Task<Page<Stack>> listStacksPage(StackFilter filter, PageRequest page) = 0;
  // name_or_id: a name, an id, or both via StackRef. A deleted stack looked up by id answers
  // DELETE_COMPLETE for a while; by name alone it is NotFound.
  virtual Task<Stack> getStack(StackRef stack, bool resolve_outputs) = 0;
  virtual Task<std::vector<StackResource>> listResources(StackRef stack, int nested_depth) = 0;
  virtual Task<std::vector<StackEvent>> listEvents(StackRef stack, int nested_depth) = 0;
  // A human reason for a FAILED stack: each failed leaf resource with its cloud message,
  // e.g. `resource "kube_minions.1" (OS::Nova::Server) CREATE_FAILED: No valid host was found.`
  virtual Task<std::string> explainFailure(StackRef stack) = 0;
  // Marks a resource of the stack's tree CHECK_FAILED so the next update replaces it.
  // `resource` is a resource name or physical id (a Nova server id), searched in nested
  // stacks too; the mark is placed in the stack that owns it (a ResourceGroup's nested stack).
  virtual StatusTask markUnhealthy(StackRef stack, std::string resource, std::string reason) = 0;

  // Servers of the project, every page followed.
  virtual Task<std::vector<Server>> listServers(ServerQuery query) = 0;
  // One page of the same listing; a vanished marker is an error, as above.
  virtual Task<Page<Server>> listServersPage(ServerQuery query, PageRequest page) = 0;
  virtual Task<Server> getServer(std::string id) = 0;
  virtual StatusTask deleteServer(std::string id) = 0;
};

using CloudDriverPtr = std::unique_ptr<CloudDriver>;

// The human reason for a failed stack: each failed leaf resource (not the parent of another
// failed resource) with its reason, refined by the newest FAILED event when Heat's own reason is
// vague; the stack's reason when nothing more specific is known. Shared by every CloudDriver.
std::string describeStackFailure(const Stack& stack, const std::vector<StackResource>& resources,
                                 const std::vector<StackEvent>& failed_events);

}  // namespace magnumd::drivers
