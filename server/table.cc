#include "server/table.h"

#include <fmt/format.h>

#include "api/printer_columns.h"

namespace magnumd::server {

using util::ErrorCode;
using util::Json;
using util::makeError;

namespace {

Json columnDefinitions(api::Kind kind, util::JsonAlloc& a) {
  Json columns(rapidjson::kArrayType);
  for (const auto& column : api::printerColumns(kind)) {
    Json c(rapidjson::kObjectType);
    c.AddMember("name", util::str(column.name, a), a);
    c.AddMember("type", util::str(column.type, a), a);
    c.AddMember("format", util::str(column.format, a), a);
    c.AddMember("description", util::str(column.description, a), a);
    c.AddMember("priority", column.priority, a);
    columns.PushBack(c, a);
  }
  return columns;
}

Json row(const api::Object& object, const TableOptions& options, util::JsonAlloc& a) {
  Json encoded;
  api::encodeObject(object, encoded, a);
  Json cells(rapidjson::kArrayType);
  for (const auto& cell : api::printerCells(object.kind, encoded, options.now)) {
    cells.PushBack(util::str(cell, a), a);
  }
  Json out(rapidjson::kObjectType);
  out.AddMember("cells", cells, a);
  switch (options.include) {
    case IncludeObject::None:
      break;
    case IncludeObject::Object:
      out.AddMember("object", encoded, a);
      break;
    case IncludeObject::Metadata: {
      Json partial(rapidjson::kObjectType);
      partial.AddMember("kind", "PartialObjectMetadata", a);
      partial.AddMember("apiVersion", util::str(tableApiVersion(options.version), a), a);
      partial.AddMember("metadata", encoded["metadata"], a);  // moved out of `encoded`
      out.AddMember("object", partial, a);
      break;
    }
  }
  return out;
}

}  // namespace

util::Result<IncludeObject> parseIncludeObject(std::string_view text) {
  if (text.empty() || text == "Metadata") return IncludeObject::Metadata;
  if (text == "None") return IncludeObject::None;
  if (text == "Object") return IncludeObject::Object;
  return makeError(ErrorCode::BadRequest,
                   fmt::format("Unable to convert to Table as requested: includeObject \"{}\" is "
                               "not one of None, Metadata, Object",
                               text));
}

std::string_view tableApiVersion(Conversion version) {
  return version == Conversion::TableV1beta1 ? "meta.k8s.io/v1beta1" : "meta.k8s.io/v1";
}

void buildTable(api::Kind kind, std::span<const api::Object> objects, const TableOptions& options,
                const TableMeta& meta, util::JsonDoc& out) {
  auto& a = out.GetAllocator();
  out.SetObject();
  out.AddMember("kind", "Table", a);
  out.AddMember("apiVersion", util::str(tableApiVersion(options.version), a), a);
  Json metadata(rapidjson::kObjectType);
  if (!meta.resource_version.empty()) {
    metadata.AddMember("resourceVersion", util::str(meta.resource_version, a), a);
  }
  if (!meta.continue_token.empty()) {
    metadata.AddMember("continue", util::str(meta.continue_token, a), a);
  }
  if (meta.remaining_items) metadata.AddMember("remainingItemCount", *meta.remaining_items, a);
  out.AddMember("metadata", metadata, a);
  out.AddMember("columnDefinitions",
                options.no_headers ? Json(rapidjson::kArrayType) : columnDefinitions(kind, a), a);
  Json rows(rapidjson::kArrayType);
  for (const auto& object : objects) rows.PushBack(row(object, options, a), a);
  out.AddMember("rows", rows, a);
}

void buildObjectTable(const api::Object& object, const TableOptions& options, util::JsonDoc& out) {
  buildTable(object.kind, std::span(&object, 1), options,
             {std::to_string(object.metadata.resource_version), {}, std::nullopt}, out);
}

}  // namespace magnumd::server
