#include "server/policy_rules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace magnumd::server::policy {
namespace {

using util::ErrorCode;
using util::makeError;

enum class Op { True, False, And, Or, Not, Rule, Role, Generic };

struct Token {
  std::string text;
  size_t position;  // 1-based, for messages
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isKeyword(const Token& t, std::string_view word) { return lower(t.text) == word; }

// oslo.policy's _parse_tokenize: words split at whitespace, with the parentheses that open or
// close a word as tokens of their own.
std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view word = text.substr(start, i - start);
    size_t at = start;
    while (!word.empty() && word.front() == '(') {
      tokens.push_back({"(", at + 1});
      word.remove_prefix(1);
      ++at;
    }
    size_t closing = 0;
    while (!word.empty() && word.back() == ')') {
      word.remove_suffix(1);
      ++closing;
    }
    if (!word.empty()) tokens.push_back({std::string(word), at + 1});
    for (size_t c = 0; c < closing; ++c) tokens.push_back({")", at + word.size() + c + 1});
  }
  return tokens;
}

}  // namespace

struct RuleSet::Rule {
  struct Node {
    Op op;
    std::vector<int> children;  // And, Or, Not
    std::string kind;           // Rule, Role, Generic: the part before ':'
    std::string match;          // the part after it, unquoted
    bool substitute = false;    // match is "%(name)s": name is a target attribute
  };
  std::string text;
  std::vector<Node> nodes;
  int root = 0;
};

namespace {

using Rule = std::unique_ptr<RuleSet::Rule>;

class Parser {
 public:
  Parser(std::string_view name, std::vector<Token> tokens, RuleSet::Rule& out)
      : name_(name), tokens_(std::move(tokens)), out_(out) {}

  util::Result<int> parse() {
    if (tokens_.empty()) return add({Op::True});
    auto root = orExpr(0);
    if (!root.ok()) return root;
    if (next_ < tokens_.size()) {
      return fail(tokens_[next_],
                  fmt::format("expected 'and' or 'or', found '{}'", tokens_[next_].text));
    }
    return root;
  }

 private:
  util::Error fail(const Token& at, std::string_view why) const {
    return makeError(ErrorCode::Invalid,
                     fmt::format("rule \"{}\": at {}: {}", name_, at.position, why));
  }
  util::Error failAtEnd(std::string_view why) const {
    return makeError(ErrorCode::Invalid, fmt::format("rule \"{}\": at the end: {}", name_, why));
  }

  int add(RuleSet::Rule::Node node) {
    out_.nodes.push_back(std::move(node));
    return static_cast<int>(out_.nodes.size() - 1);
  }

  // expr := and_expr ('or' and_expr)*; a chain is one node, so it adds no depth.
  util::Result<int> orExpr(int depth) { return chain(depth, "or", Op::Or); }
  util::Result<int> andExpr(int depth) { return chain(depth, "and", Op::And); }

  util::Result<int> chain(int depth, std::string_view word, Op op) {
    std::vector<int> parts;
    for (;;) {
      auto part = op == Op::Or ? andExpr(depth) : unary(depth);
      if (!part.ok()) return part;
      parts.push_back(*part);
      if (next_ >= tokens_.size() || !isKeyword(tokens_[next_], word)) break;
      ++next_;
    }
    if (parts.size() == 1) return parts.front();
    return add({op, std::move(parts)});
  }

  // unary := 'not' unary | '(' expr ')' | check
  util::Result<int> unary(int depth) {
    if (next_ >= tokens_.size()) return failAtEnd("expected a check, 'not' or '('");
    const Token& t = tokens_[next_];
    if (isKeyword(t, "not") || t.text == "(") {
      if (depth >= kMaxNesting) {
        return fail(
            t, fmt::format("nested deeper than {} levels of parentheses and 'not'", kMaxNesting));
      }
      ++next_;
      if (t.text == "(") {
        auto inner = orExpr(depth + 1);
        if (!inner.ok()) return inner;
        if (next_ >= tokens_.size())
          return failAtEnd(fmt::format("'(' at {} is not closed", t.position));
        if (tokens_[next_].text != ")") {
          return fail(tokens_[next_], fmt::format("expected ')', found '{}'", tokens_[next_].text));
        }
        ++next_;
        return inner;
      }
      auto operand = unary(depth + 1);
      if (!operand.ok()) return operand;
      return add({Op::Not, {*operand}});
    }
    if (t.text == ")" || isKeyword(t, "and") || isKeyword(t, "or")) {
      return fail(t, fmt::format("expected a check, 'not' or '(', found '{}'", t.text));
    }
    ++next_;
    return check(t);
  }

  util::Result<int> check(const Token& t) {
    if (t.text == "@") return add({Op::True});
    if (t.text == "!") return add({Op::False});
    size_t colon = t.text.find(':');
    if (colon == std::string::npos || colon == 0) {
      return fail(t, fmt::format("'{}' is not a check: expected KIND:MATCH (role:, rule:, "
                                 "project_id:, ...), @ or !",
                                 t.text));
    }
    RuleSet::Rule::Node node{Op::Generic};
    node.kind = t.text.substr(0, colon);
    std::string match = t.text.substr(colon + 1);
    if (node.kind == "http" || node.kind == "https") {
      return fail(t, "http: and https: checks are not supported");
    }
    if (node.kind.find('.') != std::string::npos || node.kind.find('%') != std::string::npos) {
      return fail(t, fmt::format("'{}': only plain caller attributes are supported", node.kind));
    }
    if (match.size() >= 2 && (match.front() == '\'' || match.front() == '"') &&
        match.back() == match.front()) {
      match = match.substr(1, match.size() - 2);
    } else if (match.starts_with("%(") && match.ends_with(")s") && match.size() > 4) {
      match = match.substr(2, match.size() - 4);
      node.substitute = true;
      if (match.find_first_of("%()") != std::string::npos) {
        return fail(t, fmt::format("'{}': a target attribute is %(name)s", t.text));
      }
    } else if (match.find('%') != std::string::npos) {
      return fail(t, fmt::format("'{}': a target attribute is written %(name)s, alone", t.text));
    }
    if (match.empty()) return fail(t, fmt::format("'{}' has nothing after ':'", t.text));
    node.match = std::move(match);
    if (node.kind == "rule") {
      if (node.substitute) return fail(t, "rule: names a rule, not a target attribute");
      node.op = Op::Rule;
    } else if (node.kind == "role") {
      node.op = Op::Role;
    }
    return add(std::move(node));
  }

  std::string_view name_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  RuleSet::Rule& out_;
};

}  // namespace

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;
RuleSet::RuleSet(RuleSet&&) noexcept = default;
RuleSet& RuleSet::operator=(RuleSet&&) noexcept = default;

util::Status RuleSet::set(std::string_view name, std::string_view check) {
  if (name.empty()) return makeError(ErrorCode::Invalid, "a rule needs a name");
  if (check.size() > kMaxCheckLength) {
    return makeError(ErrorCode::Invalid,
                     fmt::format("rule \"{}\": the check string is {} characters, at most {} are "
                                 "allowed",
                                 name, check.size(), kMaxCheckLength));
  }
  auto rule = std::make_unique<Rule>();
  rule->text = std::string(check);
  Parser parser(name, tokenize(check), *rule);
  auto root = parser.parse();
  if (!root.ok()) return root.error();
  rule->root = *root;
  rules_[std::string(name)] = std::move(rule);
  return {};
}

util::Status RuleSet::checkReferences(const std::string& name,
                                      std::vector<std::string>& chain) const {
  if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
    chain.push_back(name);
    return makeError(ErrorCode::Invalid, fmt::format("rule \"{}\" refers to itself: {}",
                                                     chain.front(), fmt::join(chain, " -> ")));
  }
  if (static_cast<int>(chain.size()) >= kMaxRuleDepth) {
    return makeError(ErrorCode::Invalid,
                     fmt::format("rule \"{}\": rule: references are nested deeper than {}: {}",
                                 chain.front(), kMaxRuleDepth, fmt::join(chain, " -> ")));
  }
  auto it = rules_.find(name);
  chain.push_back(name);
  for (const auto& node : it->second->nodes) {
    if (node.op != Op::Rule) continue;
    if (!rules_.count(node.match)) {
      return makeError(ErrorCode::Invalid,
                       fmt::format("rule \"{}\": rule:{} names no rule", name, node.match));
    }
    if (auto ok = checkReferences(node.match, chain); !ok.ok()) return ok;
  }
  chain.pop_back();
  return {};
}

util::Status RuleSet::validate() const {
  for (const auto& [name, rule] : rules_) {
    std::vector<std::string> chain;
    if (auto ok = checkReferences(name, chain); !ok.ok()) return ok;
  }
  return {};
}

bool RuleSet::has(std::string_view name) const { return rules_.find(name) != rules_.end(); }

std::string RuleSet::checkOf(std::string_view name) const {
  auto it = rules_.find(name);
  return it == rules_.end() ? std::string() : it->second->text;
}

bool RuleSet::allows(std::string_view name, const Credentials& who, const Target& target) const {
  auto it = rules_.find(name);
  return it != rules_.end() && evaluate(*it->second, it->second->root, who, target, 0);
}

bool RuleSet::evaluate(const Rule& rule, int index, const Credentials& who, const Target& target,
                       int depth) const {
  const Rule::Node& node = rule.nodes[static_cast<size_t>(index)];
  auto matchValue = [&](std::string& out) {
    if (!node.substitute) {
      out = node.match;
      return true;
    }
    auto it = target.find(node.match);
    if (it == target.end()) return false;  // oslo: a KeyError is a failed check
    out = it->second;
    return true;
  };
  std::string match;
  switch (node.op) {
    case Op::True:
      return true;
    case Op::False:
      return false;
    case Op::And:
      for (int child : node.children) {
        if (!evaluate(rule, child, who, target, depth)) return false;
      }
      return true;
    case Op::Or:
      for (int child : node.children) {
        if (evaluate(rule, child, who, target, depth)) return true;
      }
      return false;
    case Op::Not:
      return !evaluate(rule, node.children.front(), who, target, depth);
    case Op::Rule: {
      // validate() bounds the chain; the depth guard keeps an unvalidated set finite too.
      auto it = rules_.find(node.match);
      if (it == rules_.end() || depth >= kMaxRuleDepth) return false;
      return evaluate(*it->second, it->second->root, who, target, depth + 1);
    }
    case Op::Role: {
      if (!matchValue(match)) return false;
      std::string wanted = lower(match);
      return std::any_of(who.roles.begin(), who.roles.end(),
                         [&](const std::string& r) { return lower(r) == wanted; });
    }
    case Op::Generic:
      if (!matchValue(match)) return false;
      if (node.kind == "project_id") return !who.project_id.empty() && match == who.project_id;
      if (node.kind == "user_id") return !who.user_id.empty() && match == who.user_id;
      if (node.kind == "is_admin") return match == (who.is_admin ? "True" : "False");
      if (node.kind == "roles") {
        return std::find(who.roles.begin(), who.roles.end(), match) != who.roles.end();
      }
      return false;  // an attribute the caller does not have (domain_id, ...)
  }
  return false;
}

}  // namespace magnumd::server::policy
