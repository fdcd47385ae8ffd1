// Shared assertions for the api tests: run admission and look at the causes a user would see.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "api/admission.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::api::testing {

inline const char* kTemplate =
    R"({"coe":"kubernetes","image":"fedora-coreos-38","externalNetwork":"public","keypair":"k"})";

// The message of the cause at `field`, if there is one.
inline std::optional<std::string> causeAt(const util::Error& error, std::string_view field) {
  for (const auto& c : error.causes) {
    if (c.field == field) return c.message;
  }
  return std::nullopt;
}

inline std::string describe(const util::Error& e) {
  std::string out = e.message;
  for (const auto& c : e.causes) out += "\n  " + c.field + ": " + c.message;
  return out;
}

// Asserts admission failed with Invalid and a cause at `field` whose message contains `needle`.
template <class R>
void expectInvalid(const R& result, std::string_view field, std::string_view needle = "") {
  ASSERT_FALSE(result.ok()) << "expected a cause at " << field;
  EXPECT_EQ(result.error().code, util::ErrorCode::Invalid) << describe(result.error());
  auto message = causeAt(result.error(), field);
  ASSERT_TRUE(message.has_value()) << "no cause at " << field << ": " << describe(result.error());
  EXPECT_NE(message->find(needle), std::string::npos) << *message;
}

// Admits `spec` and returns the canonical spec parsed, failing the test on error.
inline util::JsonDoc admitted(Kind kind, std::string_view spec,
                              const std::optional<std::string>& tmpl = std::nullopt) {
  auto r = admitSpec(kind, spec, tmpl);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error()));
  util::JsonDoc doc;
  if (r.ok()) doc.Parse(r->c_str());
  return doc;
}

// A ClusterTemplate spec: kTemplate with `extra` members merged in ("\"a\":1,\"b\":2").
inline std::string templateWith(std::string_view extra) {
  std::string base(kTemplate);
  if (extra.empty()) return base;
  base.pop_back();
  return base + "," + std::string(extra) + "}";
}

inline std::string labelsTemplate(std::string_view labels_json, std::string_view extra = "") {
  std::string e = "\"labels\":" + std::string(labels_json);
  if (!extra.empty()) e += "," + std::string(extra);
  return templateWith(e);
}

}  // namespace magnumd::api::testing
