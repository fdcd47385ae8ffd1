// oslo.policy's check strings (policy_rules.h) and Magnum's default rules and policy files
// (magnum_policy.h): what a rule allows, and how a bad one is refused.
#include "server/magnum_policy.h"

#include <gtest/gtest.h>

#include <string>

#include "server/policy_rules.h"

namespace magnumd::server::policy {
namespace {

Credentials member(std::string project = "p1") {
  return Credentials{"alice", std::move(project), {"member", "reader"}, false};
}

class RuleSetTest : public ::testing::Test {
 protected:
  // Rule "r" with `check`, evaluated for `who` on `target`.
  bool allows(std::string_view check, const Credentials& who, const Target& target = {}) {
    RuleSet rules;
    auto ok = rules.set("r", check);
    EXPECT_TRUE(ok.ok()) << ok.error().message;
    return rules.allows("r", who, target);
  }
  std::string refusal(std::string_view check) {
    RuleSet rules;
    auto ok = rules.set("cluster:create", check);
    return ok.ok() ? std::string("accepted") : ok.error().message;
  }
};

TEST_F(RuleSetTest, ChecksRolesAttributesAndConstants) {
  EXPECT_TRUE(allows("role:member", member()));
  EXPECT_TRUE(allows("role:MEMBER", member()));
  EXPECT_FALSE(allows("role:admin", member()));
  EXPECT_TRUE(allows("project_id:%(project_id)s", member(), {{"project_id", "p1"}}));
  EXPECT_FALSE(allows("project_id:%(project_id)s", member(), {{"project_id", "p2"}}));
  EXPECT_FALSE(allows("project_id:%(project_id)s", member(), {}));  // absent: oslo's KeyError
  EXPECT_TRUE(allows("user_id:'alice'", member()));
  EXPECT_TRUE(allows("user_id:alice", member()));
  EXPECT_FALSE(allows("is_admin:True", member()));
  EXPECT_TRUE(allows("is_admin:False", member()));
  EXPECT_FALSE(allows("domain_id:%(project_id)s", member(), {{"project_id", "p1"}}));
  EXPECT_TRUE(allows("", member()));
  EXPECT_TRUE(allows("@", member()));
  EXPECT_FALSE(allows("!", member()));
}

TEST_F(RuleSetTest, NotBindsTighterThanAndWhichBindsTighterThanOr) {
  Credentials who = member();
  // or(role:admin, and(role:member, not role:reader)) = false for a member-reader
  EXPECT_FALSE(allows("role:admin or role:member and not role:reader", who));
  EXPECT_TRUE(allows("role:admin or role:member and not role:healer", who));
  // ((role:admin or role:member) and not role:reader) = false; parentheses change the grouping
  EXPECT_FALSE(allows("(role:admin or role:member) and not role:reader", who));
  EXPECT_TRUE(allows("not (role:admin and role:member)", who));
  EXPECT_TRUE(allows("NOT role:admin AND role:member", who));
  EXPECT_TRUE(allows("((((role:member))))", who));
  EXPECT_TRUE(allows("role:admin or @", who));
  EXPECT_FALSE(allows("role:member and !", who));
}

TEST_F(RuleSetTest, RulesReferToRulesAndMissingOnesNeverAllow) {
  RuleSet rules;
  ASSERT_TRUE(rules.set("admin", "role:admin").ok());
  ASSERT_TRUE(rules.set("owner", "project_id:%(project_id)s").ok());
  ASSERT_TRUE(rules.set("admin_or_owner", "rule:admin or rule:owner").ok());
  ASSERT_TRUE(rules.validate().ok());
  EXPECT_TRUE(rules.allows("admin_or_owner", member(), {{"project_id", "p1"}}));
  EXPECT_FALSE(rules.allows("admin_or_owner", member(), {{"project_id", "p2"}}));
  EXPECT_FALSE(rules.allows("no-such-rule", member(), {}));
  ASSERT_TRUE(rules.set("broken", "rule:nowhere").ok());
  auto invalid = rules.validate();
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.error().message.find("rule:nowhere names no rule"), std::string::npos)
      << invalid.error().message;
}

TEST_F(RuleSetTest, LoopsAndDeepChainsOfRulesAreRefused) {
  RuleSet loop;
  ASSERT_TRUE(loop.set("a", "rule:b").ok());
  ASSERT_TRUE(loop.set("b", "role:admin or rule:a").ok());
  auto looped = loop.validate();
  ASSERT_FALSE(looped.ok());
  EXPECT_NE(looped.error().message.find("a -> b -> a"), std::string::npos)
      << looped.error().message;
  // Even unvalidated, evaluating a loop ends (and does not allow).
  EXPECT_FALSE(loop.allows("a", member(), {}));

  RuleSet deep;
  for (int i = 0; i < kMaxRuleDepth + 1; ++i) {
    ASSERT_TRUE(deep.set("r" + std::to_string(i), "rule:r" + std::to_string(i + 1)).ok());
  }
  ASSERT_TRUE(deep.set("r" + std::to_string(kMaxRuleDepth + 1), "@").ok());
  auto too_deep = deep.validate();
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.error().message.find("nested deeper than"), std::string::npos)
      << too_deep.error().message;
}

TEST_F(RuleSetTest, BadCheckStringsNameTheRuleAndPosition) {
  EXPECT_EQ(refusal("role:admin or"),
            "rule \"cluster:create\": at the end: expected a check, "
            "'not' or '('");
  EXPECT_EQ(refusal("role:admin role:member"),
            "rule \"cluster:create\": at 12: expected 'and' or 'or', found 'role:member'");
  EXPECT_EQ(refusal("(role:admin"), "rule \"cluster:create\": at the end: '(' at 1 is not closed");
  EXPECT_EQ(refusal("role:admin)"),
            "rule \"cluster:create\": at 11: expected 'and' or 'or', found ')'");
  EXPECT_EQ(refusal("and role:admin"),
            "rule \"cluster:create\": at 1: expected a check, 'not' or '(', found 'and'");
  EXPECT_NE(refusal("admin").find("at 1: 'admin' is not a check"), std::string::npos);
  EXPECT_NE(refusal("http://example.com/check").find("not supported"), std::string::npos);
  EXPECT_NE(refusal("project_id:x%(project_id)s").find("alone"), std::string::npos);
  EXPECT_NE(refusal("role:").find("nothing after"), std::string::npos);
  EXPECT_NE(refusal("rule:%(x)s").find("names a rule"), std::string::npos);
}

TEST_F(RuleSetTest, NestingAndLengthAreBounded) {
  std::string deep_ok(kMaxNesting, '(');
  deep_ok += "@" + std::string(kMaxNesting, ')');
  EXPECT_EQ(refusal(deep_ok), "accepted");
  std::string too_deep(kMaxNesting + 1, '(');
  too_deep += "@" + std::string(kMaxNesting + 1, ')');
  EXPECT_NE(refusal(too_deep).find("nested deeper than 16"), std::string::npos);
  std::string nots;
  for (int i = 0; i <= kMaxNesting; ++i) nots += "not ";
  EXPECT_NE(refusal(nots + "@").find("nested deeper than 16"), std::string::npos);
  // A long flat chain is fine (it adds no depth) until the length limit.
  std::string chain = "role:a";
  while (chain.size() < kMaxCheckLength - 20) chain += " or role:a";
  EXPECT_EQ(refusal(chain), "accepted");
  EXPECT_NE(refusal(std::string(kMaxCheckLength + 1, '@')).find("at most 4096"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::server::policy

namespace magnumd::server::magnum {
namespace {

const Identity kAdmin{"root", "*", Role::Admin};
const Identity kMember{"alice", "team-a", Role::Member};
const Identity kReader{"rita", "team-a", Role::Reader};
const Identity kHealer{"auto-healer", "team-a", Role::Healer};

TEST(MagnumPolicyTest, DefaultsAreMagnumsByRole) {
  auto p = Policy::defaults();
  policy::Target own{{"project_id", "team-a"}};
  policy::Target other{{"project_id", "team-b"}};
  EXPECT_TRUE(p->allows("cluster:create", kMember));
  EXPECT_FALSE(p->allows("cluster:create", kReader));
  EXPECT_FALSE(p->allows("cluster:create", kHealer));
  EXPECT_TRUE(p->allows("cluster:get", kReader, own));
  EXPECT_FALSE(p->allows("cluster:get", kReader, other));
  EXPECT_TRUE(p->allows("cluster:get_all_all_projects", kAdmin));
  EXPECT_FALSE(p->allows("cluster:get_all_all_projects", kMember));
  EXPECT_FALSE(p->allows("quota:create", kMember));
  EXPECT_TRUE(p->allows("quota:get", kReader));
  EXPECT_FALSE(p->allows("magnum-service:get_all", kMember));
  EXPECT_TRUE(p->allows("clustertemplate:publish", kAdmin));
  EXPECT_FALSE(p->allows("clustertemplate:publish", kMember));
  EXPECT_TRUE(p->allows("certificate:rotate_ca", kMember, own));
  // credential:rotate is project_member alone in Magnum: an admin passes as a member of the
  // project (its role implies member), a project's admin only in its own.
  const Identity admin_a{"alice-admin", "team-a", Role::Admin};
  EXPECT_TRUE(p->allows("credential:rotate", kMember));
  EXPECT_TRUE(p->allows("credential:rotate", admin_a, own));
  EXPECT_FALSE(p->allows("credential:rotate", admin_a, other));
  EXPECT_TRUE(p->allows("credential:rotate", kAdmin, other));
  // An identity of every namespace holds its role in every project.
  const Identity reader_all{"rita", "*", Role::Reader};
  EXPECT_TRUE(p->allows("cluster:get", reader_all, other));
  EXPECT_TRUE(p->allows("cluster:get_all", reader_all));
  EXPECT_FALSE(p->allows("cluster:create", reader_all));
  EXPECT_TRUE(p->isAdmin(kAdmin));
  EXPECT_FALSE(p->isAdmin(reader_all));
  // The healer: Magnum's cluster user, allowed the health and reads only.
  EXPECT_TRUE(p->allows("cluster:update_health_status", kHealer, own));
  EXPECT_FALSE(p->allows("cluster:update_health_status", kHealer, other));
  EXPECT_TRUE(p->allows("cluster:update_health_status", kMember, own));
  EXPECT_FALSE(p->allows("cluster:update_health_status", kReader, own));
  EXPECT_FALSE(p->allows("cluster:update", kHealer, own));
  EXPECT_TRUE(p->allows("cluster:get", kHealer, own));
  auto denied = p->enforce("cluster:create", kReader);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, util::ErrorCode::Forbidden);
  EXPECT_EQ(denied.error().message, "Policy doesn't allow cluster:create to be performed.");
}

TEST(MagnumPolicyTest, KeystoneRoleNamesAreWhatRulesTest) {
  auto p = Policy::withOverrides(R"("cluster:create": "role:k8s-creator")", "policy.yaml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  Identity creator{"carol", "team-a", Role::Member, {"member", "k8s-creator"}};
  Identity plain{"dave", "team-a", Role::Member, {"member"}};
  EXPECT_TRUE((*p)->allows("cluster:create", creator));
  EXPECT_FALSE((*p)->allows("cluster:create", plain));
  EXPECT_FALSE((*p)->allows("cluster:create", kMember));  // implied roles: member, reader
  // A token listing no implied roles still has those of its magnumd role.
  EXPECT_TRUE((*p)->allows("cluster:get", Identity{"erin", "team-a", Role::Member, {"member"}},
                           {{"project_id", "team-a"}}));
}

TEST(MagnumPolicyTest, APolicyFileOverridesSomeRulesAndKeepsTheRest) {
  auto p = Policy::withOverrides(R"(
# only admins create clusters; project readers may see the quotas of every project
"cluster:create": "rule:context_is_admin"
"quota:get_all": "rule:admin_or_project_reader"
"stats:get_all": ""
"is_team_lead": "role:lead and not role:intern"
"cluster:delete": "rule:is_team_lead or rule:context_is_admin"
)",
                                 "policy.yaml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE((*p)->allows("cluster:create", kMember));
  EXPECT_TRUE((*p)->allows("cluster:create", kAdmin));
  EXPECT_TRUE((*p)->allows("quota:get_all", kReader));
  EXPECT_TRUE((*p)->allows("stats:get_all", Identity{"x", "team-z", Role::Reader, {"none"}}));
  EXPECT_FALSE((*p)->allows("cluster:delete", kMember));
  EXPECT_TRUE((*p)->allows("cluster:delete", Identity{"lee", "team-a", Role::Member, {"lead"}}));
  EXPECT_TRUE((*p)->allows("cluster:get", kReader));  // not overridden: Magnum's default
  EXPECT_EQ((*p)->rules().checkOf("cluster:update"),
            "rule:admin_or_project_member_deny_cluster_user");
  // The defaults are untouched by an override.
  EXPECT_TRUE(Policy::defaults()->allows("cluster:create", kMember));
}

TEST(MagnumPolicyTest, ABadPolicyFileIsRefusedNamingTheRule) {
  auto bad = Policy::withOverrides(R"("cluster:create": "role:admin or or role:member")",
                                   "/etc/magnumd/policy.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "/etc/magnumd/policy.yaml: rule \"cluster:create\": at 15: expected a check, 'not' or "
            "'(', found 'or'");
  auto unknown = Policy::withOverrides(R"("cluster:get": "rule:admin_or_projct_reader")", "p");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("rule:admin_or_projct_reader names no rule"),
            std::string::npos)
      << unknown.error().message;
  auto loop = Policy::withOverrides(R"("context_is_admin": "rule:admin_or_project_member")", "p");
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message.find("refers to itself"), std::string::npos);
  auto number = Policy::withOverrides("\"cluster:create\": 1\n", "p");
  ASSERT_FALSE(number.ok());
  EXPECT_NE(number.error().message.find("must be a quoted string"), std::string::npos);
  auto list = Policy::withOverrides("- role:admin\n", "p");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find("expected a mapping"), std::string::npos);
  auto yaml = Policy::withOverrides("\"cluster:create\": [\n", "p");
  ASSERT_FALSE(yaml.ok());
  auto missing = Policy::loadFile("/nonexistent/policy.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/policy.yaml"), std::string::npos);
  EXPECT_TRUE(Policy::withOverrides("", "empty.yaml").ok());
}

}  // namespace
}  // namespace magnumd::server::magnum
