#include "drivers/coe/kubernetes/template.h"

#include <gtest/gtest.h>

namespace magnumd::coe::kubernetes {
namespace {

std::string render(std::string_view text, const Values& v) {
  auto out = renderTemplate("test", text, v);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  return out.ok() ? *out : "";
}

std::string errorOf(std::string_view text, const Values& v) {
  auto out = renderTemplate("test", text, v);
  EXPECT_FALSE(out.ok());
  return out.ok() ? "" : out.error().message;
}

TEST(Template, FiltersQuoteForTheirLanguage) {
  Values v;
  v.set("s", "a \"b\" \\ c\td").set("q", "it's; rm -rf /").set("plain", "x");
  EXPECT_EQ(render("{{yaml s}}", v), R"("a \"b\" \\ c\td")");
  EXPECT_EQ(render("{{sh q}}", v), R"('it'\''s; rm -rf /')");
  EXPECT_EQ(render("k: {{plain}}", v), "k: x");
  EXPECT_EQ(yamlQuote(std::string("\x01\n", 2)), "\"\\x01\\n\"");
}

TEST(Template, IndentKeepsBlankLinesEmptyAndDropsOneTrailingNewline) {
  Values v;
  v.set("body", "a\n\n  b\n");
  EXPECT_EQ(render("x: |\n{{indent 4 body}}\ny: 1\n", v), "x: |\n    a\n\n      b\ny: 1\n");
}

TEST(Template, StandaloneSectionTagsTakeTheirLine) {
  Values v;
  v.setList("items", {Values().set("n", "1"), Values().set("n", "2")})
      .setFlag("on", true)
      .setFlag("off", false)
      .set("outer", "o");
  EXPECT_EQ(render("list:\n{{#items}}\n  - {{n}}{{outer}}\n{{/items}}\nend\n", v),
            "list:\n  - 1o\n  - 2o\nend\n");
  EXPECT_EQ(render("{{#on}}yes{{/on}}{{#off}}no{{/off}}{{^off}}!{{/off}}", v), "yes!");
  EXPECT_EQ(render("{{^items}}empty{{/items}}", Values().setList("items", {})), "empty");
}

TEST(Template, ErrorsNameTheLineAndTheProblem) {
  Values v;
  v.set("multi", "a\nb").set("s", "x");
  EXPECT_EQ(errorOf("a\n{{missing}}", v), "template test:2: \"missing\" has no value");
  EXPECT_EQ(errorOf("{{multi}}", v), "template test:1: \"multi\" spans lines; use yaml or indent");
  EXPECT_EQ(errorOf("{{#s}}x{{/s}}", v),
            "template test:1: \"s\" is a string, not a flag or a list");
  EXPECT_EQ(errorOf("{{#a}}x", v), "template test:1: {{#a}} is not closed");
  EXPECT_EQ(errorOf("{{#a}}x{{/b}}", v), "template test:1: {{/b}} where {{/a}} was expected");
  EXPECT_EQ(errorOf("{{/a}}", v), "template test:1: {{/a}} closes no section");
  EXPECT_EQ(errorOf("{{json s}}", v),
            "template test:1: \"{{json s}}\" is not NAME, yaml NAME, sh NAME or indent N NAME");
  EXPECT_EQ(errorOf("{{s", v), "template test:1: \"{{\" is not closed");
}

TEST(Template, WorkIsBounded) {
  std::string deep;
  for (int i = 0; i <= kMaxSectionDepth; ++i) deep += "{{#f}}";
  EXPECT_NE(errorOf(deep, Values().setFlag("f", true)).find("nest too deeply"), std::string::npos);
  Values big;
  big.set("s", std::string(kMaxOutputBytes, 'x'));
  EXPECT_NE(errorOf("{{s}}{{s}}", big).find("output exceeds"), std::string::npos);
  EXPECT_NE(errorOf(std::string(kMaxTemplateBytes + 1, 'x'), big).find("at most"),
            std::string::npos);
}

TEST(Template, EveryNodeTemplateIsEmbedded) {
  for (std::string_view name :
       {"cloud-config-init.yaml.tmpl", "cloud-config-join.yaml.tmpl", "kubeadm-init.yaml.tmpl",
        "kubeadm-join.yaml.tmpl", "configure-runtime.sh", "install-cni.sh.tmpl",
        "flannel-settings.yaml.tmpl", "calico-settings.yaml.tmpl", "proxy-drop-in.conf.tmpl",
        "registry-hosts.toml.tmpl"}) {
    auto text = embeddedTemplate(name);
    ASSERT_TRUE(text.has_value()) << name;
    EXPECT_FALSE(text->empty()) << name;
  }
  EXPECT_FALSE(embeddedTemplate("nope").has_value());
}

}  // namespace
}  // namespace magnumd::coe::kubernetes
