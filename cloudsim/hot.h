// The subset of HOT (Heat Orchestration Templates) magnumd's templates use: typed parameters with
// defaults, get_param, get_resource, get_attr, list_join, str_replace, str_split, get_file,
// map_merge, list_concat, and outputs. Resources are left to the engine through Resolver.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::cloudsim {

struct Template {
  util::JsonDoc doc;
  std::string description;
  std::vector<std::string> resource_names;  // template order
  const util::Json* parameters = nullptr;   // object or null
  const util::Json* resources = nullptr;    // object
  const util::Json* outputs = nullptr;      // object or null

  const util::Json* resource(std::string_view name) const;
  // Resources named by get_resource / get_attr / depends_on anywhere in this resource.
  std::vector<std::string> dependencies(std::string_view name) const;
};
using TemplatePtr = std::shared_ptr<const Template>;
using Files = std::map<std::string, std::string, std::less<>>;

// A template given as a JSON object or as YAML/JSON text. Errors are BadRequest and say which
// section or resource is wrong.
util::Result<TemplatePtr> parseTemplate(const util::Json& value);
util::Result<TemplatePtr> parseTemplateText(std::string_view text);

// Typed parameter values: user values over environment defaults over template defaults.
// `pseudo` supplies OS::stack_name, OS::stack_id and OS::project_id.
util::Result<util::JsonDoc> resolveParameters(const Template& tmpl, const util::Json& user,
                                              const util::Json* defaults, const util::Json& pseudo);
// Rejects user parameters the template does not declare (Heat's UnknownUserParameter).
util::Status checkUserParameters(const Template& tmpl, const util::Json& user);
// Heat's string form of a parameter value, as stack show reports it.
std::string parameterString(const util::Json& value);

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual util::Status refId(std::string_view resource, util::Json& out, util::JsonAlloc& a) = 0;
  virtual util::Status attribute(std::string_view resource, std::string_view attr,
                                 util::Json& out, util::JsonAlloc& a) = 0;
};

struct EvalContext {
  const util::Json& params;
  Resolver& resolver;
  const Files* files = nullptr;
};

// Evaluates intrinsic functions in `in` into `out`.
util::Status evaluate(const util::Json& in, util::Json& out, util::JsonAlloc& a, EvalContext& ctx);

// Replaces every occurrence of `from` in string leaves (ResourceGroup's %index%).
void replaceInStrings(util::Json& value, std::string_view from, std::string_view to,
                      util::JsonAlloc& a);

// A scalar as a string (numbers without trailing zeros, booleans as true/false).
std::string scalarString(const util::Json& v);

}  // namespace magnumd::cloudsim
