#include "drivers/coe/kubernetes/template.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace magnumd::coe::kubernetes {

Values& Values::set(std::string name, std::string value) {
  entries[std::move(name)] = Value{std::move(value)};
  return *this;
}

Values& Values::setFlag(std::string name, bool value) {
  entries[std::move(name)] = Value{value};
  return *this;
}

Values& Values::setList(std::string name, ValueList list) {
  entries[std::move(name)] = Value{std::move(list)};
  return *this;
}

const Value* Values::find(std::string_view name) const {
  auto it = entries.find(name);
  return it == entries.end() ? nullptr : &it->second;
}

std::string yamlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\x{:02x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string shellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

namespace {

enum class Kind { Text, Raw, Yaml, Shell, Indent, Section, Inverted };

struct Node {
  Kind kind = Kind::Text;
  std::string text;  // Text: the text; others: the value's name
  int indent = 0;
  int line = 0;
  std::vector<Node> children;
};

struct Parser {
  std::string_view name;
  std::string_view text;
  size_t pos = 0;
  // Lines before `counted_to`: positions asked for mostly grow, so each newline is counted once.
  size_t counted_to = 0;
  int counted_lines = 1;

  int lineAt(size_t at) {
    if (at < counted_to) {
      counted_to = 0;
      counted_lines = 1;
    }
    counted_lines += static_cast<int>(std::count(text.begin() + static_cast<long>(counted_to),
                                                 text.begin() + static_cast<long>(at), '\n'));
    counted_to = at;
    return counted_lines;
  }
  util::Error error(size_t at, std::string_view what) {
    return util::makeError(util::ErrorCode::Internal,
                           fmt::format("template {}:{}: {}", name, lineAt(at), what));
  }

  // Parses until `{{/closing}}` (or the end when `closing` is empty); returns the nodes.
  util::Result<std::vector<Node>> parse(std::string_view closing, int depth) {
    std::vector<Node> nodes;
    while (pos < text.size()) {
      size_t open = text.find("{{", pos);
      if (open == std::string_view::npos) open = text.size();
      size_t close = open < text.size() ? text.find("}}", open + 2) : std::string_view::npos;
      if (open < text.size() && close == std::string_view::npos)
        return error(open, "\"{{\" is not closed");
      std::string_view tag = open < text.size() ? text.substr(open + 2, close - open - 2) : "";
      size_t text_end = open;
      size_t next = open < text.size() ? close + 2 : open;
      bool is_section = !tag.empty() && (tag[0] == '#' || tag[0] == '^' || tag[0] == '/');
      if (is_section) {
        // Standalone: only blanks between the previous line break and the tag, and after it.
        size_t nl = open == 0 ? std::string_view::npos : text.rfind('\n', open - 1);
        size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
        bool blank_before = text.substr(line_start, open - line_start).find_first_not_of(" ") ==
                            std::string_view::npos;
        size_t after = next;
        while (after < text.size() && text[after] == ' ') ++after;
        bool blank_after = after == text.size() || text[after] == '\n';
        if (line_start >= pos && blank_before && blank_after) {
          text_end = line_start;
          next = after < text.size() ? after + 1 : after;
        }
      }
      if (text_end > pos)
        nodes.push_back(Node{Kind::Text, std::string(text.substr(pos, text_end - pos))});
      if (open >= text.size()) {
        pos = text.size();
        break;
      }
      pos = next;
      if (is_section) {
        std::string_view section = tag.substr(1);
        if (tag[0] == '/') {
          if (section != closing) {
            return error(open, closing.empty()
                                   ? fmt::format("{{{{/{}}}}} closes no section", section)
                                   : fmt::format("{{{{/{}}}}} where {{{{/{}}}}} was expected",
                                                 section, closing));
          }
          return nodes;
        }
        if (depth >= kMaxSectionDepth) return error(open, "sections nest too deeply");
        Node n{tag[0] == '#' ? Kind::Section : Kind::Inverted, std::string(section)};
        n.line = lineAt(open);
        auto children = parse(section, depth + 1);
        if (!children) return children.takeError();
        n.children = std::move(*children);
        nodes.push_back(std::move(n));
        continue;
      }
      auto node = variable(tag, open);
      if (!node) return node.takeError();
      nodes.push_back(std::move(*node));
    }
    if (!closing.empty())
      return error(text.size(), fmt::format("{{{{#{}}}}} is not closed", closing));
    return nodes;
  }

  util::Result<Node> variable(std::string_view tag, size_t at) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < tag.size()) {
      while (i < tag.size() && tag[i] == ' ') ++i;
      size_t start = i;
      while (i < tag.size() && tag[i] != ' ') ++i;
      if (i > start) words.push_back(tag.substr(start, i - start));
    }
    Node n;
    n.line = lineAt(at);
    if (words.size() == 1) {
      n.kind = Kind::Raw;
    } else if (words.size() == 2 && words[0] == "yaml") {
      n.kind = Kind::Yaml;
    } else if (words.size() == 2 && words[0] == "sh") {
      n.kind = Kind::Shell;
    } else if (words.size() == 3 && words[0] == "indent") {
      n.kind = Kind::Indent;
      auto [p, ec] = std::from_chars(words[1].begin(), words[1].end(), n.indent);
      if (ec != std::errc() || p != words[1].end() || n.indent < 0 || n.indent > 64) {
        return error(at, fmt::format("\"{}\" is not an indentation from 0 to 64", words[1]));
      }
    } else {
      return error(
          at, fmt::format("\"{{{{{}}}}}\" is not NAME, yaml NAME, sh NAME or indent N NAME", tag));
    }
    n.text = std::string(words.back());
    return n;
  }
};

struct Renderer {
  std::string_view name;
  std::vector<const Values*> scopes;
  std::string out;

  util::Error error(const Node& n, std::string_view what) const {
    return util::makeError(util::ErrorCode::Internal,
                           fmt::format("template {}:{}: {}", name, n.line, what));
  }

  const Value* lookup(std::string_view key) const {
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
      if (const Value* v = (*it)->find(key)) return v;
    }
    return nullptr;
  }

  util::Status render(const std::vector<Node>& nodes) {
    for (const Node& n : nodes) {
      if (n.kind == Kind::Text) {
        out += n.text;
      } else {
        const Value* v = lookup(n.text);
        if (v == nullptr) return error(n, fmt::format("\"{}\" has no value", n.text));
        auto status =
            n.kind == Kind::Section || n.kind == Kind::Inverted ? section(n, *v) : scalar(n, *v);
        if (!status) return status;
      }
      if (out.size() > kMaxOutputBytes) {
        return error(n, fmt::format("output exceeds {} bytes", kMaxOutputBytes));
      }
    }
    return {};
  }

  util::Status section(const Node& n, const Value& v) {
    if (const bool* flag = std::get_if<bool>(&v.v)) {
      return *flag == (n.kind == Kind::Section) ? render(n.children) : util::Status{};
    }
    const auto* list = std::get_if<ValueList>(&v.v);
    if (list == nullptr)
      return error(n, fmt::format("\"{}\" is a string, not a flag or a list", n.text));
    if (n.kind == Kind::Inverted) return list->empty() ? render(n.children) : util::Status{};
    for (const Values& entry : *list) {
      scopes.push_back(&entry);
      auto status = render(n.children);
      scopes.pop_back();
      if (!status) return status;
    }
    return {};
  }

  util::Status scalar(const Node& n, const Value& v) {
    const auto* s = std::get_if<std::string>(&v.v);
    if (s == nullptr)
      return error(n, fmt::format("\"{}\" is a flag or a list, not a string", n.text));
    switch (n.kind) {
      case Kind::Raw:
        if (s->find_first_of("\r\n") != std::string::npos) {
          return error(n, fmt::format("\"{}\" spans lines; use yaml or indent", n.text));
        }
        out += *s;
        break;
      case Kind::Yaml:
        out += yamlQuote(*s);
        break;
      case Kind::Shell:
        out += shellQuote(*s);
        break;
      case Kind::Indent:
        indent(*s, static_cast<size_t>(n.indent));
        break;
      default:
        break;
    }
    return {};
  }

  void indent(std::string_view s, size_t width) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t eol = s.find('\n', pos);
      std::string_view line = s.substr(pos, eol == std::string_view::npos ? s.npos : eol - pos);
      if (!line.empty()) out.append(width, ' ').append(line);
      if (eol == std::string_view::npos) break;
      out += '\n';
      pos = eol + 1;
    }
  }
};

}  // namespace

util::Result<std::string> renderTemplate(std::string_view name, std::string_view text,
                                         const Values& values) {
  if (text.size() > kMaxTemplateBytes) {
    return util::makeError(util::ErrorCode::Internal,
                           fmt::format("template {} is {} bytes; at most {} are allowed", name,
                                       text.size(), kMaxTemplateBytes));
  }
  Parser parser{name, text};
  auto nodes = parser.parse("", 0);
  if (!nodes) return nodes.takeError();
  Renderer renderer{name, {&values}, {}};
  auto status = renderer.render(*nodes);
  if (!status) return status.takeError();
  return std::move(renderer.out);
}

util::Result<std::string> renderEmbedded(std::string_view file_name, const Values& values) {
  auto text = embeddedTemplate(file_name);
  if (!text) {
    return util::makeError(util::ErrorCode::Internal,
                           fmt::format("no embedded template named {}", file_name));
  }
  return renderTemplate(file_name, *text, values);
}

}  // namespace magnumd::coe::kubernetes
