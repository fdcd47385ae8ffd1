#include "server/status.h"

#include "api/object.h"

namespace magnumd::server {

using util::Json;
using util::JsonAlloc;

namespace {

const char* causeReason(util::ErrorCode code) {
  switch (code) {
    case util::ErrorCode::Invalid: return "FieldValueInvalid";
    case util::ErrorCode::BadRequest: return "FieldValueNotSupported";
    default: return "";
  }
}

void encodeDetails(const util::Error* error, const StatusDetails& details, Json& out,
                   JsonAlloc& a) {
  out.SetObject();
  if (!details.name.empty()) out.AddMember("name", util::str(details.name, a), a);
  if (!details.kind.empty()) {
    out.AddMember("group", util::str(api::kApiGroup, a), a);
    out.AddMember("kind", util::str(details.kind, a), a);
  }
  if (!details.uid.empty()) out.AddMember("uid", util::str(details.uid, a), a);
  if (error != nullptr && !error->causes.empty()) {
    Json causes(rapidjson::kArrayType);
    for (const auto& cause : error->causes) {
      Json c(rapidjson::kObjectType);
      const char* reason = causeReason(error->code);
      if (!cause.reason.empty()) {
        c.AddMember("reason", util::str(cause.reason, a), a);
      } else if (*reason != '\0') {
        c.AddMember("reason", rapidjson::StringRef(reason), a);
      }
      c.AddMember("message", util::str(cause.message, a), a);
      c.AddMember("field", util::str(cause.field, a), a);
      causes.PushBack(c, a);
    }
    out.AddMember("causes", causes, a);
  }
}

}  // namespace

void encodeFailureStatus(const util::Error& error, const StatusDetails& details, Json& out,
                         JsonAlloc& a) {
  out.SetObject();
  out.AddMember("kind", "Status", a);
  out.AddMember("apiVersion", "v1", a);
  out.AddMember("metadata", Json(rapidjson::kObjectType), a);
  out.AddMember("status", "Failure", a);
  out.AddMember("message", util::str(error.message, a), a);
  out.AddMember("reason", rapidjson::StringRef(util::reasonOf(error.code)), a);
  Json d;
  encodeDetails(&error, details, d, a);
  if (d.MemberCount() > 0) out.AddMember("details", d, a);
  out.AddMember("code", util::httpCodeOf(error.code), a);
}

std::string failureStatusJson(const util::Error& error, const StatusDetails& details) {
  util::JsonDoc doc;
  encodeFailureStatus(error, details, doc, doc.GetAllocator());
  return util::toJson(doc);
}

void encodeSuccessStatus(const StatusDetails& details, Json& out, JsonAlloc& a) {
  out.SetObject();
  out.AddMember("kind", "Status", a);
  out.AddMember("apiVersion", "v1", a);
  out.AddMember("metadata", Json(rapidjson::kObjectType), a);
  out.AddMember("status", "Success", a);
  Json d;
  encodeDetails(nullptr, details, d, a);
  out.AddMember("details", d, a);
}

}  // namespace magnumd::server
