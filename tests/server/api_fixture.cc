#include "tests/server/api_fixture.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>
#include <rapidjson/pointer.h>

namespace magnumd::server::testing {

std::string Reply::str(const char* pointer) const {
  if (!json.IsObject()) return {};
  const util::Json* v = rapidjson::Pointer(pointer).Get(json);
  if (v == nullptr) return {};
  if (v->IsString()) return v->GetString();
  return util::toJson(*v);
}

asio::awaitable<bool> RecordingWriter::write(std::string data) {
  while (stalled) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::lock_guard lock(mutex_);
  text_ += data;
  co_return true;
}

std::vector<std::pair<std::string, util::JsonDoc>> RecordingWriter::events() const {
  std::string text;
  {
    std::lock_guard lock(mutex_);
    text = text_;
  }
  std::vector<std::pair<std::string, util::JsonDoc>> out;
  size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    auto doc = util::parseJson(std::string_view(text).substr(start, nl - start));
    start = nl + 1;
    if (!doc.ok()) {
      ADD_FAILURE() << "watch line is not JSON: " << doc.error().message;
      continue;
    }
    std::string type = util::stringMember(*doc, "type").value_or("");
    out.emplace_back(type, std::move(doc).value());
  }
  return out;
}

bool RecordingWriter::waitFor(
    const std::function<bool(const std::vector<std::pair<std::string, util::JsonDoc>>&)>& predicate,
    std::chrono::milliseconds deadline) const {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (predicate(events())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate(events());
}

void ApiTest::start(WatchOptions watch_options) {
  ::magnumd::testing::BackendConfig config;
  config.quota_bytes = store_quota_bytes_;
  config.max_objects_per_namespace = store_max_objects_;
  config.retention = store_retention_;
  config.cache_events = store_cache_events_;
  auto opened = stores_.open(dir_.path(), "magnumd", config);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store_ = std::move(opened).value();
  opened_revision_ = store_->currentRevision();
  auto auth = std::make_shared<TokenAuthenticator>();
  auth->add(kAdmin, Identity{"root", "*", Role::Admin});
  auth->add(kAdminA, Identity{"alice-admin", "team-a", Role::Admin});
  auth->add(kMemberA, Identity{"alice", "team-a", Role::Member});
  auth->add(kReaderAll, Identity{"rita", "*", Role::Reader});
  auth->add(kHealerA, Identity{"auto-healer", "team-a", Role::Healer});
  if (with_secrets_) {
    std::string key_file = dir_.path() + "/encryption.key";
    if (!std::filesystem::exists(key_file)) ASSERT_TRUE(pki::generateKeyFile(key_file).ok());
    auto kek = pki::KeyEncryptionKey::load(key_file);
    ASSERT_TRUE(kek.ok()) << kek.error().message;
    kek_ = std::make_unique<pki::KeyEncryptionKey>(std::move(kek).value());
    secrets_ = std::make_unique<secrets::ClusterSecretStore>(*store_, *kek_, clock_);
  }
  registry_ = std::make_unique<util::MetricsRegistry>();
  ApiServerOptions api_options;
  api_options.watch = watch_options;
  api_options.secrets = secrets_.get();
  api_options.on_credential_issued = on_credential_issued_;
  api_options.keystone = keystone_;
  api_options.cloud = cloud_lookups_;
  api_options.role = role_;
  api_options.stale_since = stale_since_;
  api_options.heartbeat = heartbeat_;
  api_options.magnum_policy = magnum_policy_;
  api_ = std::make_unique<ApiServer>(*store_, auth, *registry_, api_options);
  api_->setReady(true);
  io_ = std::make_unique<asio::io_context>();
  work_.emplace(io_->get_executor());
  thread_ = std::thread([this] { io_->run(); });
}

void ApiTest::stop() {
  if (!api_) return;
  api_->shutdown();
  for (auto& w : writers_) {
    w->stopping_ = true;
    w->stalled = false;
  }
  for (auto& w : writers_) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!w->done && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  work_.reset();
  io_->stop();
  thread_.join();
  store_->flush();  // answers still in flight are posted to io_ before it goes
  api_->finishOffloadedWork();
  io_.reset();  // destroys unfinished streams while the API and the store still exist
  writers_.clear();
  api_.reset();
  secrets_.reset();
  kek_.reset();
  store_.reset();
}

net::Reply ApiTest::rawCall(http::verb method, const std::string& target, const std::string& token,
                            const std::string& accept) {
  net::Request request{method, target, 11};
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!accept.empty()) request.set(http::field::accept, accept);
  auto future = asio::co_spawn(*io_, api_->handle(std::move(request), net::PeerInfo{"127.0.0.1", false}),
                               asio::use_future);
  return future.get();
}

Reply ApiTest::keystoneCall(http::verb method, const std::string& target,
                            const std::string& x_auth_token, const std::string& body) {
  net::Request request{method, target, 11};
  request.set("X-Auth-Token", x_auth_token);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
  }
  return send(std::move(request));
}

Reply ApiTest::call(http::verb method, const std::string& target, const std::string& body,
                    const std::string& token, const std::string& content_type,
                    const std::string& accept, const Headers& headers) {
  net::Request request{method, target, 11};
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    request.set(http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
  }
  if (!accept.empty()) request.set(http::field::accept, accept);
  return send(std::move(request));
}

Reply ApiTest::send(net::Request request) {
  auto future = asio::co_spawn(*io_, api_->handle(std::move(request), net::PeerInfo{"127.0.0.1", false}),
                               asio::use_future);
  net::Reply reply = future.get();
  Reply out;
  auto* response = std::get_if<net::Response>(&reply);
  if (response == nullptr) {
    ADD_FAILURE() << "expected a plain response, got a stream";
    return out;
  }
  out.code = response->result_int();
  last_headers_.clear();
  for (const auto& field : *response) {
    last_headers_[std::string(field.name_string())] = std::string(field.value());
  }
  out.content_type = std::string((*response)[http::field::content_type]);
  out.cache_control = std::string((*response)[http::field::cache_control]);
  out.body = response->body();
  if (out.content_type.rfind("application/json", 0) == 0) {
    auto doc = util::parseJson(out.body);
    if (doc.ok()) out.json = std::move(doc).value();
  }
  return out;
}

std::shared_ptr<RecordingWriter> ApiTest::watch(const std::string& target, const std::string& token,
                                                Reply* error, const std::string& accept) {
  net::Reply reply = rawCall(http::verb::get, target, token, accept);
  auto* stream = std::get_if<net::StreamingResponse>(&reply);
  if (stream == nullptr) {
    auto& response = std::get<net::Response>(reply);
    if (error != nullptr) {
      error->code = response.result_int();
      error->body = response.body();
      auto doc = util::parseJson(response.body());
      if (doc.ok()) error->json = std::move(doc).value();
    } else {
      ADD_FAILURE() << "watch answered " << response.result_int() << ": " << response.body();
    }
    return nullptr;
  }
  auto writer = std::make_shared<RecordingWriter>();
  writers_.push_back(writer);
  auto produce = std::move(stream->produce);
  asio::co_spawn(
      *io_,
      [](std::function<asio::awaitable<void>(net::ChunkWriter&)> produce,
         std::shared_ptr<RecordingWriter> writer) -> asio::awaitable<void> {
        co_await produce(*writer);
        writer->done = true;
      }(std::move(produce), writer),
      asio::detached);
  return writer;
}

std::string templateJson(const std::string& ns, const std::string& name, bool is_public) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{{"name":"{}","namespace":"{}"}},)"
      R"("spec":{{"coe":"kubernetes","image":"fedora-coreos-38","keypair":"demo-key","externalNetwork":"public",)"
      R"("networkDriver":"flannel","dockerVolumeSize":5,"public":{}}}}})",
      name, ns, is_public ? "true" : "false");
}

std::string clusterJson(const std::string& ns, const std::string& name, const std::string& tmpl,
                        const std::string& labels_json) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{{"name":"{}","namespace":"{}","labels":{}}},)"
      R"("spec":{{"clusterTemplate":"{}","masterCount":1,"nodeCount":2}}}})",
      name, ns, labels_json, tmpl);
}

Reply ApiTest::createTemplate(const std::string& ns, const std::string& name, bool is_public) {
  return call(http::verb::post, fmt::format("{}/namespaces/{}/clustertemplates", kBase, ns),
              templateJson(ns, name, is_public));
}

Reply ApiTest::createCluster(const std::string& ns, const std::string& name, const std::string& tmpl,
                             const std::string& labels_json) {
  return call(http::verb::post, fmt::format("{}/namespaces/{}/clusters", kBase, ns),
              clusterJson(ns, name, tmpl, labels_json));
}

}  // namespace magnumd::server::testing
