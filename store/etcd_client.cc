#include "store/etcd_client.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "util/log.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

util::Result<std::string> readFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(ErrorCode::BadRequest, fmt::format("etcd {}: cannot read {}", what, path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool isIpv4(std::string_view host) {
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

EtcdKeys::EtcdKeys(std::string prefix) : prefix_(std::move(prefix)) {
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

std::string EtcdKeys::objectKey(const api::ObjectKey& key) const {
  return fmt::format("{}/{}/{}/{}", prefix_, api::kindInfo(key.kind).plural, key.namespace_,
                     key.name);
}

std::string EtcdKeys::scopePrefix(api::Kind kind, const std::string& namespace_) const {
  if (namespace_.empty()) return fmt::format("{}/{}/", prefix_, api::kindInfo(kind).plural);
  return fmt::format("{}/{}/{}/", prefix_, api::kindInfo(kind).plural, namespace_);
}

std::optional<api::ObjectKey> EtcdKeys::parse(std::string_view key) const {
  if (key.size() <= prefix_.size() + 1 || key.substr(0, prefix_.size()) != prefix_ ||
      key[prefix_.size()] != '/') {
    return std::nullopt;
  }
  key.remove_prefix(prefix_.size() + 1);
  size_t first = key.find('/');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = key.find('/', first + 1);
  if (second == std::string_view::npos || key.find('/', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  // Every kind, not only those the API serves (api::kindFromPlural): ClusterSecrets are stored.
  std::string_view plural = key.substr(0, first);
  for (size_t k = 0; k < api::kKindCount; ++k) {
    auto kind = static_cast<api::Kind>(k);
    if (api::kindInfo(kind).plural != plural) continue;
    return api::ObjectKey{kind, std::string(key.substr(first + 1, second - first - 1)),
                          std::string(key.substr(second + 1))};
  }
  return std::nullopt;
}

std::string prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      ++prefix.back();
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string encodeStored(const api::Object& object) {
  if (object.metadata.resource_version == 0) return api::encodeObject(object);
  api::Object unversioned = object;
  unversioned.metadata.resource_version = 0;
  return api::encodeObject(unversioned);
}

util::Result<api::Object> decodeStored(const EtcdKeys& keys, const mvccpb::KeyValue& kv) {
  auto key = keys.parse(kv.key());
  auto object = api::decodeObject(kv.value());
  if (!key || !object.ok() || keyOf(*object) != *key) {
    return makeError(
        ErrorCode::Internal,
        fmt::format("etcd key {} holds a corrupt object: {}", kv.key(),
                    object.ok() ? "the key does not match its JSON" : object.error().message));
  }
  object->metadata.resource_version = kv.mod_revision();
  return object;
}

util::Result<std::optional<WatchEvent>> toWatchEvent(const EtcdKeys& keys,
                                                     const mvccpb::Event& event) {
  if (!keys.parse(event.kv().key())) return std::optional<WatchEvent>();
  WatchEvent out;
  if (event.type() == mvccpb::Event::DELETE) {
    if (!event.has_prev_kv()) {
      return makeError(ErrorCode::Internal,
                       fmt::format("etcd delete of {} at revision {} came without its last state",
                                   event.kv().key(), event.kv().mod_revision()));
    }
    ASSIGN_OR_RETURN(out.object, decodeStored(keys, event.prev_kv()));
    out.type = EventType::Deleted;
    out.object.metadata.resource_version = event.kv().mod_revision();
    return std::optional<WatchEvent>(std::move(out));
  }
  ASSIGN_OR_RETURN(out.object, decodeStored(keys, event.kv()));
  out.type = event.kv().create_revision() == event.kv().mod_revision() ? EventType::Added
                                                                       : EventType::Modified;
  return std::optional<WatchEvent>(std::move(out));
}

util::Result<std::unique_ptr<EtcdClient>> EtcdClient::connect(const EtcdConnectOptions& options) {
  if (options.endpoints.empty()) {
    return makeError(ErrorCode::BadRequest, "etcd: at least one endpoint is required");
  }
  bool tls = !options.ca_file.empty();
  std::vector<std::string> addresses;
  for (const auto& endpoint : options.endpoints) {
    std::string_view address = endpoint;
    if (address.starts_with("https://")) {
      tls = true;
      address.remove_prefix(8);
    } else if (address.starts_with("http://")) {
      address.remove_prefix(7);
    }
    if (address.ends_with('/')) address.remove_suffix(1);
    size_t colon = address.rfind(':');
    if (address.empty() || colon == std::string_view::npos || colon + 1 == address.size()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("etcd endpoint \"{}\": expected http(s)://HOST:PORT", endpoint));
    }
    addresses.emplace_back(address);
  }
  // gRPC takes several addresses in one target only as literal IPs ("ipv4:a:p,b:p"); pick_first
  // then fails over between them.
  std::string target;
  if (addresses.size() == 1) {
    target = "dns:///" + addresses[0];
    if (isIpv4(addresses[0].substr(0, addresses[0].rfind(':')))) target = "ipv4:" + addresses[0];
  } else {
    for (const auto& a : addresses) {
      if (!isIpv4(a.substr(0, a.rfind(':')))) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("etcd endpoint \"{}\": with several endpoints each must be an "
                                     "IPv4 address (or give one DNS name that resolves to every "
                                     "member)",
                                     a));
      }
    }
    target = fmt::format("ipv4:{}", fmt::join(addresses, ","));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, readFile(options.ca_file, "CA"));
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
      return makeError(ErrorCode::BadRequest,
                       "etcd: a client certificate needs its key and a key its certificate");
    }
    if (!options.cert_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, readFile(options.cert_file, "client certificate"));
      ASSIGN_OR_RETURN(ssl.pem_private_key, readFile(options.key_file, "client key"));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  // A dead member is noticed by keepalive rather than by the next request's deadline.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetMaxReceiveMessageSize(-1);  // a page of a large list
  if (tls && addresses.size() > 1) {
    // One channel has one authority, and gRPC's default for "ipv4:a:p,b:p" is that whole list,
    // which no certificate matches. Every member is checked against the first one's address
    // instead: the members' certificates carry every member's address (docs/ha.md, "TLS").
    args.SetSslTargetNameOverride(addresses[0].substr(0, addresses[0].rfind(':')));
  }
  auto channel = grpc::CreateCustomChannel(target, credentials, args);
  std::string name = fmt::format("etcd {}", fmt::join(options.endpoints, ","));
  return std::unique_ptr<EtcdClient>(
      new EtcdClient(std::move(channel), std::move(name), options.request_timeout));
}

EtcdClient::EtcdClient(std::shared_ptr<grpc::Channel> channel, std::string name,
                       std::chrono::milliseconds timeout)
    : channel_(std::move(channel)),
      kv_(etcdserverpb::KV::NewStub(channel_)),
      watch_(etcdserverpb::Watch::NewStub(channel_)),
      lease_(etcdserverpb::Lease::NewStub(channel_)),
      name_(std::move(name)),
      timeout_(timeout) {}

void EtcdClient::setDeadline(grpc::ClientContext& context) const {
  context.set_deadline(std::chrono::system_clock::now() + timeout_);
  // Fail over instead of failing while a member is down or the channel reconnects.
  context.set_wait_for_ready(true);
}

util::Error EtcdClient::error(const grpc::Status& status, std::string_view what) const {
  const std::string& message = status.error_message();
  if (message.find("required revision has been compacted") != std::string::npos) {
    return makeError(ErrorCode::Expired, fmt::format("{}: {}: {}", name_, what, message));
  }
  if (message.find("request is too large") != std::string::npos ||
      status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return makeError(ErrorCode::TooLarge, fmt::format("{}: {}: {}", name_, what, message));
  }
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return makeError(
          ErrorCode::Unavailable,
          fmt::format("{}: unreachable or without quorum ({}): {}", name_, what, message));
    case grpc::StatusCode::CANCELLED:
      return makeError(ErrorCode::Unavailable, fmt::format("{}: {}: cancelled", name_, what));
    default:
      // "database space exceeded" (NOSPACE alarm), auth failures, leader changes mid-request.
      return makeError(ErrorCode::Unavailable,
                       fmt::format("{}: {} failed: {} ({})", name_, what, message,
                                   static_cast<int>(status.error_code())));
  }
}

util::Result<etcdserverpb::RangeResponse> EtcdClient::range(
    const etcdserverpb::RangeRequest& request) {
  grpc::ClientContext context;
  setDeadline(context);
  etcdserverpb::RangeResponse response;
  grpc::Status status = kv_->Range(&context, request, &response);
  if (!status.ok()) return error(status, "range");
  return response;
}

util::Result<etcdserverpb::TxnResponse> EtcdClient::txn(const etcdserverpb::TxnRequest& request) {
  grpc::ClientContext context;
  setDeadline(context);
  etcdserverpb::TxnResponse response;
  grpc::Status status = kv_->Txn(&context, request, &response);
  if (!status.ok()) return error(status, "transaction");
  return response;
}

util::Result<etcdserverpb::PutResponse> EtcdClient::put(const etcdserverpb::PutRequest& request) {
  grpc::ClientContext context;
  setDeadline(context);
  etcdserverpb::PutResponse response;
  grpc::Status status = kv_->Put(&context, request, &response);
  if (!status.ok()) return error(status, "put");
  return response;
}

util::Result<etcdserverpb::CompactionResponse> EtcdClient::compact(int64_t revision) {
  grpc::ClientContext context;
  setDeadline(context);
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  etcdserverpb::CompactionResponse response;
  grpc::Status status = kv_->Compact(&context, request, &response);
  if (!status.ok()) return error(status, fmt::format("compaction to revision {}", revision));
  return response;
}

util::Result<etcdserverpb::LeaseGrantResponse> EtcdClient::leaseGrant(int64_t ttl_seconds) {
  grpc::ClientContext context;
  setDeadline(context);
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  etcdserverpb::LeaseGrantResponse response;
  grpc::Status status = lease_->LeaseGrant(&context, request, &response);
  if (!status.ok()) return error(status, "lease grant");
  if (!response.error().empty()) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("{}: lease grant failed: {}", name_, response.error()));
  }
  return response;
}

util::Status EtcdClient::leaseRevoke(int64_t id) {
  grpc::ClientContext context;
  setDeadline(context);
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(id);
  etcdserverpb::LeaseRevokeResponse response;
  grpc::Status status = lease_->LeaseRevoke(&context, request, &response);
  if (!status.ok()) return error(status, fmt::format("revoking lease {:x}", id));
  return {};
}

util::Result<int64_t> EtcdClient::leaseKeepAlive(int64_t id) {
  // etcd renews leases only over its bidirectional stream; one request and its answer suffice.
  grpc::ClientContext context;
  setDeadline(context);
  auto stream = lease_->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(id);
  etcdserverpb::LeaseKeepAliveResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  context.TryCancel();  // the stream stays open otherwise; its end is not an error here
  grpc::Status status = stream->Finish();
  if (!answered) {
    return error(
        status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed") : status,
        fmt::format("keeping lease {:x} alive", id));
  }
  return response.ttl();
}

}  // namespace magnumd::store
