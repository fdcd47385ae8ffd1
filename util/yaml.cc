#include "util/yaml.h"

#include <fmt/format.h>
#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace magnumd::util {
namespace {

// yaml-cpp 0.7 (Debian 12) loops forever on some malformed streams, e.g. a lone "," (jbeder/
// yaml-cpp#1040, fixed upstream by #1319): each turn yields another empty document. Counting every
// document, empty or not, stops such a stream. Found by fuzz/ (fuzz_replay).
constexpr size_t kMaxStreamDocuments = 10000;

// The offset of the first byte that is not part of valid UTF-8 text, if any. JSON text is checked
// by RapidJSON's parser; YAML text gets the same check (RapidJSON's validator) before yaml-cpp,
// which passes invalid bytes through, and reads text with NUL bytes in its first characters as
// UTF-16 or UTF-32: NUL is refused too, so a body means the same to every reader.
std::optional<size_t> invalidUtf8At(std::string_view text) {
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    text = text.substr(0, nul);
    if (auto bad = invalidUtf8At(text)) return bad;
    return nul;
  }
  struct Discard {
    void Put(char) {}
  } discard;
  rapidjson::MemoryStream in(text.data(), text.size());  // reads '\0' past the end, never memory
  while (in.Tell() < text.size()) {
    size_t start = in.Tell();
    if (!rapidjson::UTF8<>::Validate(in, discard)) return start;
  }
  return std::nullopt;
}

// Thrown from inside the event handler to stop the parser at the first problem.
struct StopParsing {
  Error error;
};

[[noreturn]] void stop(ErrorCode code, std::string message) {
  throw StopParsing{Error{code, std::move(message), {}}};
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// [-+]?[0-9]+
bool isYamlInteger(std::string_view s) {
  size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!isDigit(s[i])) return false;
  }
  return true;
}

// An integer as RapidJSON reads it from JSON: int64, else uint64, else a double. So a number
// written as YAML reads back as the same JSON value.
void setInteger(const std::string& s, Json& out) {
  errno = 0;
  long long value = std::strtoll(s.c_str(), nullptr, 10);
  if (errno != ERANGE) {
    out.SetInt64(value);
    return;
  }
  if (s[0] != '-') {
    errno = 0;
    unsigned long long positive = std::strtoull(s.c_str(), nullptr, 10);
    if (errno != ERANGE) {
      out.SetUint64(positive);
      return;
    }
  }
  out.SetDouble(std::strtod(s.c_str(), nullptr));
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isYamlFloat(std::string_view s) {
  size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  size_t whole = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++whole;
  size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++fraction;
  }
  if (whole == 0 && fraction == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exponent = 0;
    while (i < s.size() && isDigit(s[i])) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == s.size();
}

// Builds JSON documents from the parser's events. Containers under construction sit on an
// explicit stack; anchored nodes are kept (as copies) so that aliases can be expanded, and every
// node made, by the text or by an alias, is charged to one budget for the whole stream.
class JsonBuilder final : public YAML::EventHandler {
 public:
  explicit JsonBuilder(const YamlLimits& limits) : limits_(limits), budget_(limits.max_nodes) {}

  // The document the last HandleNextDocument produced, if it was not empty.
  std::optional<JsonDoc> takeDocument() {
    auto out = std::move(document_);
    document_.reset();
    return out;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    mark_ = mark;
    document_.reset();
    stack_.clear();
    anchors_.clear();
    anchor_store_ = std::make_unique<JsonDoc>();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    mark_ = mark;
    if (expectingKey()) stop(ErrorCode::BadRequest, at(mark, "YAML mapping keys must be scalars"));
    Json value;
    finish(std::move(value), 1, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    mark_ = mark;
    if (expectingKey()) stop(ErrorCode::BadRequest, at(mark, "YAML mapping keys must be scalars"));
    startingNode();
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      stop(ErrorCode::BadRequest, at(mark, "YAML alias refers to a node that encloses it"));
    }
    charge(it->second.nodes);
    finish(Json(it->second.value, pending_->GetAllocator()), it->second.nodes, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    mark_ = mark;
    charge(1);
    if (expectingKey()) {
      Frame& map = stack_.back();
      if (!map.keys.insert(text).second) {
        stop(ErrorCode::BadRequest, at(mark, fmt::format("duplicate YAML key \"{}\"", text)));
      }
      map.key = text;
      if (anchor != 0) remember(anchor, str(text, anchor_store_->GetAllocator()), 1);
      return;
    }
    startingNode();
    finish(scalar(tag, text), 1, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    Json value;
    bool is_map = false;
    YAML::anchor_t anchor = 0;
    size_t nodes = 1;
    std::optional<std::string> key;           // a mapping's key waiting for its value
    std::unordered_set<std::string> keys;     // a mapping's keys so far
  };
  struct Anchored {
    Json value;
    size_t nodes = 0;
  };

  static std::string at(const YAML::Mark& mark, std::string_view what) {
    return fmt::format("invalid YAML at line {}, column {}: {}", mark.line + 1, mark.column + 1, what);
  }

  // Called before each node: a document past the limit is refused at its first node, before
  // the parser reads the rest of it (empty documents have none, and do not count).
  void startingNode() {
    if (!stack_.empty() || documents_ < limits_.max_documents) return;
    stop(ErrorCode::BadRequest,
         at(mark_, limits_.max_documents == 1
                       ? std::string("expected exactly one YAML document, got more")
                       : fmt::format("more than {} YAML documents", limits_.max_documents)));
  }

  bool expectingKey() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().key; }

  void charge(size_t nodes) {
    if (nodes > budget_) {
      stop(ErrorCode::TooLarge,
           at(mark_, fmt::format("the YAML expands to more than {} nodes (aliases included)",
                                limits_.max_nodes)));
    }
    budget_ -= nodes;
  }

  Json scalar(const std::string& tag, const std::string& s) {
    auto& alloc = pending_->GetAllocator();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return str(s, alloc);  // quoted or !!str
    Json out;
    if (s == "~" || s == "null" || s == "Null" || s == "NULL") {
      out.SetNull();
    } else if (s == "true" || s == "True" || s == "TRUE") {
      out.SetBool(true);
    } else if (s == "false" || s == "False" || s == "FALSE") {
      out.SetBool(false);
    } else if (s.size() <= 20 && isYamlInteger(s)) {
      setInteger(s, out);
    } else if (s.size() < 40 && isYamlFloat(s)) {
      out.SetDouble(std::strtod(s.c_str(), nullptr));
    } else {
      out = str(s, alloc);
    }
    return out;
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    mark_ = mark;
    if (expectingKey()) stop(ErrorCode::BadRequest, at(mark, "YAML mapping keys must be scalars"));
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      stop(ErrorCode::BadRequest, at(mark, fmt::format("YAML nested deeper than {} levels",
                                                       limits_.max_depth)));
    }
    startingNode();
    charge(1);
    Frame frame;
    if (is_map) {
      frame.value.SetObject();
    } else {
      frame.value.SetArray();
    }
    frame.is_map = is_map;
    frame.anchor = anchor;
    stack_.push_back(std::move(frame));
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    finish(std::move(frame.value), frame.nodes, frame.anchor);
  }

  // A complete node: remember it under its anchor, then place it in its parent (or make it the
  // document).
  void finish(Json value, size_t nodes, YAML::anchor_t anchor) {
    if (anchor != 0) {
      charge(nodes);  // the copy kept for aliases
      remember(anchor, Json(value, anchor_store_->GetAllocator()), nodes);
    }
    if (stack_.empty()) {
      if (!value.IsNull()) ++documents_;
      static_cast<Json&>(*pending_).Swap(value);
      document_ = std::move(*pending_);
      pending_ = std::make_unique<JsonDoc>();
      return;
    }
    Frame& parent = stack_.back();
    parent.nodes += nodes;
    auto& alloc = pending_->GetAllocator();
    if (parent.is_map) {
      parent.value.AddMember(str(*parent.key, alloc), value, alloc);
      parent.key.reset();
    } else {
      parent.value.PushBack(value, alloc);
    }
  }

  void remember(YAML::anchor_t anchor, Json value, size_t nodes) {
    Anchored& slot = anchors_[anchor];
    slot.value = std::move(value);
    slot.nodes = nodes;
  }

  const YamlLimits& limits_;
  size_t budget_;
  size_t documents_ = 0;  // non-empty documents so far
  YAML::Mark mark_;  // where the newest event came from, for errors
  // Owns the memory of the document under construction.
  std::unique_ptr<JsonDoc> pending_ = std::make_unique<JsonDoc>();
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  std::unique_ptr<JsonDoc> anchor_store_ = std::make_unique<JsonDoc>();
  std::optional<JsonDoc> document_;
};

// Plain style only for strings that cannot read as anything but themselves:
// [A-Za-z_/][A-Za-z0-9_./-]* and not one of YAML 1.1's booleans or nulls. A linear scan: the
// strings come from users (an annotation may be 256 KiB).
bool needsQuotes(std::string_view s) {
  if (s.empty()) return true;
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!letter(s[0]) && s[0] != '_' && s[0] != '/') return true;
  for (char c : s) {
    if (!letter(c) && !isDigit(c) && c != '_' && c != '.' && c != '/' && c != '-') return true;
  }
  static const std::unordered_set<std::string_view> kReserved = {
      "true", "false", "null", "yes", "no", "on", "off", "True", "False", "Null",
      "y",    "n",     "Y",    "N",   "~"};
  return kReserved.count(s) != 0;
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

Result<std::vector<JsonDoc>> parseYamlDocuments(std::string_view text, const YamlLimits& limits) {
  std::vector<JsonDoc> docs;
  std::string input(text);
  if (auto bad = invalidUtf8At(input)) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("invalid YAML: byte {} is not valid UTF-8 text", *bad));
  }
  try {
    std::istringstream in{std::move(input)};
    YAML::Parser parser(in);
    JsonBuilder builder(limits);
    for (size_t streamed = 0; parser.HandleNextDocument(builder);) {
      if (++streamed > kMaxStreamDocuments) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("invalid YAML: more than {} documents (or a stream the parser "
                                     "cannot end)",
                                     kMaxStreamDocuments));
      }
      auto doc = builder.takeDocument();
      if (!doc || doc->IsNull()) continue;
      if (docs.size() == limits.max_documents) {
        return makeError(ErrorCode::BadRequest,
                         limits.max_documents == 1
                             ? std::string("expected exactly one YAML document, got more")
                             : fmt::format("more than {} YAML documents", limits.max_documents));
      }
      docs.push_back(std::move(*doc));
    }
  } catch (const StopParsing& stopped) {
    return stopped.error;
  } catch (const YAML::Exception& e) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("invalid YAML at line {}, column {}: {}", e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
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
