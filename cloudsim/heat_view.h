// JSON views of Heat objects (stacks, resources, events), shaped like Heat's own responses.
#pragma once

#include <string>

#include "cloudsim/sim.h"

namespace magnumd::cloudsim {

struct HeatCall {
  Sim& sim;
  Call& call;
  uint32_t project;  // interned project id
  std::string root;  // BASE/heat-api/v1/PROJECT_ID
  HeatEngine& heat() { return sim.heat(); }
};

std::string stackHref(const HeatCall& hc, std::string_view name, std::string_view id);
util::Json stackJson(HeatCall& hc, Stack& st, util::JsonAlloc& a, bool show, bool resolve_outputs);
util::Json resourceJson(HeatCall& hc, Stack& st, Body& body, const Resource& r, util::JsonAlloc& a,
                        std::string_view parent, bool attributes);
util::Json eventJson(HeatCall& hc, Stack& st, const Event& e, util::JsonAlloc& a);
Response accepted();

}  // namespace magnumd::cloudsim
