#include "server/object_json.h"

#include <rapidjson/writer.h>

#include <utility>

namespace magnumd::server {

namespace {

// A RapidJSON output stream appending to the caller's string, so the JSON is written once, in
// place, instead of into a StringBuffer and then copied.
class StringOutput {
 public:
  using Ch = char;
  explicit StringOutput(std::string& out) : out_(out) {}
  void Put(char c) { out_.push_back(c); }
  void Flush() {}

 private:
  std::string& out_;
};

using Writer = rapidjson::Writer<StringOutput>;

void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void stringMap(Writer& w, std::string_view name, const api::StringMap& map) {
  if (map.empty()) return;
  key(w, name);
  w.StartObject();
  for (const auto& [k, v] : map) {
    key(w, k);
    string(w, v);
  }
  w.EndObject();
}

// Stored text is a canonical JSON object; anything else would be a store bug, answered as {}.
void rawObject(Writer& w, std::string_view name, const std::string& text) {
  key(w, name);
  bool object = text.size() >= 2 && text.front() == '{' && text.back() == '}';
  if (object) {
    w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
  } else {
    w.StartObject();
    w.EndObject();
  }
}

// The same members, in the same order, as api::encodeObject writes.
void managedFieldsEntry(Writer& w, const api::ManagedFieldsEntry& e) {
  w.StartObject();
  for (auto [name, text] : {std::pair<std::string_view, const std::string*>{"manager", &e.manager},
                            {"operation", &e.operation},
                            {"apiVersion", &e.api_version},
                            {"time", &e.time},
                            {"fieldsType", &e.fields_type}}) {
    if (text->empty()) continue;
    key(w, name);
    string(w, *text);
  }
  if (!e.fields_v1.empty()) rawObject(w, "fieldsV1", e.fields_v1);
  if (!e.subresource.empty()) {
    key(w, "subresource");
    string(w, e.subresource);
  }
  w.EndObject();
}

}  // namespace

void appendObjectJson(std::string& out, const api::Object& o) {
  // Most of an object is its spec and status text; the rest rarely needs more than 512 bytes.
  out.reserve(out.size() + o.spec.size() + o.status.size() + 512);
  StringOutput stream(out);
  Writer w(stream);
  const api::ObjectMeta& m = o.metadata;
  w.StartObject();
  key(w, "apiVersion");
  string(w, api::kApiVersion);
  key(w, "kind");
  string(w, api::kindInfo(o.kind).name);
  key(w, "metadata");
  w.StartObject();
  key(w, "name");
  string(w, m.name);
  if (!m.namespace_.empty()) {
    key(w, "namespace");
    string(w, m.namespace_);
  }
  if (!m.uid.empty()) {
    key(w, "uid");
    string(w, m.uid);
  }
  if (m.resource_version != 0) {
    key(w, "resourceVersion");
    string(w, std::to_string(m.resource_version));
  }
  if (m.generation != 0) {
    key(w, "generation");
    w.Int64(m.generation);
  }
  if (!m.creation_timestamp.empty()) {
    key(w, "creationTimestamp");
    string(w, m.creation_timestamp);
  }
  if (m.deletion_timestamp) {
    key(w, "deletionTimestamp");
    string(w, *m.deletion_timestamp);
  }
  stringMap(w, "labels", m.labels);
  stringMap(w, "annotations", m.annotations);
  if (!m.finalizers.empty()) {
    key(w, "finalizers");
    w.StartArray();
    for (const auto& f : m.finalizers) string(w, f);
    w.EndArray();
  }
  if (!m.managed_fields.empty()) {
    key(w, "managedFields");
    w.StartArray();
    for (const auto& e : m.managed_fields) managedFieldsEntry(w, e);
    w.EndArray();
  }
  w.EndObject();
  rawObject(w, "spec", o.spec);
  rawObject(w, "status", o.status);
  w.EndObject();
}

std::string objectJson(const api::Object& object) {
  std::string out;
  appendObjectJson(out, object);
  return out;
}

}  // namespace magnumd::server
