#include <gtest/gtest.h>

#include "cloudsim/hot.h"

namespace magnumd::cloudsim {
namespace {

// Resolves get_resource to "id-NAME" and get_attr to "NAME.ATTR".
class FakeResolver final : public Resolver {
 public:
  util::Status refId(std::string_view r, util::Json& out, util::JsonAlloc& a) override {
    out = util::str("id-" + std::string(r), a);
    return {};
  }
  util::Status attribute(std::string_view r, std::string_view attr, util::Json& out, util::JsonAlloc& a) override {
    if (attr == "list") {
      out.SetArray();
      out.PushBack("x", a).PushBack("y", a);
      return {};
    }
    out = util::str(std::string(r) + "." + std::string(attr), a);
    return {};
  }
};

TemplatePtr parse(const std::string& text) {
  auto t = parseTemplateText(text);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  return t.ok() ? *t : nullptr;
}

std::string eval(const std::string& expr, const std::string& user_params = "{}") {
  auto t = parse(R"({"heat_template_version":"2018-08-31","parameters":{
      "name":{"type":"string","default":"web"},
      "count":{"type":"number","default":2},
      "list":{"type":"comma_delimited_list","default":"a, b ,c"},
      "cfg":{"type":"json","default":{"k":{"n":[1,2]}}},
      "on":{"type":"boolean","default":"yes"}},"resources":{}})");
  auto user = util::parseJson(user_params);
  util::JsonDoc pseudo;
  pseudo.SetObject();
  auto params = resolveParameters(*t, *user, nullptr, pseudo);
  if (!params.ok()) return "error: " + params.error().message;
  auto in = util::parseJson(expr);
  if (!in.ok()) return "bad test expr";
  FakeResolver resolver;
  EvalContext ctx{*params, resolver, nullptr};
  util::JsonDoc out;
  util::Json v;
  auto status = evaluate(*in, v, out.GetAllocator(), ctx);
  if (!status.ok()) return "error: " + status.error().message;
  return util::toJson(v);
}

TEST(HotTest, ParametersAreTypedWithDefaults) {
  EXPECT_EQ(eval(R"({"get_param":"count"})"), "2");
  EXPECT_EQ(eval(R"({"get_param":"count"})", R"({"count":"7"})"), "7");
  EXPECT_EQ(eval(R"({"get_param":"list"})"), R"(["a","b","c"])");
  EXPECT_EQ(eval(R"({"get_param":["cfg","k","n",1]})"), "2");
  EXPECT_EQ(eval(R"({"get_param":"cfg"})", R"({"cfg":"{\"z\":1}"})"), R"({"z":1})");
  EXPECT_EQ(eval(R"({"get_param":"on"})"), "true");
  EXPECT_EQ(eval(R"({"get_param":"name"})", R"({"name":5})"), R"("5")");
  EXPECT_EQ(eval(R"({"get_param":"count"})", R"({"count":"seven"})"),
            R"(error: Parameter 'count' is invalid: "seven" is not a valid number)");
  EXPECT_EQ(eval(R"({"get_param":"on"})", R"({"on":"maybe"})"),
            R"(error: Parameter 'on' is invalid: "maybe" is not a valid boolean)");
  EXPECT_EQ(eval(R"({"get_param":"nope"})"), "error: The Parameter (nope) was not provided.");
}

TEST(HotTest, IntrinsicFunctions) {
  EXPECT_EQ(eval(R"({"list_join":["-",["a",{"get_param":"name"}],{"get_param":"list"}]})"), R"("a-web-a-b-c")");
  EXPECT_EQ(eval(R"({"str_replace":{"template":"$x and $xy","params":{"$x":"1","$xy":{"get_param":"count"}}}})"),
            R"("1 and 2")");
  EXPECT_EQ(eval(R"({"get_resource":"server"})"), R"("id-server")");
  EXPECT_EQ(eval(R"({"get_attr":["server","first_address"]})"), R"("server.first_address")");
  EXPECT_EQ(eval(R"({"get_attr":["group","list",1]})"), R"("y")");
  EXPECT_EQ(eval(R"({"str_split":[",","a,b,c",2]})"), R"("c")");
  EXPECT_EQ(eval(R"({"map_merge":[{"a":1},{"b":2,"a":3}]})"), R"({"a":3,"b":2})");
  EXPECT_EQ(eval(R"({"nested":[{"get_param":"name"}],"keep":{"a":1,"b":2}})"), R"({"nested":["web"],"keep":{"a":1,"b":2}})");
  EXPECT_EQ(eval(R"({"list_join":[",","notalist"]})"), "error: list_join: argument 1 must be a list, got string");
  EXPECT_EQ(eval(R"({"get_file":"x"})"), R"(error: get_file: no file "x" in the request's files)");
}

TEST(HotTest, TemplateValidation) {
  auto missing = parseTemplateText("resources: {}\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Template format version not found.");
  auto section = parseTemplateText("heat_template_version: 2018-08-31\nresource: {}\n");
  ASSERT_FALSE(section.ok());
  EXPECT_EQ(section.error().message, "The template section is invalid: resource");
  auto notype = parseTemplateText("heat_template_version: 2018-08-31\nresources:\n  a: {properties: {}}\n");
  ASSERT_FALSE(notype.ok());
  EXPECT_EQ(notype.error().message, "Resource a: \"type\" must be a non-empty string");
  auto cycle = parseTemplateText(
      "heat_template_version: 2018-08-31\nresources:\n  a: {type: X::Y, depends_on: b}\n  b: {type: X::Y, properties: {p: {get_resource: a}}}\n");
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.error().message.find("Circular Dependency"), std::string::npos);
  auto unknown = parseTemplateText("heat_template_version: 2018-08-31\nresources:\n  a: {type: X::Y, depends_on: zz}\n");
  ASSERT_FALSE(unknown.ok());
  auto badtype = parseTemplateText("heat_template_version: 2018-08-31\nparameters:\n  p: {type: integer}\n");
  ASSERT_FALSE(badtype.ok());
  EXPECT_NE(badtype.error().message.find("Invalid type (integer)"), std::string::npos);
  auto ok = parseTemplateText("heat_template_version: 2018-08-31\nresources:\n  b: {type: X::Y, depends_on: [a]}\n  a: {type: X::Y}\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->dependencies("b"), std::vector<std::string>{"a"});
}

TEST(HotTest, ParameterStrings) {
  auto v = util::parseJson(R"([["a","b"], true, 3, {"x":1}])");
  EXPECT_EQ(parameterString((*v)[0]), "a,b");
  EXPECT_EQ(parameterString((*v)[1]), "True");
  EXPECT_EQ(parameterString((*v)[2]), "3");
  EXPECT_EQ(parameterString((*v)[3]), R"({"x":1})");
}

}  // namespace
}  // namespace magnumd::cloudsim
