#include "cli/describe.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "cli/apply_diff.h"
#include "cli/duration.h"
#include "cli/table.h"

namespace magnumd::cli {

using util::Json;

namespace {

// Maps whose keys are data (label names, node names), shown as written.
const std::set<std::string_view> kVerbatimKeyMaps = {"labels", "annotations", "healthStatusReason",
                                                     "faults"};

const Json& sub(const Json& object, std::string_view name) {
  static const Json kEmpty(rapidjson::kObjectType);
  const Json* v = util::member(object, name);
  return v != nullptr && v->IsObject() ? *v : kEmpty;
}

std::string scalar(const Json& v) {
  if (v.IsString())
    return v.GetStringLength() == 0 ? "\"\"" : std::string(v.GetString(), v.GetStringLength());
  if (v.IsNull()) return "<none>";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  return util::toJson(v);
}

bool allScalars(const Json& array) {
  return std::none_of(array.Begin(), array.End(),
                      [](const Json& v) { return v.IsObject() || v.IsArray(); });
}

void renderFields(const Json& object, size_t indent, bool humanize, std::string& out);

void renderValue(const std::string& label, const Json& v, size_t indent, size_t width,
                 bool humanize_children, std::string& out) {
  std::string pad(indent, ' ');
  std::string head = fmt::format("{}{:<{}}", pad, label + ":", width + 1);
  if (v.IsObject()) {
    if (v.ObjectEmpty()) {
      out += head + "  <none>\n";
      return;
    }
    out += pad + label + ":\n";
    renderFields(v, indent + 2, humanize_children, out);
  } else if (v.IsArray()) {
    if (v.Empty()) {
      out += head + "  <none>\n";
    } else if (allScalars(v)) {
      std::vector<std::string> items;
      for (const auto& item : v.GetArray()) items.push_back(scalar(item));
      out += fmt::format("{}  {}\n", head, fmt::join(items, ", "));
    } else {
      out += pad + label + ":\n";
      for (const auto& item : v.GetArray()) {
        std::string block;
        if (item.IsObject()) {
          renderFields(item, indent + 4, humanize_children, block);
        } else {
          block = fmt::format("{}{}\n", std::string(indent + 4, ' '), util::toJson(item));
        }
        if (block.size() > indent + 4) block.replace(indent + 2, 2, "- ");
        out += block;
      }
    }
  } else {
    out += fmt::format("{}  {}\n", head, scalar(v));
  }
}

void renderFields(const Json& object, size_t indent, bool humanize, std::string& out) {
  size_t width = 0;
  for (const auto& m : object.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    width = std::max(width, humanize ? humanizeKey(key).size() : key.size());
  }
  for (const auto& m : object.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    std::string label = humanize ? humanizeKey(key) : std::string(key);
    renderValue(label, m.value, indent, width, humanize && !kVerbatimKeyMaps.count(key), out);
  }
}

std::string mapLine(const Json& map) {
  std::vector<std::string> parts;
  for (const auto& m : map.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == kLastAppliedAnnotation) continue;
    parts.push_back(fmt::format("{}={}", key, scalar(m.value)));
  }
  if (parts.empty()) return "<none>";
  return fmt::format("{}", fmt::join(parts, "\n                    "));
}

void renderMetadata(const DescribeInput& in, std::string& out) {
  const Json& meta = sub(*in.object, "metadata");
  auto field = [&](std::string_view label, const std::string& value) {
    out += fmt::format("{:<20}{}\n", std::string(label) + ":", value);
  };
  auto str = [&](std::string_view name) {
    return util::stringMember(meta, name).value_or("<none>");
  };
  field("Name", str("name"));
  field("Namespace", str("namespace"));
  field("Kind", std::string(api::kindInfo(in.kind).name));
  field("Labels", mapLine(sub(meta, "labels")));
  field("Annotations", mapLine(sub(meta, "annotations")));
  field("UID", str("uid"));
  field("Resource Version", str("resourceVersion"));
  if (auto gen = util::intMember(meta, "generation")) field("Generation", std::to_string(*gen));
  auto created = util::stringMember(meta, "creationTimestamp");
  field("Created",
        created ? fmt::format("{} ({} ago)", *created, ageOf(created, in.now)) : "<unknown>");
  if (auto deleting = util::stringMember(meta, "deletionTimestamp")) {
    field("Deleting Since", fmt::format("{} ({} ago)", *deleting, ageOf(deleting, in.now)));
  }
  if (const Json* fin = util::member(meta, "finalizers"); fin && fin->IsArray() && !fin->Empty()) {
    std::vector<std::string> names;
    for (const auto& f : fin->GetArray()) names.push_back(scalar(f));
    field("Finalizers", fmt::format("{}", fmt::join(names, ", ")));
  }
}

void renderConditions(const Json& status, util::SystemTime now, std::string& out) {
  const Json* conditions = util::member(status, "conditions");
  if (conditions == nullptr || !conditions->IsArray() || conditions->Empty()) {
    out += "Conditions:         <none>\n";
    return;
  }
  Table table{{"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}, {}};
  for (const auto& c : conditions->GetArray()) {
    table.rows.push_back({util::stringMember(c, "type").value_or(""),
                          util::stringMember(c, "status").value_or(""),
                          util::stringMember(c, "reason").value_or(""),
                          ageOf(util::stringMember(c, "lastTransitionTime"), now),
                          util::stringMember(c, "message").value_or("")});
  }
  out += "Conditions:\n";
  auto widths = columnWidths(table);
  out += "  " + renderRow(table.headers, widths);
  for (const auto& row : table.rows) out += "  " + renderRow(row, widths);
}

void renderEvents(const DescribeInput& in, std::string& out) {
  if (!in.events_error.empty()) {
    out += fmt::format("Events:             <unavailable: {}>\n", in.events_error);
    return;
  }
  if (in.events.empty()) {
    out += "Events:             <none>\n";
    return;
  }
  Table table{{"TYPE", "REASON", "AGE", "FROM", "MESSAGE"}, {}};
  for (const Json* event : in.events) {
    const Json& spec = util::member(sub(*event, "spec"), "reason") ? sub(*event, "spec") : *event;
    std::string age = ageOf(util::stringMember(spec, "lastTimestamp"), in.now);
    auto count = util::intMember(spec, "count");
    if (count && *count > 1) {
      age = fmt::format("{} (x{} over {})", age, *count,
                        ageOf(util::stringMember(spec, "firstTimestamp"), in.now));
    }
    table.rows.push_back({util::stringMember(spec, "type").value_or(""),
                          util::stringMember(spec, "reason").value_or(""), age,
                          util::stringMember(spec, "source").value_or(""),
                          util::stringMember(spec, "message").value_or("")});
  }
  out += "Events:\n";
  auto widths = columnWidths(table);
  out += "  " + renderRow(table.headers, widths);
  for (const auto& row : table.rows) out += "  " + renderRow(row, widths);
}

}  // namespace

std::string humanizeKey(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(key[i - 1])) ||
                                std::isdigit(static_cast<unsigned char>(key[i - 1])));
    if (upper && prev_lower) out.push_back(' ');
    if (c == '_' || c == '-') {
      out.push_back(' ');
      continue;
    }
    bool word_start = out.empty() || out.back() == ' ';
    out.push_back(word_start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
  }
  return out;
}

std::vector<const Json*> eventsFor(const Json& event_items, const Json& object, api::Kind kind) {
  std::vector<const Json*> out;
  if (!event_items.IsArray()) return out;
  const Json& meta = sub(object, "metadata");
  std::string name = util::stringMember(meta, "name").value_or("");
  std::string uid = util::stringMember(meta, "uid").value_or("");
  std::string kind_name(api::kindInfo(kind).name);
  for (const auto& event : event_items.GetArray()) {
    const Json& spec =
        util::member(sub(event, "spec"), "involvedObject") ? sub(event, "spec") : event;
    const Json& involved = sub(spec, "involvedObject");
    auto ikind = util::stringMember(involved, "kind").value_or("");
    auto resolved = api::kindFromAnyName(ikind);
    if (!resolved || *resolved != kind) continue;
    if (util::stringMember(involved, "name") != name) continue;
    auto iuid = util::stringMember(involved, "uid").value_or("");
    if (!iuid.empty() && !uid.empty() && iuid != uid) continue;  // an earlier object of that name
    out.push_back(&event);
  }
  auto when = [](const Json* e) {
    const Json& spec = util::member(sub(*e, "spec"), "involvedObject") ? sub(*e, "spec") : *e;
    auto t = util::stringMember(spec, "lastTimestamp").value_or("");
    return t.empty() ? util::stringMember(sub(*e, "metadata"), "creationTimestamp").value_or("")
                     : t;
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const Json* a, const Json* b) { return when(a) < when(b); });
  return out;
}

std::string describeObject(const DescribeInput& in) {
  std::string out;
  renderMetadata(in, out);
  const Json* spec = util::member(*in.object, "spec");
  if (spec && spec->IsObject() && !spec->ObjectEmpty()) {
    out += "Spec:\n";
    renderFields(*spec, 2, true, out);
  }
  const Json& status = sub(*in.object, "status");
  Json rest(rapidjson::kObjectType);
  util::JsonDoc scratch;
  for (const auto& m : status.GetObject()) {
    if (std::string_view(m.name.GetString()) == "conditions") continue;
    rest.AddMember(Json(m.name, scratch.GetAllocator()), Json(m.value, scratch.GetAllocator()),
                   scratch.GetAllocator());
  }
  if (!rest.ObjectEmpty()) {
    out += "Status:\n";
    renderFields(rest, 2, true, out);
  } else if (in.kind == api::Kind::Cluster || in.kind == api::Kind::NodeGroup) {
    out += "Status:             <not yet reported by a controller>\n";
  }
  if (in.kind != api::Kind::Event && in.kind != api::Kind::ClusterTemplate) {
    renderConditions(status, in.now, out);
  }
  if (in.kind != api::Kind::Event) renderEvents(in, out);
  return out;
}

}  // namespace magnumd::cli
