#include "util/yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace magnumd::util {
namespace {

constexpr int kMaxDepth = 64;
// Aliases share nodes in yaml-cpp but expand when converted: a few hundred bytes of "billion
// laughs" would become gigabytes of JSON. No honest document of ours comes near this many nodes.
constexpr size_t kMaxNodes = 200000;

// yaml-cpp 0.7 (Debian 12) loops forever in LoadAll on some malformed streams, e.g. a lone ","
// (jbeder/yaml-cpp#1040, fixed upstream by #1319): each turn adds an empty document until memory
// runs out. A first pass that only counts documents stops at a bound, so LoadAll only ever sees
// streams that end. Found by fuzz/ (fuzz_replay).
constexpr size_t kMaxDocuments = 10000;

class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

Status checkDocumentCount(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  size_t documents = 0;
  while (parser.HandleNextDocument(counter)) {
    if (++documents > kMaxDocuments) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("invalid YAML: more than {} documents (or a stream the parser cannot end)",
                                   kMaxDocuments));
    }
  }
  return {};
}

bool isNullScalar(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

Status convert(const YAML::Node& node, Json& out, JsonAlloc& alloc, int depth, size_t& budget) {
  if (depth > kMaxDepth) {
    return makeError(ErrorCode::BadRequest, fmt::format("YAML nested deeper than {} levels", kMaxDepth));
  }
  if (budget == 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("YAML expands to more than {} nodes (alias expansion?)", kMaxNodes));
  }
  --budget;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.SetNull();
      return {};
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {  // quoted or !!str
        out = str(s, alloc);
        return {};
      }
      if (isNullScalar(s)) {
        out.SetNull();
      } else if (s == "true" || s == "True" || s == "TRUE") {
        out.SetBool(true);
      } else if (s == "false" || s == "False" || s == "FALSE") {
        out.SetBool(false);
      } else {
        static const std::regex kInt("[-+]?[0-9]+");
        static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
        if (s.size() < 20 && std::regex_match(s, kInt)) {
          out.SetInt64(std::strtoll(s.c_str(), nullptr, 10));
        } else if (s.size() < 40 && std::regex_match(s, kFloat)) {
          out.SetDouble(std::strtod(s.c_str(), nullptr));
        } else {
          out = str(s, alloc);
        }
      }
      return {};
    }
    case YAML::NodeType::Sequence: {
      out.SetArray();
      for (const auto& item : node) {
        Json v;
        RETURN_IF_ERROR(convert(item, v, alloc, depth + 1, budget));
        out.PushBack(v, alloc);
      }
      return {};
    }
    case YAML::NodeType::Map: {
      out.SetObject();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return makeError(ErrorCode::BadRequest, "YAML mapping keys must be scalars");
        }
        Json v;
        RETURN_IF_ERROR(convert(kv.second, v, alloc, depth + 1, budget));
        const std::string& key = kv.first.Scalar();
        if (out.HasMember(key.c_str())) {
          return makeError(ErrorCode::BadRequest, fmt::format("duplicate YAML key \"{}\"", key));
        }
        out.AddMember(str(key, alloc), v, alloc);
      }
      return {};
    }
  }
  return {};
}

bool needsQuotes(std::string_view s) {
  if (s.empty()) return true;
  static const std::regex kPlainSafe("[A-Za-z_/][A-Za-z0-9_./-]*");
  std::string str(s);
  if (!std::regex_match(str, kPlainSafe)) return true;
  return str == "true" || str == "false" || str == "null" || str == "yes" || str == "no" ||
         str == "on" || str == "off" || str == "True" || str == "False" || str == "Null" ||
         str == "y" || str == "n" || str == "Y" || str == "N" || str == "~";
}

void emit(const Json& v, YAML::Emitter& e) {
  switch (v.GetType()) {
    case rapidjson::kNullType: e << YAML::Null; break;
    case rapidjson::kFalseType: e << false; break;
    case rapidjson::kTrueType: e << true; break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) e << v.GetInt64();
      else if (v.IsUint64()) e << v.GetUint64();
      else e << v.GetDouble();
      break;
    case rapidjson::kStringType: {
      std::string s(v.GetString(), v.GetStringLength());
      if (needsQuotes(s)) e << YAML::DoubleQuoted << s;
      else e << s;
      break;
    }
    case rapidjson::kArrayType:
      if (v.Empty()) { e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq; break; }
      e << YAML::BeginSeq;
      for (const auto& item : v.GetArray()) emit(item, e);
      e << YAML::EndSeq;
      break;
    case rapidjson::kObjectType:
      if (v.MemberCount() == 0) { e << YAML::Flow << YAML::BeginMap << YAML::EndMap; break; }
      e << YAML::BeginMap;
      for (const auto& m : v.GetObject()) {
        e << YAML::Key << std::string(m.name.GetString(), m.name.GetStringLength()) << YAML::Value;
        emit(m.value, e);
      }
      e << YAML::EndMap;
      break;
  }
}

}  // namespace

Result<std::vector<JsonDoc>> parseYamlDocuments(std::string_view text) {
  std::vector<YAML::Node> nodes;
  try {
    std::string input(text);
    RETURN_IF_ERROR(checkDocumentCount(input));
    nodes = YAML::LoadAll(input);
  } catch (const YAML::Exception& e) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("invalid YAML at line {}, column {}: {}", e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
  }
  std::vector<JsonDoc> docs;
  for (const auto& node : nodes) {
    if (!node.IsDefined() || node.IsNull()) continue;
    JsonDoc doc;
    Json value;
    size_t budget = kMaxNodes;
    try {
      RETURN_IF_ERROR(convert(node, value, doc.GetAllocator(), 0, budget));
    } catch (const YAML::Exception& e) {
      return makeError(ErrorCode::BadRequest, fmt::format("invalid YAML: {}", e.msg));
    }
    static_cast<Json&>(doc).Swap(value);
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::string toYaml(const Json& value) {
  YAML::Emitter e;
  e.SetIndent(2);
  emit(value, e);
  std::string out = e.c_str();
  out.push_back('\n');
  return out;
}

bool looksLikeYaml(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c != '{' && c != '[';
  }
  return true;
}

}  // namespace magnumd::util
