#include "drivers/openstack/errors.h"

#include <gtest/gtest.h>

#include "drivers/openstack/heat_parse.h"
#include "drivers/openstack/nova.h"
#include "drivers/openstack/url.h"

namespace magnumd::drivers::openstack {
namespace {

using util::ErrorCode;

http::HttpResponse response(int status, std::string body, std::string request_id = "req-1") {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (!request_id.empty()) r.headers.push_back({"X-OpenStack-Request-Id", request_id});
  return r;
}

TEST(CloudErrors, HeatBodyGivesItsMessageAndCode) {
  auto e = errorFromResponse(
      response(404, R"({"code": 404, "title": "Not Found", "explanation": "The resource could not be found.",
        "error": {"type": "EntityNotFound", "message": "The Stack (a) could not be found.", "traceback": null}})"),
      "reading stack \"a\"");
  EXPECT_EQ(e.code, ErrorCode::NotFound);
  EXPECT_EQ(e.message, "reading stack \"a\": The Stack (a) could not be found. (HTTP 404, request req-1)");
}

TEST(CloudErrors, HeatWithoutSafeMessageFallsBackToExplanation) {
  auto e = errorFromResponse(response(409, R"({"code": 409, "title": "Conflict", "explanation": "There was a conflict when trying to complete your request.", "error": {"type": "StackExists"}})"), "creating");
  EXPECT_EQ(e.code, ErrorCode::Conflict);
  EXPECT_NE(e.message.find("There was a conflict"), std::string::npos);
}

TEST(CloudErrors, NovaKeystoneWebobAndPlainText) {
  EXPECT_EQ(cloudMessage(R"({"itemNotFound": {"code": 404, "message": "Instance x could not be found."}})"),
            "Instance x could not be found.");
  EXPECT_EQ(cloudMessage(R"({"overLimit": {"code": 429, "message": "slow down", "retryAfter": "3"}})"), "slow down");
  EXPECT_EQ(cloudMessage(R"({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})"),
            "The request you have made requires authentication.");
  EXPECT_EQ(cloudMessage(R"({"code": "202 Accepted", "message": "accepted", "title": "Accepted"})"), "accepted");
  EXPECT_EQ(cloudMessage("<html>503 Service Unavailable</html>\nmore"), "<html>503 Service Unavailable</html>");
  EXPECT_EQ(cloudMessage("[1,2]"), "");
}

TEST(CloudErrors, StatusCodesMapToErrorCodes) {
  EXPECT_EQ(errorCodeForStatus(400), ErrorCode::BadRequest);
  EXPECT_EQ(errorCodeForStatus(401), ErrorCode::Unauthorized);
  EXPECT_EQ(errorCodeForStatus(403), ErrorCode::Forbidden);
  EXPECT_EQ(errorCodeForStatus(409), ErrorCode::Conflict);
  EXPECT_EQ(errorCodeForStatus(429), ErrorCode::TooManyRequests);
  EXPECT_EQ(errorCodeForStatus(500), ErrorCode::Internal);
  EXPECT_EQ(errorCodeForStatus(503), ErrorCode::Unavailable);
  EXPECT_EQ(errorCodeForStatus(504), ErrorCode::Timeout);
  auto e = errorFromResponse(response(503, "", ""), "listing stacks");
  EXPECT_EQ(e.message, "listing stacks: no error message (HTTP 503)");
}

TEST(HeatParse, MalformedBodiesAreErrorsNamingTheProblem) {
  auto r = parseStackShowResponse("{\"stack\": [");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("heat stack show: malformed response"), std::string::npos);
  EXPECT_FALSE(parseStackShowResponse(R"({"stack": {}})").ok());        // no id
  EXPECT_FALSE(parseStackShowResponse(R"({"stacks": []})").ok());
  EXPECT_FALSE(parseStackListResponse(R"({"stacks": {}})").ok());
  EXPECT_FALSE(parseStackListResponse(R"({"stacks": [1]})").ok());
  EXPECT_FALSE(parseStackCreateResponse(R"({"stack": {"links": []}})").ok());
  EXPECT_FALSE(parseResourceListResponse("null").ok());
  EXPECT_FALSE(parseEventListResponse(R"({"events": "x"})").ok());
  // Hostile nesting is an error, not a stack overflow.
  EXPECT_FALSE(parseStackShowResponse(std::string(100000, '[')).ok());
}

TEST(HeatParse, UnknownFieldsAndOddTypesAreTolerated) {
  auto r = parseStackShowResponse(R"({"stack": {"id": "i", "stack_name": "n", "stack_status": 7,
    "tags": "a,b", "parameters": {"count": 3, "list": ["x"], "s": "v"}, "future": {"deep": [1]},
    "outputs": [{"output_key": "ips", "output_value": ["10.0.0.1"]}, 5, {"output_key": "none"}]}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, "");
  EXPECT_EQ(r->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->parameters.at("count"), "3");
  EXPECT_EQ(r->parameters.at("list"), "[\"x\"]");
  ASSERT_EQ(r->outputs.size(), 2u);
  EXPECT_EQ(r->output("ips")->value_json, "[\"10.0.0.1\"]");
  EXPECT_EQ(r->output("none")->value_json, "null");
}

TEST(HeatParse, LinksGiveStackRefsAndMarkers) {
  EXPECT_EQ(stackRefFromLink("http://h:8004/v1/p/stacks/my-stack/abc-123/resources/x"),
            (StackRef{"my-stack", "abc-123"}));
  EXPECT_EQ(stackRefFromLink("http://h/v1/p/stacks/only-name"), std::nullopt);
  EXPECT_EQ(stackRefFromLink(""), std::nullopt);
  EXPECT_EQ(markerFromLink("http://h/v1/p/stacks?limit=2&marker=m-9&tags=a%2Cb"), "m-9");
  EXPECT_EQ(markerFromLink("http://h/v1/p/stacks?limit=2"), "");
}

TEST(HeatBodies, PatchSendsOnlyWhatChanges) {
  StackPatch p;
  p.parameters = {{"count", "5"}, {"removal", "1,3"}};
  EXPECT_EQ(stackPatchBody(p), R"({"parameters":{"count":"5","removal":"1,3"}})");
  EXPECT_EQ(stackPatchBody(StackPatch{}), "{}");
  EXPECT_EQ(markUnhealthyBody(true, "dead"), R"({"mark_unhealthy":true,"resource_status_reason":"dead"})");
}

TEST(NovaParse, ServersNeedAnIdAndFaultsAreKept) {
  EXPECT_FALSE(parseServerListResponse(R"({"servers": [{"name": "no id"}]})").ok());
  EXPECT_FALSE(parseServerListResponse(R"({"servers": null})").ok());
  EXPECT_FALSE(parseServerShowResponse("not json").ok());
  auto s = parseServerShowResponse(R"({"server": {"id": "s1", "status": "ERROR", "image": "",
    "fault": {"code": 500, "message": "No valid host was found.", "created": "2026-01-01T00:00:00Z"},
    "addresses": {"net": [{"addr": "10.0.0.5", "version": 4}, "junk"], "bad": 3}, "metadata": {"k": 1}}})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(s->fault.has_value());
  EXPECT_EQ(s->fault->code, 500);
  EXPECT_EQ(s->fault->message, "No valid host was found.");
  EXPECT_EQ(s->image_id, "");
  ASSERT_EQ(s->addresses.size(), 1u);
  EXPECT_TRUE(s->metadata.empty());
}

TEST(Url, QueryAndSegmentsAreEncoded) {
  EXPECT_EQ(encodeQuery({}), "");
  EXPECT_EQ(encodeQuery({{"tags", "a,b"}, {"changes-since", "2026-11-25T12:00:00Z"}, {"q", "x y&z"}}),
            "?tags=a,b&changes-since=2026-11-25T12:00:00Z&q=x%20y%26z");
  EXPECT_EQ(encodeSegment("a/b c"), "a%2Fb%20c");
}

TEST(DescribeFailure, NamesTheFailedLeafWithItsEventMessage) {
  Stack stack;
  stack.status = "CREATE_FAILED";
  stack.status_reason = "Resource CREATE failed: ResourceInError: resources.workers...";
  std::vector<StackResource> resources = {
      {"workers", "nested-id", "OS::Heat::ResourceGroup", "CREATE_FAILED", "Resource CREATE failed: x", "", {}, {}},
      {"0", "srv-0", "OS::Nova::Server", "CREATE_COMPLETE", "", "workers", {}, {}},
      {"1", "srv-1", "OS::Nova::Server", "CREATE_FAILED", "state changed", "workers", {}, {}},
  };
  std::vector<StackEvent> events = {
      {"e2", {}, "1", "srv-1", "OS::Nova::Server", "CREATE_FAILED",
       "ResourceInError: Went to status ERROR due to \"No valid host was found.\""},
  };
  EXPECT_EQ(describeStackFailure(stack, resources, events),
            "resource \"workers.1\" (OS::Nova::Server) CREATE_FAILED: ResourceInError: Went to status "
            "ERROR due to \"No valid host was found.\"");
  // Without resources or events the stack's own reason is all there is.
  EXPECT_EQ(describeStackFailure(stack, {}, {}), stack.status_reason);
}

}  // namespace
}  // namespace magnumd::drivers::openstack
