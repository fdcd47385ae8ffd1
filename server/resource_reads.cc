#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "server/object_json.h"
#include "server/resources.h"
#include "server/selectors.h"

namespace magnumd::server {

namespace http = net::http;
using util::ErrorCode;
using util::makeError;

std::string effectiveNamespace(const RequestContext& ctx) {
  if (ctx.path.allNamespaces() && !ctx.identity.allNamespaces()) return ctx.identity.namespace_;
  return ctx.path.namespace_;
}

util::Result<TableOptions> tableOptions(const RequestContext& ctx) {
  TableOptions options;
  options.version = ctx.conversion;
  ASSIGN_OR_RETURN(options.include, parseIncludeObject(stringParam(ctx.query, "includeObject")));
  options.now = std::chrono::system_clock::now();
  return options;
}

net::Response ResourceHandlers::get(const RequestContext& ctx) const {
  // The store's own immutable object: a GET copies nothing but the JSON it sends.
  auto object = store_.getShared({ctx.path.kind, ctx.path.namespace_, ctx.path.name});
  if (!object.ok()) {
    if (object.error().code == ErrorCode::NotFound) {
      return errorResponse(ctx, makeError(ErrorCode::NotFound, objectRef(ctx.path) + " not found"));
    }
    return errorResponse(ctx, object.error());
  }
  if (ctx.conversion != Conversion::None) {
    auto options = tableOptions(ctx);
    if (!options.ok()) return errorResponse(ctx, options.error());
    util::JsonDoc table;
    buildObjectTable(**object, *options, table);
    return jsonResponse(ctx, http::status::ok, table);
  }
  return objectResponse(ctx, http::status::ok, **object);
}

namespace {

std::string listKind(api::Kind kind) { return std::string(api::kindInfo(kind).name) + "List"; }

void encodeListMeta(const store::ListResult& result, util::Json& meta, util::JsonAlloc& a) {
  meta.SetObject();
  meta.AddMember("resourceVersion", util::str(std::to_string(result.revision), a), a);
  if (!result.continue_token.empty()) {
    meta.AddMember("continue", util::str(result.continue_token, a), a);
    meta.AddMember("remainingItemCount", result.remaining, a);
  }
}

}  // namespace

net::Response ResourceHandlers::list(const RequestContext& ctx) const {
  auto filter = parseFilter(ctx.query);
  if (!filter.ok()) return errorResponse(ctx, filter.error());
  auto limit = intParam(ctx.query, "limit");
  if (!limit.ok()) return errorResponse(ctx, limit.error());
  std::optional<TableOptions> table;
  if (ctx.conversion != Conversion::None) {
    auto options = tableOptions(ctx);
    if (!options.ok()) return errorResponse(ctx, options.error());
    table = *options;
  }

  store::ListOptions options;
  options.kind = ctx.path.kind;
  options.namespace_ = effectiveNamespace(ctx);
  if (!filter->empty()) {
    options.filter = [f = std::move(filter).value()](const api::Object& o) { return f.matches(o); };
  }
  options.limit = *limit;
  options.continue_token = std::string(stringParam(ctx.query, "continue"));
  auto result = store_.list(options);
  if (!result.ok()) return errorResponse(ctx, result.error());

  if (table) {
    TableMeta meta{std::to_string(result->revision), result->continue_token, std::nullopt};
    if (!result->continue_token.empty()) meta.remaining_items = result->remaining;
    util::JsonDoc doc;
    buildTable(ctx.path.kind, result->items, *table, meta, doc);
    return jsonResponse(ctx, http::status::ok, doc);
  }

  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("apiVersion", util::str(api::kApiVersion, a), a);
  doc.AddMember("kind", util::str(listKind(ctx.path.kind), a), a);
  util::Json meta;
  encodeListMeta(*result, meta, a);
  if (ctx.format == Format::Json && !ctx.pretty) {
    // Objects are encoded straight into the text; a DOM of a large list costs twice as much.
    std::string body = util::toJson(doc);
    body.pop_back();  // '}'
    body += fmt::format(",\"metadata\":{},\"items\":[", util::toJson(meta));
    for (size_t i = 0; i < result->items.size(); ++i) {
      if (i > 0) body += ',';
      appendObjectJson(body, result->items[i]);
    }
    body += "]}";
    net::Response res{http::status::ok, 11};
    res.set(http::field::content_type, kJsonType);
    res.set(http::field::cache_control, "no-cache, private");
    res.body() = std::move(body);
    return res;
  }
  doc.AddMember("metadata", meta, a);
  util::Json items(rapidjson::kArrayType);
  for (const auto& item : result->items) {
    util::Json encoded;
    api::encodeObject(item, encoded, a);
    items.PushBack(encoded, a);
  }
  doc.AddMember("items", items, a);
  return jsonResponse(ctx, http::status::ok, doc);
}

}  // namespace magnumd::server
