#include "server/selectors.h"

#include <fmt/format.h>

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

namespace {

// Only two fields can be selected on, so a longer selector is a mistake or an attack; either way
// matching it would cost every list and every watch event this much.
constexpr size_t kMaxFieldRequirements = 16;
constexpr size_t kMaxFieldSelector = 4096;

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

util::Result<std::vector<FieldRequirement>> parseFieldSelector(std::string_view text) {
  std::vector<FieldRequirement> out;
  if (text.size() > kMaxFieldSelector) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("fieldSelector: is {} characters long; at most {} are allowed",
                                 text.size(), kMaxFieldSelector));
  }
  while (!trim(text).empty()) {
    if (out.size() == kMaxFieldRequirements) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("fieldSelector: has more than {} requirements",
                                   kMaxFieldRequirements));
    }
    auto comma = text.find(',');
    std::string_view term = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    FieldRequirement req;
    size_t op = term.find("!=");
    size_t value_at = 0;
    if (op != std::string_view::npos) {
      req.equals = false;
      value_at = op + 2;
    } else if ((op = term.find("==")) != std::string_view::npos) {
      value_at = op + 2;
    } else if ((op = term.find('=')) != std::string_view::npos) {
      value_at = op + 1;
    } else {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("fieldSelector: \"{}\" needs an operator (=, ==, !=)", term));
    }
    req.field = std::string(trim(term.substr(0, op)));
    req.value = std::string(trim(term.substr(value_at)));
    if (req.field != "metadata.name" && req.field != "metadata.namespace") {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("fieldSelector: field \"{}\" is not supported; use "
                                   "metadata.name or metadata.namespace",
                                   req.field));
    }
    out.push_back(std::move(req));
  }
  return out;
}

}  // namespace

bool ObjectFilter::matches(const api::Object& object) const {
  for (const auto& f : fields) {
    const std::string& actual =
        f.field == "metadata.name" ? object.metadata.name : object.metadata.namespace_;
    if ((actual == f.value) != f.equals) return false;
  }
  return labels.empty() || labels.matches(object.metadata.labels);
}

util::Result<ObjectFilter> parseFilter(const QueryParams& query) {
  ObjectFilter filter;
  if (auto labels = stringParam(query, "labelSelector"); !labels.empty()) {
    auto parsed = api::parseLabelSelector(labels);
    if (!parsed.ok()) {
      auto error = parsed.takeError();
      error.code = ErrorCode::BadRequest;
      return error;
    }
    filter.labels = std::move(parsed).value();
  }
  ASSIGN_OR_RETURN(filter.fields, parseFieldSelector(stringParam(query, "fieldSelector")));
  return filter;
}

}  // namespace magnumd::server
