// The wire JSON of an object, written straight into a string. Spec and status are stored as
// canonical compact JSON text, so they are spliced in as they are instead of being parsed and
// re-serialised (api::encodeObject does that, at several times the cost, on every GET, list item
// and watch event). Produces exactly what api::encodeObject produces for well-formed objects.
#pragma once

#include <string>

#include "api/object.h"

namespace magnumd::server {

void appendObjectJson(std::string& out, const api::Object& object);
std::string objectJson(const api::Object& object);

}  // namespace magnumd::server
