// `magnumctl get` (tables, yaml/json/name output, --watch) and `describe`.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <thread>

#include "cli/commands.h"
#include "cli/describe.h"
#include "cli/kinds.h"
#include "cli/table.h"
#include "util/yaml.h"

namespace magnumd::cli {

using util::Json;
using util::JsonDoc;

namespace {

enum class Format { Table, Wide, Yaml, Json, Name };

util::Result<Format> parseFormat(const std::string& output) {
  if (output.empty()) return Format::Table;
  if (output == "wide") return Format::Wide;
  if (output == "yaml") return Format::Yaml;
  if (output == "json") return Format::Json;
  if (output == "name") return Format::Name;
  return util::makeError(
      util::ErrorCode::BadRequest,
      fmt::format("unknown output format \"{}\"; use yaml, json, wide or name", output));
}

std::string metaString(const Json& object, std::string_view field) {
  const Json* meta = util::member(object, "metadata");
  return meta ? util::stringMember(*meta, field).value_or("") : "";
}

// One object, or a List of several, in YAML or JSON.
std::string serialise(const Json& value, Format format) {
  return format == Format::Yaml ? util::toYaml(value) : util::toPrettyJson(value) + "\n";
}

// As kubectl prints objects: without metadata.managedFields, which few readers want.
std::string serialiseObject(const Json& object, Format format, bool managed_fields) {
  const Json* meta = util::member(object, "metadata");
  if (managed_fields || meta == nullptr || util::member(*meta, "managedFields") == nullptr) {
    return serialise(object, format);
  }
  JsonDoc copy;
  copy.CopyFrom(object, copy.GetAllocator());
  copy["metadata"].RemoveMember("managedFields");
  return serialise(copy, format);
}

std::string asList(const Json& items, Format format, bool managed_fields) {
  JsonDoc list;
  list.SetObject();
  auto& a = list.GetAllocator();
  list.AddMember("apiVersion", "v1", a);
  list.AddMember("kind", "List", a);
  list.AddMember("items", Json(items, a), a);
  if (!managed_fields) {
    for (auto& item : list["items"].GetArray()) {
      if (item.IsObject() && item.HasMember("metadata") && item["metadata"].IsObject()) {
        item["metadata"].RemoveMember("managedFields");
      }
    }
  }
  return serialise(list, format);
}

struct Printer {
  Context& ctx;
  api::Kind kind;
  Format format;
  TableOptions table;
  std::vector<size_t> widths;
  bool managed_fields = false;

  void printAll(const Json& items, bool single_object) {
    if (format == Format::Yaml || format == Format::Json) {
      ctx.out << (single_object && items.Size() == 1
                      ? serialiseObject(items[0], format, managed_fields)
                      : asList(items, format, managed_fields));
    } else if (format == Format::Name) {
      for (const auto& item : items.GetArray()) printOne(item);
    } else {
      Table t = buildTable(kind, items, table);
      widths = columnWidths(t);
      ctx.out << renderTable(t);
    }
    ctx.out.flush();
  }

  void printOne(const Json& object) {
    switch (format) {
      case Format::Yaml:
        ctx.out << "---\n" << serialiseObject(object, format, managed_fields);
        break;
      case Format::Json:
        ctx.out << serialiseObject(object, format, managed_fields);
        break;
      case Format::Name:
        ctx.out << kindRef(kind, metaString(object, "name")) << "\n";
        break;
      default:
        table.now = ctx.clock.now();  // ages as of this change, not of the first listing
        ctx.out << renderRow(tableRow(kind, object, table), widths);
        break;
    }
    ctx.out.flush();
  }
};

std::string nsKey(const Json& object) {
  return metaString(object, "namespace") + "/" + metaString(object, "name");
}

using Seen = std::map<std::string, std::string>;  // namespace/name -> resourceVersion printed

bool wantedName(const GetOptions& o, const Json& object) {
  return o.names.empty() ||
         std::find(o.names.begin(), o.names.end(), metaString(object, "name")) != o.names.end();
}

// After a 410 the missed events are gone: list again and print what changed meanwhile.
ApiResult<std::string> relist(Context& ctx, Printer& printer, const GetOptions& o,
                              const std::string& ns, Seen& seen) {
  ASSIGN_OR_RETURN(JsonDoc fresh, ctx.api.list(printer.kind, ns, {o.selector}));
  for (const auto& item : fresh["items"].GetArray()) {
    auto it = seen.find(nsKey(item));
    std::string item_rv = metaString(item, "resourceVersion");
    if (wantedName(o, item) && (it == seen.end() || it->second != item_rv)) printer.printOne(item);
    seen[nsKey(item)] = item_rv;
  }
  return metaString(fresh, "resourceVersion");
}

// Streams changes after the initial listing until interrupted; resumes from the last revision
// when the server ends the stream and relists when that revision has expired (410).
int watchChanges(Context& ctx, Printer& printer, const GetOptions& o, const std::string& ns,
                 std::string rv, Seen seen) {
  for (;;) {
    auto started = std::chrono::steady_clock::now();
    auto end =
        ctx.api.watch({printer.kind, ns, o.selector, rv, std::nullopt}, [&](const WatchEvent& e) {
          std::string event_rv = metaString(e.object, "resourceVersion");
          if (!event_rv.empty()) rv = event_rv;
          if (e.type == "BOOKMARK" || !wantedName(o, e.object)) return true;
          if (e.type == "DELETED") {
            seen.erase(nsKey(e.object));
          } else {
            seen[nsKey(e.object)] = event_rv;
          }
          printer.printOne(e.object);
          return true;
        });
    bool expired = !end.ok() && end.error().http_status == 410;
    if (!end.ok() && !expired) {
      ctx.err << formatError(end.error()) << "\n";
      return 1;
    }
    // Never spin against a server that ends or expires streams at once.
    if (std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (!expired) continue;
    auto fresh_rv = relist(ctx, printer, o, ns, seen);
    if (!fresh_rv.ok()) {
      ctx.err << formatError(fresh_rv.error()) << "\n";
      return 1;
    }
    rv = std::move(fresh_rv).value();
  }
}

}  // namespace

int runGet(Context& ctx, const GetOptions& o) {
  auto kind = resolveKind(o.kind);
  auto format = parseFormat(o.output);
  if (!kind.ok() || !format.ok()) {
    ctx.err << "error: " << (kind.ok() ? format.error().message : kind.error().message) << "\n";
    return 1;
  }
  std::string ns = o.all_namespaces ? "" : ctx.ns;
  TableOptions table{*format == Format::Wide, o.all_namespaces, ctx.clock.now()};
  Printer printer{ctx, *kind, *format, table, {}, o.show_managed_fields};
  JsonDoc items;
  items.SetArray();
  std::string rv;
  int failed = 0;
  if (o.names.empty()) {
    auto listed = ctx.api.list(*kind, ns, {o.selector});
    if (!listed.ok()) {
      ctx.err << formatError(listed.error()) << "\n";
      return 1;
    }
    items.CopyFrom((*listed)["items"], items.GetAllocator());
    rv = metaString(*listed, "resourceVersion");
  } else {
    if (o.all_namespaces) {
      ctx.err << "error: a resource cannot be retrieved by name across all namespaces\n";
      return 1;
    }
    for (const auto& name : o.names) {
      auto object = ctx.api.get(*kind, ns, name);
      if (!object.ok()) {
        ctx.err << formatError(object.error()) << "\n";
        ++failed;
        continue;
      }
      items.PushBack(Json(*object, items.GetAllocator()), items.GetAllocator());
    }
  }
  if (items.Empty() && o.names.empty() && !o.watch &&
      (*format == Format::Table || *format == Format::Wide)) {
    ctx.err << (ns.empty() ? std::string("No resources found\n")
                           : fmt::format("No resources found in {} namespace.\n", ns));
    return 0;
  }
  if (!items.Empty() || o.watch) printer.printAll(items, o.names.size() == 1);
  if (!o.watch) return failed == 0 ? 0 : 1;
  if (rv.empty()) {  // named gets: watch from the current revision
    auto page = ctx.api.list(*kind, ns, {o.selector, 1, true});
    if (!page.ok()) {
      ctx.err << formatError(page.error()) << "\n";
      return 1;
    }
    rv = metaString(*page, "resourceVersion");
  }
  Seen seen;
  for (const auto& item : items.GetArray()) seen[nsKey(item)] = metaString(item, "resourceVersion");
  return watchChanges(ctx, printer, o, ns, rv, std::move(seen));
}

int runDescribe(Context& ctx, const DescribeOptions& o) {
  auto kind = resolveKind(o.kind);
  if (!kind.ok()) {
    ctx.err << "error: " << kind.error().message << "\n";
    return 1;
  }
  JsonDoc objects;
  objects.SetArray();
  int failed = 0;
  if (o.names.empty()) {
    auto listed = ctx.api.list(*kind, ctx.ns, {o.selector});
    if (!listed.ok()) {
      ctx.err << formatError(listed.error()) << "\n";
      return 1;
    }
    objects.CopyFrom((*listed)["items"], objects.GetAllocator());
  }
  for (const auto& name : o.names) {
    auto object = ctx.api.get(*kind, ctx.ns, name);
    if (!object.ok()) {
      ctx.err << formatError(object.error()) << "\n";
      ++failed;
      continue;
    }
    objects.PushBack(Json(*object, objects.GetAllocator()), objects.GetAllocator());
  }
  if (objects.Empty()) return failed == 0 ? 0 : 1;
  DescribeInput input{*kind, nullptr, {}, {}, ctx.clock.now()};
  std::optional<ApiResult<JsonDoc>> events;
  if (*kind != api::Kind::Event) events.emplace(ctx.api.list(api::Kind::Event, ctx.ns, {}));
  bool first = true;
  for (const auto& object : objects.GetArray()) {
    input.object = &object;
    input.events.clear();
    if (events && events->ok()) input.events = eventsFor(events->value()["items"], object, *kind);
    if (events && !events->ok()) input.events_error = events->error().message;
    ctx.out << (first ? "" : "\n\n") << describeObject(input);
    first = false;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace magnumd::cli
