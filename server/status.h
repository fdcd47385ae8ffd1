// Kubernetes `Status` objects: every error the API returns, and the success Status of a DELETE
// that removed the object. Format (apimachinery meta/v1):
// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"...",
//  "reason":"NotFound","details":{"name","group","kind","causes":[{"reason","message","field"}]},
//  "code":404}
#pragma once

#include <string>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::server {

struct StatusDetails {
  std::string name;
  std::string kind;  // the resource plural, as kube-apiserver puts it: "clusters"
  std::string uid;
};

void encodeFailureStatus(const util::Error& error, const StatusDetails& details, util::Json& out,
                         util::JsonAlloc& alloc);
std::string failureStatusJson(const util::Error& error, const StatusDetails& details = {});

void encodeSuccessStatus(const StatusDetails& details, util::Json& out, util::JsonAlloc& alloc);

}  // namespace magnumd::server
