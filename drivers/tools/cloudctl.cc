// cloudctl: drives the production OpenStack driver from the command line, one operation per
// run, printing JSON. The e2e suite uses it against cloudsim; it is also handy against a real
// cloud (`cloudctl --os-cloud mycloud list --tag magnumd`).
//
// --retries N retries an operation the way a reconciler would: transient errors (503, 429,
// timeouts) are retried with backoff, and a create whose answer was lost adopts the stack it
// finds by name instead of creating a second one.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "drivers/openstack/openstack_driver.h"
#include "util/json.h"
#include "util/log.h"

namespace magnumd::drivers::tools {
namespace {

namespace asio = boost::asio;
using openstack::OpenStackDriver;

struct Args {
  std::string cloud;
  int retries = 0;
  std::string name, id, template_file, resource, reason, since, status;
  std::vector<std::string> params, tags, files;
  int timeout_mins = 0;
  int depth = 5;
  double wait_seconds = 120;
  bool no_outputs = false;
};

bool transient(const util::Error& e) {
  using util::ErrorCode;
  return e.code == ErrorCode::Unavailable || e.code == ErrorCode::Timeout ||
         e.code == ErrorCode::TooManyRequests || e.code == ErrorCode::Internal;
}

asio::awaitable<void> sleepFor(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Retries a Result- or Status-returning operation on transient errors.
template <typename Make>
auto withRetries(int retries, Make make) -> decltype(make()) {
  for (int attempt = 0;; ++attempt) {
    auto r = co_await make();
    if (r.ok() || attempt >= retries || !transient(r.error())) co_return r;
    LOG_INFO("cloudctl", "transient error, retrying ({}/{}): {}", attempt + 1, retries, r.error().message);
    co_await sleepFor(std::chrono::milliseconds(100 * (attempt + 1)));
  }
}

std::map<std::string, std::string> keyValues(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& kv : items) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw CLI::ValidationError("--param", fmt::format("\"{}\" is not KEY=VALUE", kv));
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CLI::ValidationError("file", fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string stackJson(const Stack& s) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("id", util::str(s.ref.id, a), a);
  doc.AddMember("name", util::str(s.ref.name, a), a);
  doc.AddMember("status", util::str(s.status, a), a);
  doc.AddMember("status_reason", util::str(s.status_reason, a), a);
  util::Json tags(rapidjson::kArrayType);
  for (const auto& t : s.tags) tags.PushBack(util::str(t, a), a);
  doc.AddMember("tags", std::move(tags), a);
  util::Json params(rapidjson::kObjectType);
  for (const auto& [k, v] : s.parameters) params.AddMember(util::str(k, a), util::str(v, a), a);
  doc.AddMember("parameters", std::move(params), a);
  util::Json outputs(rapidjson::kObjectType);
  for (const auto& o : s.outputs) {
    util::JsonDoc value;
    value.Parse(o.value_json.c_str());
    util::Json v;
    if (!value.HasParseError()) v.CopyFrom(value, a);
    outputs.AddMember(util::str(o.key, a), std::move(v), a);
  }
  doc.AddMember("outputs", std::move(outputs), a);
  return util::toJson(doc);
}

std::string serverJson(const Server& s) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("id", util::str(s.id, a), a);
  doc.AddMember("name", util::str(s.name, a), a);
  doc.AddMember("status", util::str(s.status, a), a);
  util::Json md(rapidjson::kObjectType);
  for (const auto& [k, v] : s.metadata) md.AddMember(util::str(k, a), util::str(v, a), a);
  doc.AddMember("metadata", std::move(md), a);
  util::Json tags(rapidjson::kArrayType);
  for (const auto& t : s.tags) tags.PushBack(util::str(t, a), a);
  doc.AddMember("tags", std::move(tags), a);
  doc.AddMember("fault", util::str(s.fault ? s.fault->message : "", a), a);
  return util::toJson(doc);
}

template <typename T>
std::string listJson(const std::vector<T>& items, std::string (*one)(const T&)) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + one(items[i]);
  return out + "]";
}

std::string resourceJson(const StackResource& r) {
  return fmt::format(R"({{"name":"{}","physical_id":"{}","type":"{}","status":"{}","parent":"{}","stack_id":"{}"}})",
                     r.name, r.physical_id, r.type, r.status, r.parent_resource, r.stack.id);
}

// One operation; prints its JSON and returns the exit code.
asio::awaitable<int> runCommand(CloudDriver& d, std::string command, Args args) {
  auto fail = [](const util::Error& e) {
    std::cerr << "error: " << util::reasonOf(e.code) << ": " << e.message << "\n";
    return 1;
  };
  const StackRef ref{args.name, args.id};
  const int n = args.retries;
  if (command == "create") {
    StackCreate c;
    c.name = args.name;
    c.template_text = readFile(args.template_file);
    for (const auto& f : args.files) c.files[f.substr(f.rfind('/') + 1)] = readFile(f);
    c.parameters = keyValues(args.params);
    c.tags = args.tags;
    if (args.timeout_mins > 0) c.timeout_mins = args.timeout_mins;
    for (int attempt = 0;; ++attempt) {
      auto r = co_await d.createStack(c);
      if (r.ok()) {
        std::cout << fmt::format(R"({{"id":"{}","name":"{}"}})", r->id, r->name) << "\n";
        co_return 0;
      }
      if (attempt >= n || !transient(r.error())) co_return fail(r.error());
      // The create may have happened even though its answer was lost: adopt it by name.
      auto existing = co_await withRetries(n, [&] { return d.getStack(StackRef{c.name, ""}, false); });
      if (existing.ok()) {
        std::cout << fmt::format(R"({{"id":"{}","name":"{}","adopted":true}})", existing->ref.id, c.name) << "\n";
        co_return 0;
      }
      co_await sleepFor(std::chrono::milliseconds(100 * (attempt + 1)));
    }
  }
  if (command == "get") {
    auto s = co_await withRetries(n, [&] { return d.getStack(ref, !args.no_outputs); });
    if (!s.ok()) co_return fail(s.error());
    std::cout << stackJson(*s) << "\n";
    co_return 0;
  }
  if (command == "wait") {
    // Polls until the stack reaches --status; a FAILED state ends the wait with the explanation.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(args.wait_seconds);
    for (;;) {
      auto s = co_await withRetries(n, [&] { return d.getStack(ref, true); });
      if (!s.ok() && !(args.status == "DELETE_COMPLETE" && s.error().code == util::ErrorCode::NotFound)) {
        co_return fail(s.error());
      }
      if (!s.ok() || s->status == args.status) {
        if (s.ok()) {
          std::cout << stackJson(*s) << "\n";
        } else {
          std::cout << R"({"status":"DELETE_COMPLETE","gone":true})" << "\n";
        }
        co_return 0;
      }
      if (s->failed()) {
        auto why = co_await withRetries(n, [&] { return d.explainFailure(s->ref); });
        std::cerr << "stack " << s->status << ": ";
        if (why.ok()) {
          std::cerr << *why << "\n";
        } else {
          std::cerr << s->status_reason << "\n";
        }
        co_return 2;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "timed out waiting for " << args.status << "; stack is " << s->status << "\n";
        co_return 3;
      }
      co_await sleepFor(std::chrono::milliseconds(200));
    }
  }
  if (command == "patch") {
    StackPatch p;
    p.parameters = keyValues(args.params);
    if (!args.template_file.empty()) p.template_text = readFile(args.template_file);
    auto r = co_await withRetries(n, [&] { return d.patchStack(ref, p); });
    if (!r.ok()) co_return fail(r.error());
    std::cout << "{}\n";
    co_return 0;
  }
  if (command == "delete") {
    auto r = co_await withRetries(n, [&] { return d.deleteStack(ref); });
    if (!r.ok() && r.error().code != util::ErrorCode::NotFound) co_return fail(r.error());
    std::cout << "{}\n";
    co_return 0;
  }
  if (command == "list") {
    auto r = co_await withRetries(n, [&] { return d.listStacks(StackFilter{args.tags, {}}); });
    if (!r.ok()) co_return fail(r.error());
    std::cout << listJson<Stack>(*r, &stackJson) << "\n";
    co_return 0;
  }
  if (command == "resources") {
    auto r = co_await withRetries(n, [&] { return d.listResources(ref, args.depth); });
    if (!r.ok()) co_return fail(r.error());
    std::cout << listJson<StackResource>(*r, &resourceJson) << "\n";
    co_return 0;
  }
  if (command == "mark-unhealthy") {
    auto r = co_await withRetries(n, [&] { return d.markUnhealthy(ref, args.resource, args.reason); });
    if (!r.ok()) co_return fail(r.error());
    std::cout << "{}\n";
    co_return 0;
  }
  if (command == "explain") {
    auto r = co_await withRetries(n, [&] { return d.explainFailure(ref); });
    if (!r.ok()) co_return fail(r.error());
    util::JsonDoc doc;
    doc.SetObject();
    doc.AddMember("reason", util::str(*r, doc.GetAllocator()), doc.GetAllocator());
    std::cout << util::toJson(doc) << "\n";
    co_return 0;
  }
  if (command == "servers") {
    ServerQuery q;
    q.tags = args.tags;
    if (!args.since.empty()) q.changes_since = util::parseRfc3339(args.since);
    auto r = co_await withRetries(n, [&] { return d.listServers(q); });
    if (!r.ok()) co_return fail(r.error());
    std::cout << listJson<Server>(*r, &serverJson) << "\n";
    co_return 0;
  }
  if (command == "server") {
    auto r = co_await withRetries(n, [&] { return d.getServer(args.id); });
    if (!r.ok()) co_return fail(r.error());
    std::cout << serverJson(*r) << "\n";
    co_return 0;
  }
  std::cerr << "unknown command " << command << "\n";
  co_return 64;
}

}  // namespace
}  // namespace magnumd::drivers::tools

int main(int argc, char** argv) {
  using namespace magnumd;
  drivers::tools::Args args;
  CLI::App app{"cloudctl: exercise magnumd's OpenStack driver"};
  app.add_option("--os-cloud", args.cloud, "cloud in clouds.yaml (default: OS_CLOUD, then OS_* variables)");
  app.add_option("--retries", args.retries, "retry transient errors this many times");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level);
  app.require_subcommand(1);
  auto stack_opts = [&](CLI::App* c) {
    c->add_option("--name", args.name);
    c->add_option("--id", args.id);
  };
  auto* create = app.add_subcommand("create", "create a stack");
  create->add_option("--name", args.name)->required();
  create->add_option("--template", args.template_file)->required();
  create->add_option("--file", args.files, "a file for get_file / provider templates");
  create->add_option("--param", args.params, "KEY=VALUE");
  create->add_option("--tag", args.tags);
  create->add_option("--timeout-mins", args.timeout_mins);
  auto* get = app.add_subcommand("get", "show a stack with outputs");
  stack_opts(get);
  get->add_flag("--no-outputs", args.no_outputs);
  auto* wait = app.add_subcommand("wait", "wait for a stack status");
  stack_opts(wait);
  wait->add_option("--status", args.status)->required();
  wait->add_option("--timeout", args.wait_seconds);
  auto* patch = app.add_subcommand("patch", "PATCH-update a stack");
  stack_opts(patch);
  patch->add_option("--param", args.params, "KEY=VALUE");
  patch->add_option("--template", args.template_file);
  stack_opts(app.add_subcommand("delete", "delete a stack"));
  stack_opts(app.add_subcommand("explain", "explain a failed stack"));
  app.add_subcommand("list", "list stacks")->add_option("--tag", args.tags);
  auto* resources = app.add_subcommand("resources", "list a stack's resources");
  stack_opts(resources);
  resources->add_option("--depth", args.depth);
  auto* mark = app.add_subcommand("mark-unhealthy", "mark a resource (name or physical id) unhealthy");
  stack_opts(mark);
  mark->add_option("--resource", args.resource)->required();
  mark->add_option("--reason", args.reason);
  auto* servers = app.add_subcommand("servers", "list servers");
  servers->add_option("--since", args.since, "changes-since (RFC 3339)");
  servers->add_option("--tag", args.tags);
  app.add_subcommand("server", "show a server")->add_option("--id", args.id)->required();
  CLI11_PARSE(app, argc, argv);

  util::LogLevel level;
  if (util::parseLogLevel(log_level, level)) util::setLogLevel(level);
  boost::asio::io_context io;
  auto driver = drivers::openstack::OpenStackDriver::fromCloud(io.get_executor(), args.cloud);
  if (!driver.ok()) {
    std::cerr << "error: " << driver.error().message << "\n";
    return 1;
  }
  int code = 1;
  const std::string command = app.get_subcommands().front()->get_name();
  try {
    boost::asio::co_spawn(io, drivers::tools::runCommand(**driver, command, args),
                          [&code](std::exception_ptr e, int c) {
                            if (e) std::rethrow_exception(e);
                            code = c;
                          });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return code;
}
