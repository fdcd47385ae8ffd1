// labelSelector and fieldSelector query parameters as one object filter, shared by LIST and
// watch. Field selectors support metadata.name and metadata.namespace with =, == and !=.
#pragma once

#include <string>
#include <vector>

#include "api/admission.h"
#include "server/route.h"

namespace magnumd::server {

struct FieldRequirement {
  std::string field;  // "metadata.name" | "metadata.namespace"
  std::string value;
  bool equals = true;
};

struct ObjectFilter {
  api::LabelSelector labels;
  std::vector<FieldRequirement> fields;

  bool empty() const { return labels.empty() && fields.empty(); }
  bool matches(const api::Object& object) const;
};

// BadRequest naming the parameter and the offending part.
util::Result<ObjectFilter> parseFilter(const QueryParams& query);

}  // namespace magnumd::server
