// Pieces of the Heat engine shared by heat_engine.cc and heat_update.cc only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cloudsim/heat_engine.h"

namespace magnumd::cloudsim {

// State of one create or update traversal.
struct HeatEngine::Ctx {
  Stack& st;
  uint32_t slot;
  bool creating;
  std::vector<uint32_t> created_servers;          // discarded if a create is rejected
  std::map<std::string, TemplatePtr, std::less<>> providers;  // parsed provider templates
};

// Resolves get_resource/get_attr against the resources of one body.
class BodyResolver final : public Resolver {
 public:
  BodyResolver(HeatEngine& e, Stack& s, Body& b) : engine(e), stack(s), body(b) {}
  util::Status refId(std::string_view resource, util::Json& out, util::JsonAlloc& a) override;
  util::Status attribute(std::string_view resource, std::string_view attr, util::Json& out,
                         util::JsonAlloc& a) override;
  util::Status outputValue(std::string_view key, util::Json& out, util::JsonAlloc& a);
  util::Status memberAttribute(const Resource& m, std::string_view attr, util::Json& out,
                               util::JsonAlloc& a);
  void serverAttribute(const Server& s, std::string_view attr, util::Json& out, util::JsonAlloc& a);
  void noopAttribute(const Resource& m, std::string_view attr, util::Json& out, util::JsonAlloc& a);
  const Resource* find(std::string_view name) const;

  HeatEngine& engine;
  Stack& stack;
  Body& body;
};

// Members of a group in natural order ("2" before "10").
inline bool memberLess(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

}  // namespace magnumd::cloudsim
