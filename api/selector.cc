// Kubernetes label selectors: parsing (with errors that point at the problem) and matching.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/admission.h"
#include "api/validation.h"

namespace magnumd::api {

namespace {

constexpr size_t kMaxSelector = 4096;
constexpr size_t kMaxRequirements = 100;
constexpr size_t kMaxValues = 100;

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
}

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  util::Result<LabelSelector> parse() {
    LabelSelector selector;
    skipSpace();
    if (atEnd()) return selector;
    while (true) {
      if (selector.requirements.size() == kMaxRequirements) {
        return fail(fmt::format("has more than {} requirements", kMaxRequirements));
      }
      Requirement r;
      if (auto err = requirement(r)) return *err;
      selector.requirements.push_back(std::move(r));
      skipSpace();
      if (atEnd()) return selector;
      if (peek() != ',') return unexpected();
      ++pos_;
      skipSpace();
      if (atEnd()) return fail("ends with a \",\" and no requirement after it");
    }
  }

 private:
  std::optional<util::Error> requirement(Requirement& r) {
    bool negated = false;
    if (peek() == '!') {
      negated = true;
      ++pos_;
      skipSpace();
    }
    size_t key_pos = pos_;
    r.key = std::string(word());
    if (r.key.empty()) {
      if (atEnd()) return fail(fmt::format("expects a label key at position {}", pos_));
      return unexpected();
    }
    if (auto p = labelKeyProblem(r.key)) return fail(fmt::format("key {} at position {} {}", quoted(r.key), key_pos, *p));
    skipSpace();
    if (negated) {
      r.op = Requirement::Op::DoesNotExist;
      return std::nullopt;
    }
    if (atEnd() || peek() == ',') {
      r.op = Requirement::Op::Exists;
      return std::nullopt;
    }
    std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("==") || rest.starts_with("!=") || rest.starts_with("=")) {
      r.op = rest.starts_with("!=") ? Requirement::Op::NotEquals : Requirement::Op::Equals;
      pos_ += rest.starts_with("=") && !rest.starts_with("==") ? 1 : 2;
      skipSpace();
      return value(r);
    }
    size_t op_pos = pos_;
    std::string_view op = word();
    if (op == "in" || op == "notin") {
      r.op = op == "in" ? Requirement::Op::In : Requirement::Op::NotIn;
      return valueSet(r);
    }
    pos_ = op_pos;
    return fail(fmt::format("expects an operator (=, ==, !=, in, notin) or \",\" after key {} at position {}",
                            quoted(r.key), op_pos));
  }

  std::optional<util::Error> value(Requirement& r) {
    size_t value_pos = pos_;
    std::string_view v = word();
    if (auto p = labelValueProblem(v)) {
      return fail(fmt::format("value {} at position {} {}", quoted(v), value_pos, *p));
    }
    r.values.emplace_back(v);
    return std::nullopt;
  }

  std::optional<util::Error> valueSet(Requirement& r) {
    skipSpace();
    if (peek() != '(') return fail(fmt::format("expects \"(\" after {} at position {}", r.op == Requirement::Op::In ? "in" : "notin", pos_));
    ++pos_;
    while (true) {
      skipSpace();
      if (atEnd()) return fail("is missing \")\"");
      if (peek() == ')' && r.values.empty()) return fail(fmt::format("has an empty value list for {}", quoted(r.key)));
      if (r.values.size() == kMaxValues) return fail(fmt::format("has more than {} values for {}", kMaxValues, quoted(r.key)));
      size_t value_pos = pos_;
      std::string_view v = word();
      if (v.empty()) {
        if (peek() == ',' || peek() == ')') return fail(fmt::format("has an empty value at position {}", value_pos));
        return unexpected();
      }
      if (auto p = labelValueProblem(v)) return fail(fmt::format("value {} at position {} {}", quoted(v), value_pos, *p));
      r.values.emplace_back(v);
      skipSpace();
      if (atEnd()) return fail("is missing \")\"");
      if (peek() == ')') {
        ++pos_;
        return std::nullopt;
      }
      if (peek() != ',') return unexpected();
      ++pos_;
    }
  }

  std::string_view word() {
    size_t start = pos_;
    while (!atEnd() && isWordChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  void skipSpace() {
    while (!atEnd() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }

  util::Error fail(std::string problem) const {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("labelSelector: {} {}", quoted(text_), problem),
                           {{"labelSelector", problem}});
  }
  util::Error unexpected() const {
    return fail(fmt::format("has an unexpected {} at position {}", quoted(text_.substr(pos_, 1)), pos_));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

const std::string* lookup(const StringMap& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

bool inValues(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

bool LabelSelector::matches(const StringMap& labels) const {
  for (const auto& r : requirements) {
    const std::string* value = lookup(labels, r.key);
    bool ok = false;
    switch (r.op) {
      case Requirement::Op::Equals: ok = value != nullptr && !r.values.empty() && *value == r.values[0]; break;
      case Requirement::Op::NotEquals: ok = value == nullptr || r.values.empty() || *value != r.values[0]; break;
      case Requirement::Op::In: ok = value != nullptr && inValues(r.values, *value); break;
      case Requirement::Op::NotIn: ok = value == nullptr || !inValues(r.values, *value); break;
      case Requirement::Op::Exists: ok = value != nullptr; break;
      case Requirement::Op::DoesNotExist: ok = value == nullptr; break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::vector<std::string> parts;
  for (const auto& r : requirements) {
    switch (r.op) {
      case Requirement::Op::Equals: parts.push_back(fmt::format("{}={}", r.key, r.values.at(0))); break;
      case Requirement::Op::NotEquals: parts.push_back(fmt::format("{}!={}", r.key, r.values.at(0))); break;
      case Requirement::Op::In: parts.push_back(fmt::format("{} in ({})", r.key, fmt::join(r.values, ","))); break;
      case Requirement::Op::NotIn: parts.push_back(fmt::format("{} notin ({})", r.key, fmt::join(r.values, ","))); break;
      case Requirement::Op::Exists: parts.push_back(r.key); break;
      case Requirement::Op::DoesNotExist: parts.push_back("!" + r.key); break;
    }
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

util::Result<LabelSelector> parseLabelSelector(std::string_view text) {
  if (text.size() > kMaxSelector) {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("labelSelector: is {} characters long; at most {} are allowed",
                                       text.size(), kMaxSelector));
  }
  return SelectorParser(text).parse();
}

}  // namespace magnumd::api
