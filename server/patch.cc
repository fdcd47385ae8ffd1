#include "server/patch.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace magnumd::server {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

namespace {

// Objects with more members than this get a name index while a patch works on them.
constexpr rapidjson::SizeType kIndexedMembers = 16;

std::string_view nameOf(const Json& name) { return {name.GetString(), name.GetStringLength()}; }

size_t sizeUpTo(const Json& v, size_t cap, size_t sum) {
  if (sum > cap) return sum;
  switch (v.GetType()) {
    case rapidjson::kStringType: return sum + v.GetStringLength() + 2;
    case rapidjson::kNumberType: return sum + 8;
    case rapidjson::kObjectType:
      sum += 2;
      for (const auto& m : v.GetObject()) {
        sum = sizeUpTo(m.value, cap, sum + m.name.GetStringLength() + 4);
        if (sum > cap) return sum;
      }
      return sum;
    case rapidjson::kArrayType:
      sum += 2;
      for (const auto& e : v.GetArray()) {
        sum = sizeUpTo(e, cap, sum + 1);
        if (sum > cap) return sum;
      }
      return sum;
    default: return sum + 5;
  }
}

int depthUpTo(const Json& v, int cap, int depth = 0) {
  if (depth > cap) return depth;
  int deepest = depth;
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) deepest = std::max(deepest, depthUpTo(m.value, cap, depth + 1));
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) deepest = std::max(deepest, depthUpTo(e, cap, depth + 1));
  }
  return deepest;
}

// What a patch has used of its limits; every charge fails with a TooLarge naming the limit.
class Budget {
 public:
  explicit Budget(const PatchLimits& limits) : limits_(limits) {}

  util::Status steps(size_t n) {
    steps_ += n;
    if (steps_ <= limits_.max_steps) return {};
    return makeError(ErrorCode::TooLarge,
                     fmt::format("patch takes more than {} steps to apply (large objects or many "
                                 "operations); split it into smaller patches",
                                 limits_.max_steps));
  }

  // Charges the bytes about to be written into the document.
  util::Status copy(const Json& value) {
    size_t left = limits_.max_copied_bytes - copied_;
    size_t size = sizeUpTo(value, left, 0);
    if (size > left) {
      return makeError(ErrorCode::TooLarge,
                       fmt::format("patch writes more than {} bytes into the object",
                                   limits_.max_copied_bytes));
    }
    copied_ += size;
    return {};
  }

  util::Status result(const Json& document) const {
    if (sizeUpTo(document, limits_.max_result_bytes, 0) <= limits_.max_result_bytes) return {};
    return makeError(ErrorCode::TooLarge,
                     fmt::format("the patched object would be larger than {} bytes",
                                 limits_.max_result_bytes));
  }

  const PatchLimits& limits() const { return limits_; }

 private:
  const PatchLimits& limits_;
  size_t steps_ = 0;
  size_t copied_ = 0;
};

// Finds members by name in O(1) for large objects (names live in the allocator, so views of them
// stay valid while members are added), by a scan for small ones.
class MemberIndex {
 public:
  explicit MemberIndex(const Json& object) : object_(object) {
    if (object.MemberCount() <= kIndexedMembers) return;
    for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) {
      index_.try_emplace(nameOf(object.MemberBegin()[i].name), i);
    }
  }

  // Index of the member, or MemberCount() if absent; `steps` counts the comparisons made.
  rapidjson::SizeType find(std::string_view name, size_t& steps) const {
    if (!index_.empty() || object_.MemberCount() > kIndexedMembers) {
      steps += 1;
      auto it = index_.find(name);
      return it == index_.end() ? object_.MemberCount() : it->second;
    }
    for (rapidjson::SizeType i = 0; i < object_.MemberCount(); ++i) {
      ++steps;
      if (nameOf(object_.MemberBegin()[i].name) == name) return i;
    }
    return object_.MemberCount();
  }

  void added() {
    if (object_.MemberCount() <= kIndexedMembers && index_.empty()) return;
    if (index_.empty()) {
      for (rapidjson::SizeType i = 0; i < object_.MemberCount(); ++i) {
        index_.try_emplace(nameOf(object_.MemberBegin()[i].name), i);
      }
      return;
    }
    rapidjson::SizeType last = object_.MemberCount() - 1;
    index_.try_emplace(nameOf(object_.MemberBegin()[last].name), last);
  }

 private:
  const Json& object_;
  std::unordered_map<std::string_view, rapidjson::SizeType> index_;
};

util::Status mergeInto(Json& target, const Json& patch, JsonAlloc& a, int depth, Budget& budget) {
  if (depth > budget.limits().max_depth) {
    return makeError(ErrorCode::BadRequest, fmt::format("merge patch nested deeper than {} levels",
                                                        budget.limits().max_depth));
  }
  if (!patch.IsObject()) {
    RETURN_IF_ERROR(budget.copy(patch));
    target.CopyFrom(patch, a);
    return {};
  }
  if (!target.IsObject()) target.SetObject();
  RETURN_IF_ERROR(budget.steps(target.MemberCount()));  // building the index
  MemberIndex index(target);
  std::vector<rapidjson::SizeType> removed;
  size_t steps = 0;
  for (const auto& m : patch.GetObject()) {
    rapidjson::SizeType i = index.find(nameOf(m.name), steps);
    RETURN_IF_ERROR(budget.steps(std::exchange(steps, 0) + 1));
    bool present = i < target.MemberCount();
    if (m.value.IsNull()) {
      if (present) removed.push_back(i);
      continue;
    }
    if (present) {
      RETURN_IF_ERROR(mergeInto(target.MemberBegin()[i].value, m.value, a, depth + 1, budget));
      continue;
    }
    Json value;
    RETURN_IF_ERROR(mergeInto(value, m.value, a, depth + 1, budget));
    RETURN_IF_ERROR(budget.copy(m.name));
    target.AddMember(Json(m.name, a), value, a);
    index.added();
  }
  // Highest index first: removing a member moves the last one into its place, and the last one
  // is never a member still to be removed.
  std::sort(removed.begin(), removed.end());
  removed.erase(std::unique(removed.begin(), removed.end()), removed.end());
  for (auto it = removed.rbegin(); it != removed.rend(); ++it) {
    target.RemoveMember(target.MemberBegin() + *it);
  }
  return {};
}

// RFC 6901 JSON Pointer, split into unescaped reference tokens.
util::Result<std::vector<std::string>> parsePointer(std::string_view pointer, int max_tokens) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("path \"{}\" is not a JSON pointer (must start with /)", pointer));
  }
  std::string current;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      if (static_cast<int>(tokens.size()) == max_tokens) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("path has more than {} segments", max_tokens));
      }
      tokens.push_back(std::move(current));
      current.clear();
    } else if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        current += pointer[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("path \"{}\": ~ must be followed by 0 or 1", pointer));
      }
    } else {
      current += pointer[i];
    }
  }
  return tokens;
}

std::optional<size_t> arrayIndex(const std::string& token, size_t size, bool allow_end) {
  if (allow_end && token == "-") return size;
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  size_t index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  if (index > size || (!allow_end && index == size)) return std::nullopt;
  return index;
}

// Structural equality that charges every node it looks at, so "test" against large objects
// costs what the objects cost and no more (RapidJSON's operator== is quadratic on objects).
util::Result<bool> equalWithin(const Json& a, const Json& b, Budget& budget) {
  RETURN_IF_ERROR(budget.steps(1));
  if (a.IsObject() && b.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    RETURN_IF_ERROR(budget.steps(b.MemberCount()));
    MemberIndex index(b);
    size_t steps = 0;
    for (const auto& m : a.GetObject()) {
      rapidjson::SizeType i = index.find(nameOf(m.name), steps);
      RETURN_IF_ERROR(budget.steps(std::exchange(steps, 0)));
      if (i == b.MemberCount()) return false;
      ASSIGN_OR_RETURN(bool same, equalWithin(m.value, b.MemberBegin()[i].value, budget));
      if (!same) return false;
    }
    return true;
  }
  if (a.IsArray() && b.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      ASSIGN_OR_RETURN(bool same, equalWithin(a[i], b[i], budget));
      if (!same) return false;
    }
    return true;
  }
  if (a.IsObject() || a.IsArray() || b.IsObject() || b.IsArray()) return false;
  return a == b;
}

class JsonPatcher {
 public:
  JsonPatcher(Json& root, JsonAlloc& a, Budget& budget) : root_(root), a_(a), budget_(budget) {}

  util::Status apply(const Json& op, size_t index) {
    index_ = index;
    if (!op.IsObject()) return fail("", "each operation must be an object");
    auto name = util::stringMember(op, "op");
    auto path = util::stringMember(op, "path");
    if (!name) return fail("", "\"op\" (string) is required");
    op_ = *name;
    if (!path) return fail("", "\"path\" (string) is required");
    path_ = *path;
    ASSIGN_OR_RETURN(auto tokens, parsePointer(*path, budget_.limits().max_depth));
    const Json* value = util::member(op, "value");
    if (op_ == "add" || op_ == "replace" || op_ == "test") {
      if (value == nullptr) return fail(*path, "\"value\" is required");
      if (op_ == "test") return test(tokens, *value);
      RETURN_IF_ERROR(admit(tokens, *value));
      Json copy(*value, a_);
      if (op_ == "replace") RETURN_IF_ERROR(remove(tokens));
      return add(tokens, copy);
    }
    if (op_ == "remove") return remove(tokens);
    if (op_ == "move" || op_ == "copy") {
      auto from = util::stringMember(op, "from");
      if (!from) return fail(*path, "\"from\" (string) is required");
      ASSIGN_OR_RETURN(auto from_tokens, parsePointer(*from, budget_.limits().max_depth));
      ASSIGN_OR_RETURN(Json * source, resolve(from_tokens, from_tokens.size()));
      if (source == nullptr) return fail(*path, fmt::format("from \"{}\" does not exist", *from));
      RETURN_IF_ERROR(admit(tokens, *source));
      Json copy(*source, a_);
      if (op_ == "move") RETURN_IF_ERROR(remove(from_tokens));
      return add(tokens, copy);
    }
    return fail(*path, "op must be one of add, remove, replace, move, copy, test");
  }

 private:
  util::Status fail(std::string_view path, std::string_view why) const {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("json patch [{}] {} {}: {}", index_, op_, path, why));
  }
  util::Status notFound() const { return fail(path_, "path does not exist"); }

  // Checks that writing `value` at `tokens` stays within the depth and copy limits.
  util::Status admit(const std::vector<std::string>& tokens, const Json& value) {
    const int max_depth = budget_.limits().max_depth;
    if (static_cast<int>(tokens.size()) + depthUpTo(value, max_depth) > max_depth) {
      return fail(path_, fmt::format("the value would be nested deeper than {} levels", max_depth));
    }
    util::Status charged = budget_.copy(value);
    if (!charged.ok()) {
      auto error = charged.takeError();
      error.message = fmt::format("json patch [{}] {} {}: {}", index_, op_, path_, error.message);
      return error;
    }
    return {};
  }

  // The node at the first `count` tokens, or null when there is none.
  util::Result<Json*> resolve(const std::vector<std::string>& tokens, size_t count) {
    Json* node = &root_;
    for (size_t i = 0; i < count; ++i) {
      const std::string& t = tokens[i];
      if (node->IsObject()) {
        RETURN_IF_ERROR(budget_.steps(node->MemberCount()));
        auto it = node->FindMember(Json(rapidjson::StringRef(t.data(), t.size())));
        if (it == node->MemberEnd()) return nullptr;
        node = &it->value;
      } else if (node->IsArray()) {
        auto index = arrayIndex(t, node->Size(), false);
        if (!index) return nullptr;
        node = &(*node)[static_cast<rapidjson::SizeType>(*index)];
      } else {
        return nullptr;
      }
    }
    return node;
  }

  util::Status add(const std::vector<std::string>& tokens, Json& value) {
    if (tokens.empty()) {
      root_.Swap(value);
      return {};
    }
    ASSIGN_OR_RETURN(Json * parent, resolve(tokens, tokens.size() - 1));
    if (parent == nullptr) return notFound();
    const std::string& last = tokens.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Json(rapidjson::StringRef(last.data(), last.size())));
      RETURN_IF_ERROR(budget_.steps(parent->MemberCount()));
      if (it != parent->MemberEnd()) {
        it->value.Swap(value);
      } else {
        parent->AddMember(util::str(last, a_), value, a_);
      }
      return {};
    }
    if (parent->IsArray()) {
      auto index = arrayIndex(last, parent->Size(), true);
      if (!index) return notFound();
      RETURN_IF_ERROR(budget_.steps(parent->Size() - *index + 1));
      parent->PushBack(Json(), a_);
      for (size_t i = parent->Size() - 1; i > *index; --i) {
        (*parent)[static_cast<rapidjson::SizeType>(i)].Swap(
            (*parent)[static_cast<rapidjson::SizeType>(i - 1)]);
      }
      (*parent)[static_cast<rapidjson::SizeType>(*index)].Swap(value);
      return {};
    }
    return notFound();
  }

  util::Status remove(const std::vector<std::string>& tokens) {
    if (tokens.empty()) return fail(path_, "cannot remove the whole document");
    ASSIGN_OR_RETURN(Json * parent, resolve(tokens, tokens.size() - 1));
    if (parent == nullptr) return notFound();
    const std::string& last = tokens.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Json(rapidjson::StringRef(last.data(), last.size())));
      RETURN_IF_ERROR(budget_.steps(parent->MemberCount()));
      if (it == parent->MemberEnd()) return notFound();
      parent->RemoveMember(it);
      return {};
    }
    if (parent->IsArray()) {
      auto index = arrayIndex(last, parent->Size(), false);
      if (!index) return notFound();
      RETURN_IF_ERROR(budget_.steps(parent->Size() - *index));
      parent->Erase(parent->Begin() + *index);
      return {};
    }
    return notFound();
  }

  util::Status test(const std::vector<std::string>& tokens, const Json& expected) {
    ASSIGN_OR_RETURN(const Json* actual, resolve(tokens, tokens.size()));
    if (actual == nullptr) return notFound();
    ASSIGN_OR_RETURN(bool same, equalWithin(*actual, expected, budget_));
    if (!same) {
      constexpr size_t kShown = 200;
      auto shown = [](const Json& v) {
        std::string text = util::toJson(v);
        return text.size() <= kShown ? text : text.substr(0, kShown) + "...";
      };
      return makeError(ErrorCode::Invalid,
                       fmt::format("json patch [{}] test {}: value is {}, not {}", index_, path_,
                                   shown(*actual), shown(expected)),
                       {{path_, "test failed"}});
    }
    return {};
  }

  Json& root_;
  JsonAlloc& a_;
  Budget& budget_;
  size_t index_ = 0;
  std::string op_;
  std::string path_;
};

}  // namespace

size_t jsonSizeUpTo(const Json& value, size_t cap) { return sizeUpTo(value, cap, 0); }

util::Status applyMergePatch(Json& target, const Json& patch, JsonAlloc& alloc,
                             const PatchLimits& limits) {
  Budget budget(limits);
  RETURN_IF_ERROR(mergeInto(target, patch, alloc, 0, budget));
  return budget.result(target);
}

util::Status applyJsonPatch(Json& target, const Json& patch, JsonAlloc& alloc,
                            const PatchLimits& limits) {
  if (!patch.IsArray()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("json patch: must be an array of operations, got {}",
                                 util::typeName(patch)));
  }
  if (patch.Size() > limits.max_operations) {
    return makeError(ErrorCode::TooLarge,
                     fmt::format("json patch has {} operations; at most {} are allowed",
                                 patch.Size(), limits.max_operations));
  }
  if (depthUpTo(patch, limits.max_depth) > limits.max_depth) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("json patch nested deeper than {} levels", limits.max_depth));
  }
  Budget budget(limits);
  JsonPatcher patcher(target, alloc, budget);
  for (rapidjson::SizeType i = 0; i < patch.Size(); ++i) {
    RETURN_IF_ERROR(patcher.apply(patch[i], i));
  }
  return budget.result(target);
}

}  // namespace magnumd::server
