#include "cli/api_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>

#include "util/url.h"

namespace magnumd::cli {

namespace http = drivers::http;
using util::Json;
using util::JsonDoc;

namespace {

constexpr std::string_view kApiPrefix = "/apis/container-infra/v1";
constexpr std::chrono::seconds kWatchIdleTimeout{90};  // the server bookmarks every 30 s at most
constexpr size_t kMaxPages = 100000;

std::string trimForMessage(std::string_view body) {
  constexpr size_t kMax = 400;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) {
    body.remove_suffix(1);
  }
  if (body.size() <= kMax) return std::string(body);
  return std::string(body.substr(0, kMax)) + "...";
}

const char* reasonForStatus(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return status >= 500 ? "InternalError" : "Unknown";
  }
}

}  // namespace

util::Result<ServerUrl> parseServerUrl(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return util::makeError(
        util::ErrorCode::BadRequest,
        fmt::format("server URL \"{}\": {} (expected http[s]://HOST[:PORT][/PATH])", text, why));
  };
  if (text.find("://") == std::string_view::npos) return bad("missing the scheme");
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return bad(parsed.error().message());
  const auto& u = *parsed;
  ServerUrl url;
  url.scheme = std::string(u.scheme());
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != "http" && url.scheme != "https") return bad("the scheme must be http or https");
  if (u.has_userinfo()) return bad("credentials in the URL are not supported; use --token");
  if (u.has_query() || u.has_fragment()) return bad("a query or fragment is not allowed");
  if (u.host_type() == boost::urls::host_type::ipv6) {
    url.host = u.host_ipv6_address().to_string();
  } else {
    url.host = std::string(u.host());
  }
  if (url.host.empty()) return bad("missing the host");
  url.port = url.scheme == "https" ? 443 : 80;
  if (u.has_port()) {
    std::string_view port = u.port();
    unsigned value = 0;
    bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) value = static_cast<unsigned>(std::stoul(std::string(port)));
    if (!digits || value == 0 || value > 65535) return bad("the port must be 1-65535");
    url.port = static_cast<uint16_t>(value);
  }
  url.path = std::string(u.encoded_path());
  while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
  return url;
}

std::string ServerUrl::text() const {
  std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("{}://{}:{}{}", scheme, bracketed, port, path);
}

ApiError errorFromStatus(const Json& status) {
  ApiError e;
  e.http_status = static_cast<int>(util::intMember(status, "code").value_or(0));
  e.reason = util::stringMember(status, "reason").value_or("");
  e.message = util::stringMember(status, "message").value_or("");
  if (e.reason.empty()) e.reason = reasonForStatus(e.http_status);
  if (const Json* details = util::member(status, "details")) {
    if (const Json* causes = util::member(*details, "causes"); causes && causes->IsArray()) {
      for (const auto& c : causes->GetArray()) {
        e.causes.push_back({util::stringMember(c, "field").value_or(""),
                            util::stringMember(c, "message").value_or("")});
      }
    }
  }
  return e;
}

ApiError errorFromResponse(int http_status, std::string_view body) {
  auto parsed = util::parseJson(body);
  if (parsed.ok() && util::stringMember(*parsed, "kind") == "Status") {
    ApiError e = errorFromStatus(*parsed);
    e.http_status = http_status;
    if (e.message.empty()) e.message = fmt::format("the server answered HTTP {}", http_status);
    return e;
  }
  ApiError e;
  e.http_status = http_status;
  e.reason = reasonForStatus(http_status);
  e.message = body.empty() ? fmt::format("the server answered HTTP {}", http_status)
                           : fmt::format("HTTP {}: {}", http_status, trimForMessage(body));
  return e;
}

namespace {

// Servers often repeat the causes inside the message ("X is invalid: a: ...; b: ..."); listed
// below it they would read twice, so the message keeps only what precedes them.
std::string_view withoutInlineCauses(std::string_view message,
                                     const std::vector<util::Cause>& causes) {
  size_t first = std::string_view::npos;
  for (const auto& cause : causes) {
    std::string text = cause.field.empty() ? cause.message : cause.field + ": " + cause.message;
    size_t at = message.find(text);
    if (at == std::string_view::npos) return message;
    first = std::min(first, at);
  }
  if (first == std::string_view::npos || first == 0) return message;
  std::string_view head = message.substr(0, first);
  while (!head.empty() && (head.back() == ' ' || head.back() == ':' || head.back() == '[')) {
    head.remove_suffix(1);
  }
  return head.empty() ? message : head;
}

}  // namespace

std::string formatError(const ApiError& error, std::string_view context) {
  std::string out =
      error.http_status == 0 ? "error: " : fmt::format("Error from server ({}): ", error.reason);
  if (!context.empty()) out += fmt::format("{}: ", context);
  out += withoutInlineCauses(error.message, error.causes);
  for (const auto& cause : error.causes) {
    out += cause.field.empty() ? fmt::format("\n  * {}", cause.message)
                               : fmt::format("\n  * {}: {}", cause.field, cause.message);
  }
  if (!error.hint.empty()) out += "\n" + error.hint;
  return out;
}

std::string collectionPath(api::Kind kind, std::string_view ns) {
  const auto& info = api::kindInfo(kind);
  if (ns.empty()) return fmt::format("{}/{}", kApiPrefix, info.plural);
  return fmt::format("{}/namespaces/{}/{}", kApiPrefix, util::percentEncode(ns), info.plural);
}

std::string objectPath(api::Kind kind, std::string_view ns, std::string_view name) {
  return fmt::format("{}/{}", collectionPath(kind, ns), util::percentEncode(name));
}

util::Result<std::unique_ptr<ApiClient>> ApiClient::create(ApiClientOptions options) {
  ASSIGN_OR_RETURN(ServerUrl url, parseServerUrl(options.server));
  http::HttpClientOptions http_options;
  http_options.connect_timeout =
      std::min<std::chrono::milliseconds>(options.request_timeout, std::chrono::seconds(10));
  http_options.request_timeout = options.request_timeout;
  http_options.user_agent = options.user_agent;
  http_options.tls.ca_file = options.ca_file;
  http_options.tls.ca_pem = options.ca_pem;
  http_options.tls.insecure = options.insecure_skip_tls_verify;
  http_options.tls.failure_hint =
      "give the server's CA with --ca-file, or skip verification with --insecure-skip-tls-verify";
  // One command, one attempt: the user sees a failure at once and decides; a watch resumes on
  // its own. magnumctl reports failures itself, so the client does not log them.
  http_options.retry.max_attempts = 1;
  http_options.log_failures = false;
  http_options.max_connections_per_host = 1;
  http_options.max_idle_per_host = 1;
  ASSIGN_OR_RETURN(auto http, http::BlockingHttpClient::create(std::move(http_options)));
  return std::unique_ptr<ApiClient>(
      new ApiClient(std::move(http), url.text(), std::move(options.token)));
}

ApiClient::ApiClient(std::unique_ptr<http::BlockingHttpClient> http, std::string server_url,
                     std::string token)
    : http_(std::move(http)), server_url_(std::move(server_url)), token_(std::move(token)) {}

http::HttpRequest ApiClient::request(std::string method, std::string target,
                                     std::string content_type, std::string accept) const {
  http::HttpRequest r;
  r.method = std::move(method);
  r.url = server_url_ + target;
  r.headers.push_back({"Accept", std::move(accept)});
  if (!token_.empty()) r.headers.push_back({"Authorization", "Bearer " + token_});
  if (!content_type.empty()) r.headers.push_back({"Content-Type", std::move(content_type)});
  return r;
}

ApiError ApiClient::transportError(const util::Error& error) const {
  ApiError e;
  e.reason = util::reasonOf(error.code);
  e.message = error.message;
  if (http::failureKind(error) == http::FailureKind::Tls) {
    e.message = fmt::format("no secure connection to the magnumd server at {}: {}", server_url_,
                            error.message);
  } else if (error.code == util::ErrorCode::Unavailable) {
    e.message =
        fmt::format("cannot reach the magnumd server at {}: {}", server_url_, error.message);
    e.hint =
        "Is magnumd running there? Point magnumctl at it with --server, the MAGNUMD_URL "
        "environment variable or a kubeconfig (KUBECONFIG=DATA_DIR/kubeconfig from magnumd --dev).";
  } else if (error.code == util::ErrorCode::Timeout) {
    e.hint = "Raise --request-timeout if the server is just slow.";
  }
  return e;
}

ApiError ApiClient::withHint(ApiError error) const {
  if (error.http_status == 401) {
    error.hint = token_.empty()
                     ? "No token given: pass --token, set MAGNUMD_TOKEN or use a kubeconfig whose "
                       "user has a token (magnumd --dev writes DATA_DIR/admin.token and "
                       "DATA_DIR/kubeconfig)."
                     : "The token was refused: check --token, MAGNUMD_TOKEN or the kubeconfig's "
                       "user.";
  }
  return error;
}

ApiResult<JsonDoc> ApiClient::call(std::string method, std::string target, std::string body,
                                   std::string content_type) {
  auto req = request(std::move(method), std::move(target), std::move(content_type));
  req.body = std::move(body);
  auto resp = http_->send(std::move(req));
  if (!resp.ok()) return transportError(resp.error());
  if (resp->status / 100 != 2) return withHint(errorFromResponse(resp->status, resp->body));
  auto doc = util::parseJson(resp->body.empty() ? std::string_view("{}") : resp->body);
  if (!doc.ok()) {
    return ApiError{resp->status, "InvalidResponse",
                    fmt::format("the server's answer is not JSON: {}", doc.error().message)};
  }
  return std::move(doc).value();
}

ApiResult<JsonDoc> ApiClient::get(api::Kind kind, std::string_view ns, std::string_view name) {
  return call("GET", objectPath(kind, ns, name));
}

ApiResult<JsonDoc> ApiClient::list(api::Kind kind, std::string_view ns,
                                   const ListOptions& options) {
  JsonDoc merged;
  merged.SetObject();
  auto& alloc = merged.GetAllocator();
  Json items(rapidjson::kArrayType);
  std::string resource_version;
  std::string continue_token;
  for (size_t page = 0; page < kMaxPages; ++page) {
    std::string target = fmt::format("{}?limit={}", collectionPath(kind, ns), options.page_size);
    if (!options.label_selector.empty()) {
      target += "&labelSelector=" + util::percentEncode(options.label_selector);
    }
    if (!continue_token.empty()) target += "&continue=" + util::percentEncode(continue_token);
    ASSIGN_OR_RETURN(JsonDoc doc, call("GET", target));
    if (const Json* page_items = util::member(doc, "items"); page_items && page_items->IsArray()) {
      for (auto& item : page_items->GetArray()) items.PushBack(Json(item, alloc), alloc);
    }
    const Json* meta = util::member(doc, "metadata");
    if (page == 0 && meta)
      resource_version = util::stringMember(*meta, "resourceVersion").value_or("");
    continue_token = meta ? util::stringMember(*meta, "continue").value_or("") : "";
    if (continue_token.empty() || options.single_page) break;
  }
  Json meta(rapidjson::kObjectType);
  meta.AddMember("resourceVersion", util::str(resource_version, alloc), alloc);
  merged.AddMember("metadata", meta, alloc);
  merged.AddMember("items", items, alloc);
  return merged;
}

ApiResult<JsonDoc> ApiClient::create(api::Kind kind, std::string_view ns, const std::string& body) {
  return call("POST", collectionPath(kind, ns), body, "application/json");
}

ApiResult<JsonDoc> ApiClient::mergePatch(api::Kind kind, std::string_view ns, std::string_view name,
                                         const std::string& patch) {
  return call("PATCH", objectPath(kind, ns, name), patch, "application/merge-patch+json");
}

ApiResult<JsonDoc> ApiClient::remove(api::Kind kind, std::string_view ns, std::string_view name) {
  return call("DELETE", objectPath(kind, ns, name));
}

ApiResult<JsonDoc> ApiClient::getRaw(const std::string& path) { return call("GET", path); }

ApiResult<std::string> ApiClient::callText(std::string method, std::string target,
                                           std::string accept, std::string body,
                                           std::string content_type) {
  auto req =
      request(std::move(method), std::move(target), std::move(content_type), std::move(accept));
  req.body = std::move(body);
  auto resp = http_->send(std::move(req));
  if (!resp.ok()) return transportError(resp.error());
  if (resp->status / 100 != 2) return withHint(errorFromResponse(resp->status, resp->body));
  return std::move(resp->body);
}

ApiResult<WatchEnd> ApiClient::watch(const WatchRequest& request, const WatchHandler& handler) {
  std::string target = collectionPath(request.kind, request.ns) + "?watch=true";
  if (!request.resource_version.empty()) {
    target += "&resourceVersion=" + util::percentEncode(request.resource_version);
  }
  if (!request.label_selector.empty()) {
    target += "&labelSelector=" + util::percentEncode(request.label_selector);
  }
  WatchEnd end;
  std::optional<ApiError> failure;
  auto on_line = [&](std::string_view line) {
    auto doc = util::parseJson(line);
    if (!doc.ok() || !doc->IsObject()) {
      failure =
          ApiError{0, "InvalidResponse",
                   fmt::format("malformed watch event from the server: {}", trimForMessage(line))};
      return false;
    }
    std::string type = util::stringMember(*doc, "type").value_or("");
    const Json* object = util::member(*doc, "object");
    static const Json kEmpty(rapidjson::kObjectType);
    if (object == nullptr) object = &kEmpty;
    if (type == "ERROR") {
      failure = withHint(errorFromStatus(*object));
      return false;
    }
    if (const Json* meta = util::member(*object, "metadata")) {
      if (auto rv = util::stringMember(*meta, "resourceVersion")) end.last_resource_version = *rv;
    }
    if (!handler(WatchEvent{type, *object})) {
      end.ended_by_handler = true;
      return false;
    }
    return true;
  };
  http::StreamOptions stream_options;
  stream_options.deadline = request.deadline;
  stream_options.idle_timeout = kWatchIdleTimeout;
  auto resp = http_->stream(this->request("GET", target), on_line, stream_options);
  if (failure) return std::move(*failure);
  if (!resp.ok()) return transportError(resp.error());
  if (resp->status / 100 != 2) return withHint(errorFromResponse(resp->status, resp->body));
  return end;
}

}  // namespace magnumd::cli
