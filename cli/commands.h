// magnumctl's commands. Each returns the process exit code and writes only to the streams in its
// Context, so they run the same under main() and in tests.
#pragma once

#include <chrono>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "util/time.h"

namespace magnumd::cli {

struct Context {
  ApiClient& api;
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  std::string ns = "default";
  bool ns_explicit = false;  // -n given: a manifest naming another namespace is an error
  const util::Clock& clock;
};

struct ApplyOptions {
  std::vector<std::string> files;
};
int runApply(Context& ctx, const ApplyOptions& options);

struct GetOptions {
  std::string kind;
  std::vector<std::string> names;
  std::string output;  // "", wide, yaml, json, name
  std::string selector;
  bool all_namespaces = false;
  bool watch = false;
};
int runGet(Context& ctx, const GetOptions& options);

struct DescribeOptions {
  std::string kind;
  std::vector<std::string> names;
  std::string selector;
};
int runDescribe(Context& ctx, const DescribeOptions& options);

struct DeleteOptions {
  std::string kind;
  std::vector<std::string> names;
  std::vector<std::string> files;
  bool wait = false;
  std::string timeout = "5m";
};
int runDelete(Context& ctx, const DeleteOptions& options);

struct WaitOptions {
  std::string kind;
  std::vector<std::string> names;
  std::string for_condition;  // "delete" or "condition=Ready[=True]"
  std::string timeout = "30s";
};
int runWait(Context& ctx, const WaitOptions& options);

int runVersion(Context& ctx, bool client_only);

// What `wait --for` asks for, parsed.
struct WaitTarget {
  bool deletion = false;
  std::string condition;  // type, compared case-insensitively
  std::string status = "True";
};
util::Result<WaitTarget> parseWaitFor(std::string_view text);
// True when the object satisfies a condition target.
bool conditionMet(const util::Json& object, const WaitTarget& target);

}  // namespace magnumd::cli
