#include "server/patch.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace magnumd::server {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

namespace {

util::Status mergeInto(Json& target, const Json& patch, JsonAlloc& a, int depth) {
  if (depth > kMaxPatchDepth) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("merge patch nested deeper than {} levels", kMaxPatchDepth));
  }
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return {};
  }
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    auto it = target.FindMember(m.name);
    if (m.value.IsNull()) {
      if (it != target.MemberEnd()) target.RemoveMember(it);
      continue;
    }
    if (it == target.MemberEnd()) {
      Json value;
      RETURN_IF_ERROR(mergeInto(value, m.value, a, depth + 1));
      target.AddMember(Json(m.name, a), value, a);
    } else {
      RETURN_IF_ERROR(mergeInto(it->value, m.value, a, depth + 1));
    }
  }
  return {};
}

int depthOf(const Json& v, int depth = 0) {
  if (depth > kMaxPatchDepth) return depth;
  int deepest = depth;
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) deepest = std::max(deepest, depthOf(m.value, depth + 1));
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) deepest = std::max(deepest, depthOf(e, depth + 1));
  }
  return deepest;
}

// RFC 6901 JSON Pointer, split into unescaped reference tokens.
util::Result<std::vector<std::string>> parsePointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("path \"{}\" is not a JSON pointer (must start with /)", pointer));
  }
  std::string current;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
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

Json* resolve(Json& root, const std::vector<std::string>& tokens, size_t count) {
  Json* node = &root;
  for (size_t i = 0; i < count; ++i) {
    const std::string& t = tokens[i];
    if (node->IsObject()) {
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

class JsonPatcher {
 public:
  JsonPatcher(Json& root, JsonAlloc& a) : root_(root), a_(a) {}

  util::Status apply(const Json& op, size_t index) {
    index_ = index;
    if (!op.IsObject()) return fail("", "each operation must be an object");
    auto name = util::stringMember(op, "op");
    auto path = util::stringMember(op, "path");
    if (!name) return fail("", "\"op\" (string) is required");
    op_ = *name;
    if (!path) return fail("", "\"path\" (string) is required");
    path_ = *path;
    ASSIGN_OR_RETURN(auto tokens, parsePointer(*path));
    const Json* value = util::member(op, "value");
    if (op_ == "add" || op_ == "replace" || op_ == "test") {
      if (value == nullptr) return fail(*path, "\"value\" is required");
      if (op_ == "test") return test(tokens, *value);
      Json copy(*value, a_);
      if (op_ == "replace") RETURN_IF_ERROR(remove(tokens));
      return add(tokens, copy);
    }
    if (op_ == "remove") return remove(tokens);
    if (op_ == "move" || op_ == "copy") {
      auto from = util::stringMember(op, "from");
      if (!from) return fail(*path, "\"from\" (string) is required");
      ASSIGN_OR_RETURN(auto from_tokens, parsePointer(*from));
      Json* source = resolve(root_, from_tokens, from_tokens.size());
      if (source == nullptr) return fail(*path, fmt::format("from \"{}\" does not exist", *from));
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

  util::Status add(const std::vector<std::string>& tokens, Json& value) {
    if (tokens.empty()) {
      root_.Swap(value);
      return {};
    }
    Json* parent = resolve(root_, tokens, tokens.size() - 1);
    if (parent == nullptr) return notFound();
    const std::string& last = tokens.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Json(rapidjson::StringRef(last.data(), last.size())));
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
    Json* parent = resolve(root_, tokens, tokens.size() - 1);
    if (parent == nullptr) return notFound();
    const std::string& last = tokens.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Json(rapidjson::StringRef(last.data(), last.size())));
      if (it == parent->MemberEnd()) return notFound();
      parent->RemoveMember(it);
      return {};
    }
    if (parent->IsArray()) {
      auto index = arrayIndex(last, parent->Size(), false);
      if (!index) return notFound();
      parent->Erase(parent->Begin() + *index);
      return {};
    }
    return notFound();
  }

  util::Status test(const std::vector<std::string>& tokens, const Json& expected) const {
    const Json* actual = resolve(root_, tokens, tokens.size());
    if (actual == nullptr) return notFound();
    if (*actual != expected) {
      return makeError(ErrorCode::Invalid,
                       fmt::format("json patch [{}] test {}: value is {}, not {}", index_, path_,
                                   util::toJson(*actual), util::toJson(expected)),
                       {{path_, "test failed"}});
    }
    return {};
  }

  Json& root_;
  JsonAlloc& a_;
  size_t index_ = 0;
  std::string op_;
  std::string path_;
};

}  // namespace

util::Status applyMergePatch(Json& target, const Json& patch, JsonAlloc& alloc) {
  return mergeInto(target, patch, alloc, 0);
}

util::Status applyJsonPatch(Json& target, const Json& patch, JsonAlloc& alloc) {
  if (!patch.IsArray()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("json patch: must be an array of operations, got {}",
                                 util::typeName(patch)));
  }
  if (depthOf(patch) > kMaxPatchDepth) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("json patch nested deeper than {} levels", kMaxPatchDepth));
  }
  JsonPatcher patcher(target, alloc);
  for (rapidjson::SizeType i = 0; i < patch.Size(); ++i) {
    RETURN_IF_ERROR(patcher.apply(patch[i], i));
  }
  return {};
}

}  // namespace magnumd::server
