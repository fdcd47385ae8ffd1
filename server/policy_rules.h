// oslo.policy's check-string language, the subset OpenStack Magnum's policies are written in, so
// an operator's policy.yaml for Magnum means the same to magnumd:
//   role:NAME                 the caller has role NAME (case-insensitive)
//   project_id:%(project_id)s a caller attribute (project_id, user_id, is_admin, roles) equals a
//   user_id:'alice'           target attribute, or a quoted or bare constant (is_admin:True)
//   rule:NAME                 another rule of the set
//   @  (or "")  always;  !  never
//   not X, X and Y, X or Y, ( ... )   with oslo's precedence: not, then and, then or
// http: checks, dotted attribute paths and partial %-formatting are not supported: a rule that uses
// them is refused with the position, rather than silently never matching.
//
// Bounded: a check string is at most kMaxCheckLength characters and kMaxNesting levels of
// parentheses and `not`; a chain of rule: references is at most kMaxRuleDepth long and may not
// loop (validate()). Parsing and evaluation recurse only that deep, whatever the input.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace magnumd::server::policy {

inline constexpr size_t kMaxCheckLength = 4096;
inline constexpr int kMaxNesting = 16;
inline constexpr int kMaxRuleDepth = 16;

// Who asks: oslo.policy's credentials (Magnum's RequestContext.to_dict()).
struct Credentials {
  std::string user_id;
  std::string project_id;
  std::vector<std::string> roles;
  bool is_admin = false;
};

// What the operation is on: oslo.policy's target dict (Magnum passes the object's attributes, or
// the caller's own project_id and user_id).
using Target = std::map<std::string, std::string, std::less<>>;

class RuleSet {
 public:
  RuleSet();
  ~RuleSet();
  RuleSet(RuleSet&&) noexcept;
  RuleSet& operator=(RuleSet&&) noexcept;

  // Adds rule `name`, or replaces it. A check string that does not parse is refused with the rule
  // and the 1-based character position: `rule "cluster:create": at 12: expected ...`.
  util::Status set(std::string_view name, std::string_view check);
  // Every rule:NAME names a rule of the set, and no chain of them loops or is deeper than
  // kMaxRuleDepth. Call after the last set().
  util::Status validate() const;

  bool has(std::string_view name) const;
  // The check string rule `name` was set with.
  std::string checkOf(std::string_view name) const;
  // Whether rule `name` allows `who` to act on `target`; false for a rule that does not exist.
  bool allows(std::string_view name, const Credentials& who, const Target& target) const;

  struct Rule;  // a parsed check string (policy_rules.cc)

 private:
  util::Status checkReferences(const std::string& name, std::vector<std::string>& chain) const;
  bool evaluate(const Rule& rule, int node, const Credentials& who, const Target& target,
                int depth) const;

  std::map<std::string, std::unique_ptr<Rule>, std::less<>> rules_;
};

}  // namespace magnumd::server::policy
